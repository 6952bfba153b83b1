#!/bin/sh
# The app container's start-up: migrate, import the configuration when one is
# given, report the deployment checks, then run the daphne workers.
# Any other command ("docker compose run app python manage.py createsuperuser")
# runs as given instead.
set -eu

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

python manage.py migrate --noinput
if [ -n "${TILEMAKER_CONFIG_PATH:-}" ]; then
    python manage.py import_config "$TILEMAKER_CONFIG_PATH"
fi
# Warnings are printed for the operator; only errors stop the container.
python manage.py check --deploy --database default
exec python docker/run_workers.py --host 0.0.0.0
