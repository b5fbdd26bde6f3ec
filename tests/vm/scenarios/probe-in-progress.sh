# probe in progress: the kernel creates the `driver` link before the driver's probe() runs and
# removes it when probe fails. While e1000e's (failing, ~2.5 s) probe runs, netsettle must not call
# the device ready; once the kernel logs the failure it must say probe-failed. `udevadm settle`
# taken during the probe shows what udev's queue says meanwhile.
#@ qemu: -device e1000,addr=0x4
D=/sys/bus/pci/devices/0000:00:04.0
echo e1000e > $D/driver_override
udev_start
settle settle -t 60
ns_start wait --fail-fast -t 100 --format json
( modprobe e1000e; now; M "probe-returned t=$T" ) &
PROBE=$!
wait_for $D/driver 20
snap during-before
ns_run during status --format json
settle settle-during -t 60
snap during-after           # the driver link must still be there, or the status above proves nothing
wait $PROBE
ns_wait wait
ns_run after status --format json
snap end
