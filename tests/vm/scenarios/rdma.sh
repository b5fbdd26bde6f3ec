# rdma: a real RDMA port, soft-RoCE (rdma_rxe) on ens3 (virtio-net). Its state follows the netdev:
# DOWN/Disabled while nothing has brought ens3 up, ACTIVE once it is up with carrier. netsettle
# reports the port under ens3's PCI function without waiting for it by default; with
# --expect-rdma-ports active it waits, with a reason, and exits 0 shortly after the port becomes
# ACTIVE (no uevent announces it). Needs in the image (build-image): the modules rdma_rxe and
# crc32_generic (rxe asks the crypto API for "crc32", which no module dependency pulls in), and
# iproute2's rdma with its libraries.
#@ qemu: -device virtio-net-pci,addr=0x3,id=nic0
udev_start
settle settle -t 60
modprobe -a rdma_rxe crc32_generic
if command -v rdma >/dev/null && rdma link add rxe0 type rxe netdev ens3; then
  wait_for /sys/class/infiniband/rxe0/ports/1/state 10
  now; M "rxe state=$(tr ' ' _ < /sys/class/infiniband/rxe0/ports/1/state) t=$T"
  snap after-rxe
  ns_run report status --format json
  ns_run down status --expect-rdma-ports active --format json
  ns_start wait -t 60 --expect-rdma-ports active --format json
  sleep 2
  now; M "link-up-request t=$T"
  ip link set ens3 up
  i=0; while ! grep -q ACTIVE /sys/class/infiniband/rxe0/ports/1/state && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
  now; M "rxe-active state=$(tr ' ' _ < /sys/class/infiniband/rxe0/ports/1/state) t=$T"
  ns_wait wait
else
  M "rxe-unavailable"
fi
