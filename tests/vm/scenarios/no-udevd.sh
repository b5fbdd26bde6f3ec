# no udevd: netsettle run in an early initramfs before udevd exists (no /run/udev/control), first
# with no driver loaded (status), then after an initramfs-style `modprobe`: one warning, no wait on
# udev's queue or database, netdevs under their kernel names. Then udevd is started and SIGKILLed,
# leaving a control socket nobody listens on: netsettle must not take that for a running udevd.
#@ qemu: -device virtio-net-pci,addr=0x3 -device e1000,addr=0x4
ns_run nodriver status --format json
modprobe -a virtio_pci virtio_net e1000
wait_for /sys/class/net/eth1 20
snap early
ns_run early -t 30 --format json
udev_start
settle settle -t 60
kill -9 $(pidof systemd-udevd)
now; M "udevd-killed t=$T control=$([ -S /run/udev/control ] && echo socket || echo none)"
snap stale
ns_run stale -t 30 --format json
