#!/usr/bin/env bash
# Runs a command next to a throwaway PostgreSQL cluster (Debian's PostgreSQL 15 binaries),
# exporting ABONENT_TEST_POSTGRES_URL for it, and removes the cluster afterwards.
# A server cannot run as root, so as root the cluster runs as the `postgres` user.
# If the server cannot start, this fails loudly: tests never skip PostgreSQL silently.
set -euo pipefail

pgbin=${ABONENT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$pgbin" ] || [ ! -x "$pgbin/pg_ctl" ]; then
    echo "with-postgres: no PostgreSQL server found under /usr/lib/postgresql/*/bin;" \
         "install it (apt-get install postgresql-15) or set ABONENT_PG_BIN" >&2
    exit 1
fi

dir=$(mktemp -d /tmp/abonent-pg.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres: "$dir"

stop() {
    as_owner "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT

if ! as_owner "$pgbin/initdb" -D "$dir/data" -U abonent --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1; then
    echo "with-postgres: initdb failed:" >&2; cat "$dir/initdb.log" >&2; exit 1
fi
opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400"
opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=512MB"
if ! as_owner "$pgbin/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/server.log" -w -t 60 start >/dev/null; then
    echo "with-postgres: PostgreSQL did not start:" >&2; cat "$dir/server.log" >&2; exit 1
fi

export ABONENT_TEST_POSTGRES_URL="postgresql+psycopg://abonent@127.0.0.1:$port/postgres"
"$@"
