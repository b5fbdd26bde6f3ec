# late hotplug: netsettle waits for a MAC that no NIC has yet (--no-auto --expect-mac); the host
# adds an e1000 with that MAC through QEMU's monitor (device_add, ACPI PCI hotplug). netsettle must
# exit 0 once udev has processed the new netdev (ens7), not before.
#@ qemu: -device virtio-net-pci,addr=0x3
udev_start
settle settle -t 60
watch_start
ns_start wait --no-auto --expect-mac 52:54:00:12:34:77 -t 60 --format json
sleep 1
now; M "hotplug-request t=$T"
monitor device_add e1000,id=hp1,bus=pci.0,addr=0x7,mac=52:54:00:12:34:77
wait_for /sys/bus/pci/devices/0000:00:07.0 30
settle settle-hotplug -t 60
snap after-hotplug-settle
ns_wait wait
snap after-wait
wait_processed 3 30    # the new netdev (ifindex 3) processed, whatever netsettle did
watch_stop
