# async companion module (mlx4_core -> mlx4_en): virtio_pci binds the PCI function, but the netdev
# only comes with virtio_net, which udev may not load (blacklisted for udev's modalias loads) and
# which a background job loads outside udev a while later. Same boot: `udevadm settle` returns
# while the netdev is missing, `netsettle status` then says no-netdev naming virtio_net, and a
# waiting netsettle returns only once udev has processed the netdev.
# udevadm settle runs alone here (baseline runs it beside netsettle) so that what it shows is
# udev's own behaviour.
#@ qemu: -device virtio-net-pci,addr=0x3
#@ append: modprobe.blacklist=virtio_net
udev_start
watch_start
# the background job, released once `status` has run; an explicit modprobe ignores
# modprobe.blacklist= (it applies to alias lookups only)
( while [ ! -e /tmp/go ]; do sleep 0.05; done; sleep 2
  now; M "companion-modprobe t=$T"; modprobe virtio_net; now; M "companion-loaded t=$T" ) &
COMPANION=$!
settle settle -t 60
snap after-settle
ns_run status status --format json
ns_start wait -t 60 --format json
: > /tmp/go
ns_wait wait
snap after-wait
wait $COMPANION
wait_processed 2 30    # the netdev (ifindex 2, lo is 1) processed, whatever netsettle did
watch_stop
