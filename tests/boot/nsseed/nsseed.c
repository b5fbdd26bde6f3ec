// SPDX-License-Identifier: GPL-2.0
/*
 * nsseed: the mlx4_core pattern in ten lines.  mlx4_core's init asks for
 * its Ethernet half with request_module_nowait("mlx4_en")
 * (drivers/net/ethernet/mellanox/mlx4/main.c, mlx4_request_modules()); this
 * module does the same for virtio_net.  The kernel runs that modprobe from
 * a workqueue with CLONE_PARENT (kernel/umh.c,
 * call_usermodehelper_exec_work()), so its parent is kthreadd and udev
 * never sees it: udev's queue can drain while the modprobe still runs.
 *
 * The test image loads this module through the alias of the virtio-net
 * device (virtio:d00000001v*), as udev loads mlx4_core through the PCI
 * modalias, and blacklists virtio_net so that udev's own alias lookup does
 * not load it: udev's kmod builtin loads with KMOD_PROBE_APPLY_BLACKLIST
 * (systemd, src/shared/module-util.c, module_load_and_warn()), which libkmod
 * applies to alias lookups only; kmod's modprobe, run by the kernel with
 * the module's name, ignores the blacklist.
 */
#include <linux/kmod.h>
#include <linux/module.h>

static int __init nsseed_init(void)
{
	int err = request_module_nowait("virtio_net");

	pr_info("nsseed: request_module_nowait(\"virtio_net\") = %d\n", err);
	return 0;
}

static void __exit nsseed_exit(void)
{
}

module_init(nsseed_init);
module_exit(nsseed_exit);
/* The device ID of a virtio network device (include/uapi/linux/virtio_ids.h). */
MODULE_ALIAS("virtio:d00000001v*");
MODULE_DESCRIPTION("netsettle test: request_module_nowait(virtio_net) from init");
MODULE_LICENSE("GPL");
