# Helpers for the guest scenario scripts (busybox ash). Sourced by /init.
#
# Protocol with the host (tests/vm/check.py reads it from the serial console):
#   @@NS KIND key=value ...       short event markers, printed when they happen (t = guest uptime);
#                                 each also goes to the kernel log as "nsvm: KIND key=value ..."
#   @@NS monitor CMD @@END        asks the host to type CMD into QEMU's HMP monitor
#   @@NSOUT LABEL ...             a netsettle run's stdout (JSON, newlines removed)   } printed by
#   @@NSERR LABEL ...             one line of that run's stderr                       } emit() at the
#   @@NSK <4>[   8.531997] ...    the kernel log (dmesg -r: with priority)                              } very end
# Big outputs wait for emit() so that background jobs cannot interleave with them on the console.

R=/tmp/ns            # per-run files: LABEL.out LABEL.err LABEL.pid LABEL.args
mkdir -p $R

now() { read T _ < /proc/uptime; }     # sets $T without forking (time-critical loops)
# M: a marker on the console and, at user.info level, in the kernel log (printk.devkmsg=on), where
# its position orders it against the kernel's own lines and the other markers on one clock.
M() { echo "@@NS $*"; echo "<14>nsvm: $*" > /dev/kmsg; }

# Start systemd-udevd and replay the coldplug events the kernel sent before it existed.
udev_start() {
  systemd-udevd --daemon --resolve-names=never
  udevadm trigger --type=subsystems --action=add
  udevadm trigger --type=devices --action=add
  now; M "coldplug t=$T"
}

# processed IFINDEX: udev has finished with the netdev: its database entry exists and is not marked
# as being renamed or processed (udev writes the entry with ID_RENAMING=1 *before* renaming eth0).
processed() {
  [ -e /run/udev/data/n$1 ] && ! grep -q -e '^E:ID_RENAMING=' -e '^E:ID_PROCESSING=1' /run/udev/data/n$1
}

# netdevs: NAME:db|nodb for every netdev but lo (db = processed by udev, as above)
netdevs() {
  local out= n i
  for n in /sys/class/net/*; do
    [ -e "$n" ] && [ "${n##*/}" != lo ] || continue
    read i < $n/ifindex 2>/dev/null || continue
    if processed $i; then out="$out${out:+,}${n##*/}:db"; else out="$out${out:+,}${n##*/}:nodb"; fi
  done
  echo "${out:--}"
}

# snap LABEL: driver and netdevs of every PCI network function (class 0x02xxxx), and all netdevs
snap() {
  local d c drv nets n
  for d in /sys/bus/pci/devices/*; do
    read c < $d/class; case $c in 0x02*) ;; *) continue ;; esac
    drv=-; [ -e $d/driver ] && { drv=$(readlink $d/driver); drv=${drv##*/}; }
    nets=; for n in $d/net/* $d/virtio*/net/*; do [ -e "$n" ] && nets="$nets${nets:+,}${n##*/}"; done
    M "pci label=$1 pci=${d##*/} driver=$drv net=${nets:--}"
  done
  now; M "netdevs label=$1 t=$T list=$(netdevs)"
}

# settle LABEL [ARGS]: run `udevadm settle`, record when it returned and which netdevs existed then.
# --debug shows whether it reached udevd: if it cannot connect to /run/udev/control (EAGAIN when
# the socket's single connection slot is taken), settle gives up waiting and returns 0 at once.
settle() {
  local label=$1 t0 rc nd connect=ok; shift
  now; t0=$T
  udevadm --debug settle "$@" 2> /tmp/settle.err; rc=$?
  nd=$(netdevs); now
  grep -q 'Failed to connect to udev daemon' /tmp/settle.err && connect=failed
  M "settle label=$label rc=$rc t0=$t0 t1=$T netdevs=$nd connect=$connect"
}

# ns_start LABEL ARGS: run `netsettle ARGS` in the background. When it exits, marker
# "ns label=LABEL rc=N t0=START t1=END". $R/LABEL.pid holds netsettle's own pid (for signals).
ns_start() {
  local label=$1; shift
  echo "$*" > $R/$label.args
  rm -f $R/$label.pid
  if [ ! -x /usr/bin/netsettle ]; then M "ns label=$label skipped"; eval "nsjob_$label="; return; fi
  (
    now; t0=$T
    netsettle "$@" > $R/$label.out 2> $R/$label.err &
    echo $! > $R/$label.pid
    wait $!; rc=$?
    now; M "ns label=$label rc=$rc t0=$t0 t1=$T"
  ) &
  eval "nsjob_$label=$!"
  while [ ! -s $R/$label.pid ]; do sleep 0.01; done
}
ns_wait() { eval "[ -z \"\$nsjob_$1\" ] || wait \$nsjob_$1"; }
ns_run() { ns_start "$@"; ns_wait "$1"; }
ns_kill() { [ -s $R/$2.pid ] && kill -$1 $(cat $R/$2.pid); }     # ns_kill SIG LABEL

# Background poller: "netdev-seen" when a netdev first appears, "netdev-db" when udev has processed
# it (with the name it has then). 50 ms resolution.
watch_start() {
  rm -f /tmp/watch.stop
  (
    while [ ! -e /tmp/watch.stop ]; do
      for n in /sys/class/net/*; do
        [ -e "$n" ] && [ "${n##*/}" != lo ] || continue
        read i < $n/ifindex 2>/dev/null || continue
        [ -e /tmp/w.seen.$i ] || { : > /tmp/w.seen.$i; now; M "netdev-seen ifindex=$i name=${n##*/} t=$T"; }
        [ -e /tmp/w.db.$i ] || ! processed $i ||
          { : > /tmp/w.db.$i; now; M "netdev-db ifindex=$i name=${n##*/} t=$T"; }
      done
      sleep 0.05
    done
  ) &
  WATCH=$!
}
watch_stop() { : > /tmp/watch.stop; wait $WATCH; }

# wait_for PATH SECONDS: poll (10 ms) until PATH exists; marker "appeared"/"timeout"
wait_for() {
  local i=0 max=$(($2 * 100))
  while [ ! -e "$1" ] && [ $i -lt $max ]; do sleep 0.01; i=$((i + 1)); done
  now
  if [ -e "$1" ]; then M "appeared path=$1 t=$T"; else M "timeout path=$1 t=$T"; fi
}

# wait_processed IFINDEX SECONDS: poll until udev has processed the netdev; marker as wait_for
wait_processed() {
  local i=0 max=$(($2 * 20))
  while ! processed $1 && [ $i -lt $max ]; do sleep 0.05; i=$((i + 1)); done
  now
  if processed $1; then M "processed ifindex=$1 t=$T"; else M "timeout processed ifindex=$1 t=$T"; fi
}

monitor() { M "monitor $* @@END"; }

emit() {
  local f l line
  for f in $R/*.args; do
    [ -e "$f" ] || continue
    l=${f##*/}; l=${l%.args}
    echo "@@NSARGS $l $(cat $f)"
    [ -e $R/$l.out ] && echo "@@NSOUT $l $(tr -d '\n' < $R/$l.out)"
    [ -e $R/$l.err ] && while IFS= read -r line; do echo "@@NSERR $l $line"; done < $R/$l.err
  done
  dmesg -r | sed 's/^/@@NSK /'
}
