#!/bin/bash
# dracut module: wait in the initqueue until every network card has a bound
# driver and an interface that udev has finished with.  Opt-in, because
# only an image that brings the network up (network root, iSCSI, NFS, kdump
# to a remote target) gains anything from waiting for cards.
#
#   dracut --add netsettle ...        or   add_dracutmodules+=" netsettle "

# dracut sets moddir, dracutsysrootdir and initdir before sourcing this file.
# shellcheck disable=SC2154

# NETSETTLE_BIN builds an image with a netsettle other than the installed
# one (a fresh build, a test); otherwise dracut's binary search path
# (DRACUT_PATH), then /usr/local/bin for a PREFIX=/usr/local install.
netsettle_binary() {
    if [[ -n ${NETSETTLE_BIN-} ]]; then
        printf '%s\n' "$NETSETTLE_BIN"
        return 0
    fi
    find_binary netsettle 2> /dev/null && return 0
    [[ -x $dracutsysrootdir/usr/local/bin/netsettle ]] || return 1
    printf '%s\n' /usr/local/bin/netsettle
}

# 255: include only when asked for; 1: cannot be included without the binary.
check() {
    local bin
    bin=$(netsettle_binary) || return 1
    [[ -x $dracutsysrootdir$bin ]] || return 1
    return 255
}

# netsettle reads udev's queue marker and database: udev must run in the image.
depends() {
    echo udev-rules
    return 0
}

# The cards are only worth waiting for if their drivers are in the image;
# without them netsettle could only wait out its deadline.  In hostonly
# mode instmods keeps the drivers loaded on this machine, companions
# included (mlx4_en with mlx4_core, qede with qed).
installkernel() {
    instmods '=drivers/net/ethernet' virtio_net vmxnet3
}

install() {
    local bin f
    bin=$(netsettle_binary) || return 1
    # Always /usr/bin in the image: the hooks below call it there.
    inst_binary "$bin" /usr/bin/netsettle

    # The host's expectations (Interface=, MinInterfaces=, [Ignore]) apply to
    # the image too; without them only auto-discovery and the kernel
    # command line (rd.netsettle.*) say what to wait for.
    for f in "$dracutsysrootdir"/etc/netsettle.conf \
        "$dracutsysrootdir"/etc/netsettle.conf.d/*.conf; do
        [[ -f $f ]] && inst_simple "${f#"$dracutsysrootdir"}"
    done

    # A finished hook is one test of the initqueue loop: it runs on every turn
    # until it succeeds, so netsettle evaluates once (-t 0) and dracut's
    # rd.retry, not netsettle's deadline, decides how long the boot waits.
    inst_hook initqueue/finished 90 "$moddir/netsettle-finished.sh"
    # Runs once two thirds of rd.retry have passed with a card still missing:
    # say which, then stop holding the boot.
    inst_hook initqueue/timeout 90 "$moddir/netsettle-timeout.sh"
    # Under systemd the initqueue service only starts when some module needs it.
    dracut_need_initqueue
}
