# probe failure: e1000e forced onto QEMU's e1000 (8086:100e) through driver_override; its probe
# fails on the NVM checksum (-5) after ~2.5 s under TCG. The override is set before coldplug, so the
# e1000 module that udev loads leaves the device alone; `modprobe e1000e` then runs the probe.
# Two waiters: --fail-fast must exit 3 once the kernel's line is there, before the other one, which
# waits out its deadline.
#@ qemu: -device e1000,addr=0x4
echo e1000e > /sys/bus/pci/devices/0000:00:04.0/driver_override
udev_start
settle settle -t 60
snap after-settle
ns_start failfast --fail-fast -t 60 --format json
ns_start deadline -t 15 --format json
sleep 0.5
now; M "probe-start t=$T"
modprobe e1000e
now; M "probe-returned t=$T"
ns_wait failfast
ns_wait deadline
ns_run status status --format json
snap end
