# baseline: virtio-net + e1000, renamed by udev to ens3/ens4. netsettle starts right after the
# coldplug trigger, while the kernel names (eth0, eth1) still exist, and must report only the
# final names. `udevadm settle` runs beside it, as boot scripts do: netsettle must not disturb it
# (check.py fails the scenario if settle could not reach udevd while netsettle ran).
#@ qemu: -device virtio-net-pci,addr=0x3 -device e1000,addr=0x4
udev_start
ns_start wait -t 60 --format json
settle settle -t 60
ns_wait wait
snap after-wait
