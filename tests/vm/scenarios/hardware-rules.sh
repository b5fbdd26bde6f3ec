# hardware rules on a real kernel: the rtl8139 at 00:05.0 is claimed by pci-pf-stub through
# driver_override (a pass-through driver outside any fixed list), and the ne2k at 00:06.0 has no
# driver in this image (ne2k-pci is not in it). As a real root (no /etc/initrd-release) the ne2k is
# a certain failure: `status` exits 3. Once /etc/initrd-release marks the image as an initramfs, the
# same card is ignored (the real root would load its driver) and netsettle returns 0 at once.
#@ qemu: -device virtio-net-pci,addr=0x3 -device rtl8139,addr=0x5 -device ne2k_pci,addr=0x6
echo pci-pf-stub > /sys/bus/pci/devices/0000:00:05.0/driver_override
udev_start
modprobe pci-pf-stub       # binds 00:05.0 at once: its driver_override names it
settle settle -t 60
snap after-settle
ns_run root status --format json
echo 'NAME="netsettle test initramfs"' > /etc/initrd-release
ns_run initrd -t 30 --format json
