# uevents of other subsystems: while netsettle waits for a late NIC (virtio_net kept from udev's
# modalias loads, loaded by hand afterwards), 10,000 `change` events of /sys/class/mem/null
# (SUBSYSTEM=mem) go by. The guest records netsettle's CPU time (utime+stime, /proc/PID/stat, clock
# ticks) and the writing loop's own over the same period: a figure for docs/benchmarks.md, not a
# pass/fail threshold. udevd works through its queue of 10,000 events long after the loop (under
# TCG, minutes), and netsettle rightly waits for that queue: hence the long limits.
#@ qemu: -device virtio-net-pci,addr=0x3
#@ append: modprobe.blacklist=virtio_net
#@ timeout: 420
udev_start
settle settle -t 60
ns_start wait -t 400 --format json
cpu() { local line; read -r line < /proc/$1/stat; set -- ${line##*) }; echo $(( ${12} + ${13} )); }
NS=$(cat $R/wait.pid)
ns0=$(cpu $NS); me0=$(cpu $$); now; M "storm-start t=$T ns_ticks=$ns0 loop_ticks=$me0"
i=0
while [ $i -lt 10000 ]; do echo change > /sys/class/mem/null/uevent; i=$((i + 1)); done
ns1=$(cpu $NS); me1=$(cpu $$); now; M "storm-end t=$T ns_ticks=$ns1 loop_ticks=$me1 events=$i"
M "storm-cpu ns=$((ns1 - ns0)) loop=$((me1 - me0))"
modprobe virtio_net
ns_wait wait
snap after-wait
