# signals: netsettle waits for a NIC that cannot come (e1000 blacklisted, device expected
# explicitly); SIGTERM after 2 s must print the report and exit 143, SIGINT 130.
#@ qemu: -device e1000,addr=0x4
#@ append: modprobe.blacklist=e1000
udev_start
settle settle -t 60
ns_start term --expect-pci 0000:00:04.0 -t 60 --format json
sleep 2; now; M "sigterm t=$T"; ns_kill TERM term
ns_wait term
ns_start int --expect-pci 0000:00:04.0 -t 60 --format json
sleep 2; now; M "sigint t=$T"; ns_kill INT int
ns_wait int
