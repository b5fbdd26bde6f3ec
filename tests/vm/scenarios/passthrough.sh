# pass-through: the rtl8139 is claimed by pci-stub through driver_override (set before coldplug, so
# 8139too leaves it alone; vfio-pci cannot bind without an IOMMU in this VM). netsettle must report
# it `passthrough` and not wait for it; the virtio NIC beside it is `ready`.
#@ qemu: -device virtio-net-pci,addr=0x3 -device rtl8139,addr=0x5
echo pci-stub > /sys/bus/pci/devices/0000:00:05.0/driver_override
udev_start
modprobe pci-stub          # binds 00:05.0 at once: its driver_override names it
settle settle -t 60
snap after-settle
ns_run wait -t 30 --format json
