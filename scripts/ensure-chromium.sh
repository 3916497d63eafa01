#!/usr/bin/env bash
# The admin's browser tests drive Debian's Chromium through Playwright; install it when
# missing (Playwright's own browser download cannot run here). Fails loudly otherwise.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "ensure-chromium: /usr/bin/chromium is missing; install it: apt-get install -y chromium" >&2
    exit 1
fi
echo "ensure-chromium: installing Debian's chromium for the browser tests…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
[ -x /usr/bin/chromium ] || { echo "ensure-chromium: chromium did not install" >&2; exit 1; }
