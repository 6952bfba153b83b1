#!/bin/sh
# Dispatch like the official images do: "postgres ...", "memcached ..." and "redis-server ..."
# run as their own unprivileged users; anything else runs as given.
set -eu
case "${1:-}" in
    postgres)
        shift
        exec runuser -u postgres -- /usr/local/bin/postgres-entrypoint.sh "$@"
        ;;
    memcached)
        exec runuser -u memcache -- "$@"
        ;;
    redis-server)
        exec runuser -u redis -- "$@"
        ;;
esac
exec "$@"
