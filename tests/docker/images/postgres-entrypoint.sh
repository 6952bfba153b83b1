#!/bin/sh
# The official postgres image's start-up, reduced to what compose.yaml uses.
set -eu
bin=/usr/lib/postgresql/15/bin
data=/var/lib/postgresql/data
if [ ! -s "$data/PG_VERSION" ]; then
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
    "$bin/initdb" -D "$data" -U "$POSTGRES_USER" --pwfile="$password_file" \
        --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --no-instructions
    rm -f "$password_file"
    echo "CREATE DATABASE $POSTGRES_DB" | "$bin/postgres" --single -D "$data" postgres >/dev/null
fi
if [ "${1:-}" = "postgres" ]; then
    shift
fi
exec "$bin/postgres" -D "$data" -k /var/run/postgresql "$@"
