# driver never loads: e1000 is blacklisted on the kernel command line and 8139too in
# /etc/modprobe.d, so udev loads nothing for either NIC. Auto mode must report both `ignored`
# (reason naming the blacklist) and exit 0 at once; an explicit --expect-pci must wait, report
# `no-driver` naming the blacklist and exit 1 at the (short) deadline.
#@ qemu: -device e1000,addr=0x4 -device rtl8139,addr=0x5
#@ append: modprobe.blacklist=e1000
echo 'blacklist 8139too' > /etc/modprobe.d/nsvm-blacklist.conf
udev_start
settle settle -t 60
snap after-settle
ns_run auto -t 30 --format json
ns_run expect --expect-pci 0000:00:04.0 -t 3 --format json
