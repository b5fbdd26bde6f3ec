#!/bin/sh
# Sourced by dracut's initqueue when it has waited two thirds of rd.retry.
# A missing card must not hold the boot for good (udevadm settle gives up
# too): log netsettle's report, where each card's reason names the next
# step, then drop the finished hook so the initqueue can end.

# shellcheck disable=SC2154 # hookdir comes from dracut-lib.sh
_netsettle_hook="$hookdir/initqueue/finished/90-netsettle-finished.sh"
if [ -e "$_netsettle_hook" ]; then
    /usr/bin/netsettle status 2>&1 | while IFS= read -r _netsettle_line; do
        warn "netsettle: $_netsettle_line"
    done
    rm -f -- "$_netsettle_hook"
fi
unset _netsettle_hook _netsettle_line
