#!/usr/bin/env bash
# The NAS plugin's tests talk to its RADIUS server and its emulated NAS with FreeRADIUS's
# radclient (Debian's freeradius-utils); install it when missing. Fails loudly otherwise.
set -euo pipefail
command -v radclient >/dev/null && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "ensure-radclient: radclient is missing; install it: apt-get install -y freeradius-utils" >&2
    exit 1
fi
echo "ensure-radclient: installing Debian's freeradius-utils for the NAS tests…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq freeradius-utils >/dev/null
command -v radclient >/dev/null || { echo "ensure-radclient: radclient did not install" >&2; exit 1; }
