#!/usr/bin/env bash
# Start a Docker engine for the test command when none is running, and wait
# for its socket. Idempotent: a running engine is left alone. No bridge and no
# iptables: every TileMaker container uses host networking (docker/compose.yaml),
# so the engine never touches the machine's network set-up.
set -euo pipefail

socket=/var/run/docker.sock
log=${TILEMAKER_DOCKERD_LOG:-/var/log/tilemaker-dockerd.log}

engine_answers() {
    /usr/bin/docker info >/dev/null 2>&1
}

if engine_answers; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "dockerd.sh: no Docker engine answers on $socket and only root can start one" >&2
    exit 1
fi
nohup dockerd --bridge=none --iptables=false --ip6tables=false >>"$log" 2>&1 &
echo "dockerd.sh: started dockerd (pid $!), log in $log" >&2
# The engine takes a second or two; a minute means it failed (see the log).
for _ in $(seq 1 120); do
    if engine_answers; then
        exit 0
    fi
    sleep 0.5
done
echo "dockerd.sh: dockerd did not answer within 60 s:" >&2
tail -n 30 "$log" >&2
exit 1
