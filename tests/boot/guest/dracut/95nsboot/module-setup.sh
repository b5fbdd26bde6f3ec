#!/bin/bash
# Test-only dracut module: the late card (nsseed and its gate) in the image,
# netsettle's state changes in the journal, and a pre-pivot hook that
# records what the real root will find at switch-root.
# shellcheck disable=SC2154 # moddir, initdir: set by dracut

check() {
    return 255
}

depends() {
    echo udev-rules
    return 0
}

installkernel() {
    instmods nsseed virtio_net e1000e
}

install() {
    inst_simple /etc/modprobe.d/nsseed.conf
    inst_script /usr/local/sbin/nsseed-gate
    inst_multiple sleep cat touch
    inst_hook pre-pivot 90 "$moddir/nsboot-prepivot.sh"
    inst_hook pre-trigger 90 "$moddir/nsboot-badprobe.sh"
    # The initqueue runs netsettle -t 0 -q; NETSETTLE_LOG overrides -q
    # (netsettle(8)), so each turn's verdict lands in the journal.
    mkdir -p "$initdir/etc/systemd/system/dracut-initqueue.service.d"
    printf '[Service]\nEnvironment=NETSETTLE_LOG=info\n' \
        > "$initdir/etc/systemd/system/dracut-initqueue.service.d/nsboot.conf"
}
