# probe failure: e1000e forced onto QEMU's e1000 (8086:100e) through driver_override; its probe
# fails on the NVM checksum (-5) after a few seconds under TCG (tens on a loaded host). The override
# is set before coldplug, so the e1000 module that udev loads leaves the device alone; `modprobe
# e1000e` then runs the probe, and returns once it failed. Two waiters: --fail-fast, started before
# the probe, must exit 3 once the kernel's line is there; the other, started after it, must wait
# out its deadline and exit 3, and so exits after the --fail-fast one.
#@ qemu: -device e1000,addr=0x4
echo e1000e > /sys/bus/pci/devices/0000:00:04.0/driver_override
udev_start
settle settle -t 60
snap after-settle
ns_start failfast --fail-fast -t 100 --format json
sleep 0.5
now; M "probe-start t=$T"
modprobe e1000e
now; M "probe-returned t=$T"
ns_start deadline -t 10 --format json
ns_wait failfast
ns_wait deadline
ns_run status status --format json
snap end
