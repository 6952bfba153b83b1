#!/bin/sh
# The app container's start-up: migrate and import the configuration when one
# is given (docker/migrate.py: once per container, one container at a time),
# report the deployment checks, then run the daphne workers.
# Any other command ("docker compose run app python manage.py createsuperuser")
# runs as given instead.
set -eu

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

python docker/migrate.py
# Warnings are printed for the operator; only errors stop the container.
python manage.py check --deploy --database default
exec python docker/run_workers.py --host "${TILEMAKER_WORKER_HOST:-0.0.0.0}"
