"""Apply the migrations and import the configuration, one container at a time.

Run by docker/entrypoint.sh once per container, before its workers start
(never by the workers). When several app containers start together (compose's
app and app-2, a Kubernetes Deployment's replicas), a PostgreSQL advisory lock
makes them take turns: the first applies the migrations, the others find none
left. Without it two ``migrate`` runs race on the same tables and one fails
on "relation already exists", or both record the same migration twice.
"""

import os
import sys
from pathlib import Path

# Run as a script from the project folder: the project's packages sit one up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Any constant shared by every TileMaker container; "TMKR" in ASCII.
MIGRATION_LOCK_ID = 0x544D4B52


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilemaker_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    # A connection of its own: migrate may close and reopen the default one,
    # which would release a session-level lock held on it.
    lock = connection.copy() if connection.vendor == "postgresql" else None
    if lock is not None:
        with lock.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_ID])
    try:
        call_command("migrate", interactive=False)
        config_path = os.environ.get("TILEMAKER_CONFIG_PATH", "")
        if config_path:
            call_command("import_config", config_path)
    finally:
        if lock is not None:
            lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
