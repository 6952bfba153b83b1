#!/usr/bin/env bash
# Build the Debian bookworm base image the test command builds TileMaker's
# images from (the public registry, hence python:3.11-slim, cannot be reached
# here): mmdebstrap's minbase plus Debian's Python 3.11 and venv, imported with
# `docker import`. Prints the image name, to pass as BASE_IMAGE:
#   docker build --build-arg BASE_IMAGE="$(scripts/docker-base.sh)" -f docker/Dockerfile .
#
# Cached on one machine: the image is named after a hash of this script, so a
# second run finds it in the engine (or reloads the tarball kept in
# $TILEMAKER_DOCKER_CACHE) and takes a second; an edit to the script builds a
# new one. A fresh machine builds it (about a minute with a near mirror).
set -euo pipefail

cache_dir=${TILEMAKER_DOCKER_CACHE:-/var/cache/tilemaker-docker}
mirror=${TILEMAKER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# python3-venv brings ensurepip's pip wheel; ca-certificates is the system CA
# bundle the running app needs for the GitHub login; bash for health checks.
packages=python3,python3-venv,ca-certificates,bash

hash=$(sha256sum "$0" | cut -c1-12)
image=tilemaker-debian-base:bookworm-$hash
tarball=$cache_dir/debian-base-$hash.tar

if /usr/bin/docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
fi
mkdir -p "$cache_dir"
if [ ! -s "$tarball" ]; then
    echo "docker-base.sh: building $tarball with mmdebstrap" >&2
    mmdebstrap --variant=minbase --format=tar --include="$packages" \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --aptopt='Acquire::Retries "3"' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
        bookworm "$tarball.part" "$mirror" >&2
    mv "$tarball.part" "$tarball"
fi
# LANG: Debian's minbase has no locale set; Python then reads files as ASCII.
/usr/bin/docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    "$tarball" "$image" >&2
echo "$image"
