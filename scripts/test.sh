#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run
# the linters, the migration check and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = "0" ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        memcached postgresql redis-server chromium chromium-driver nginx curl \
        docker.io docker-compose mmdebstrap
    # tests/docker builds the images and runs docker/compose.yaml.
    bash scripts/dockerd.sh
fi
python3 -m pip install -q -r requirements-test.txt
python3 -m pip install -q --no-deps -e .
npm ci --no-audit --no-fund --loglevel=error

python3 -m ruff check .
python3 -m ruff format --check .
npx --no-install eslint .
node --test frontend/tests/
lint-imports --no-cache
python3 manage.py makemigrations --check --dry-run
python3 -m pytest -q "$@"
