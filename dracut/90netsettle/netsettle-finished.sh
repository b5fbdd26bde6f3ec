/usr/bin/netsettle -t 0 -q > /dev/null
