#!/bin/bash
# Sourced by dracut before udev's coldplug (pre-trigger), only with
# nsboot.badprobe on the kernel command line: make a probe fail for certain.
# driver_override reserves 0000:00:04.0 (QEMU e1000, 8086:100e) for e1000e
# (drivers/pci/pci-driver.c, pci_match_device(): only the override driver
# matches), so the e1000 that coldplug loads leaves it alone; e1000e, which
# probes it as soon as it registers, fails its NVM checksum with -EIO.
# Shell builtins only: the image has no grep.
read -r _nsboot_cmdline < /proc/cmdline
if [[ " $_nsboot_cmdline " == *" nsboot.badprobe "* ]]; then
    echo e1000e > /sys/bus/pci/devices/0000:00:04.0/driver_override
    modprobe e1000e
fi
unset _nsboot_cmdline
