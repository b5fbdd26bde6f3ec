#!/bin/bash
# Sourced by dracut just before switch-root: record the network cards as
# the real root will find them (to /run/nsboot, which survives
# switch-root, and to the journal), then let a held-back card come and wait
# for it, so that no modprobe of the image outlives it.
mkdir -p /run/nsboot
{
    read -r _up _ < /proc/uptime
    echo "probe=prepivot uptime=$_up"
    for n in /sys/class/net/*; do
        [ "${n##*/}" = lo ] && continue
        idx=$(cat "$n/ifindex")
        db=missing
        [ -e "/run/udev/data/n$idx" ] && db=present
        echo "netdev=${n##*/} ifindex=$idx udevdb=$db"
    done
    echo end
} > /run/nsboot/prepivot.txt
while read -r line; do echo "nsboot-prepivot: $line" > /dev/kmsg; done < /run/nsboot/prepivot.txt
touch /run/nsseed-go
for ((_i = 0; _i < 300; _i++)); do
    [ -e /sys/class/net/eth0 ] && break
    sleep 0.1
done
udevadm settle -t 30
