# link: --expect-link waits for the wire, not only for the netdev. ens3 (virtio-net, QEMU device
# id nic0) exists and is processed but nothing has brought it up: "down: nothing has brought it
# up". Brought up while QEMU holds its link down (monitor set_link nic0 off): no carrier. Then
# netsettle waits, and must exit 0 shortly after the host sets the link on again; carrier changes
# come with no uevent, so only netsettle's fast tick can see them.
#@ qemu: -device virtio-net-pci,addr=0x3,id=nic0
udev_start
settle settle -t 60
snap after-settle
ns_run down status --expect-link ens3 --format json
monitor set_link nic0 off
ip link set ens3 up
i=0; while [ "$(cat /sys/class/net/ens3/carrier 2>/dev/null)" != 0 ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
now; M "link-off carrier=$(cat /sys/class/net/ens3/carrier 2>/dev/null) operstate=$(cat /sys/class/net/ens3/operstate) t=$T"
ns_run nocarrier status --expect-link ens3 --format json
ns_start wait -t 60 --expect-link ens3 --format json
sleep 2
now; M "link-on-request t=$T"
monitor set_link nic0 on
i=0; while [ "$(cat /sys/class/net/ens3/carrier 2>/dev/null)" != 1 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
now; M "link-on carrier=$(cat /sys/class/net/ens3/carrier 2>/dev/null) operstate=$(cat /sys/class/net/ens3/operstate) t=$T"
ns_wait wait
