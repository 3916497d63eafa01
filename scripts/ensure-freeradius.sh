#!/usr/bin/env bash
# The NAS benchmark (bench/bench_nas.py) measures our RADIUS server next to FreeRADIUS
# (Debian's `freeradius`, its default configuration copied to a temporary folder and run
# on free loopback ports); install it when missing. Fails loudly otherwise.
set -euo pipefail
command -v freeradius >/dev/null && [ -d /etc/freeradius/3.0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "ensure-freeradius: freeradius is missing; install it: apt-get install -y freeradius" >&2
    exit 1
fi
echo "ensure-freeradius: installing Debian's freeradius for the NAS benchmark…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq freeradius >/dev/null
command -v freeradius >/dev/null || { echo "ensure-freeradius: freeradius did not install" >&2; exit 1; }
