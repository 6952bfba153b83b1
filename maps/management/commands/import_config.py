"""``import_config PATH``: load a JSON data configuration into the database."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from maps.importers import ConfigError, import_config
from tilemaker_site.server import pending_migrations


class Command(BaseCommand):
    help = (
        "Import a JSON data configuration (map groups, source catalogues, boxes). Relative "
        "file names resolve against the config's folder. Re-importing updates in place; a "
        "config with any error changes nothing and every problem is listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="the JSON configuration file")

    def handle(self, *args, path, **options):
        # "import_config, then serve" is the documented way to fill a new
        # database, so a fresh SQLite file gets its tables here as serve would.
        count = pending_migrations()
        if count:
            self.stdout.write(f"Applying {count} database migration(s) ...")
            call_command("migrate", verbosity=0, interactive=False)
        try:
            report = import_config(path)
        except ConfigError as error:
            count = len(error.problems)
            raise CommandError(
                f"{path}: not imported, {count} problem{'s' * (count != 1)}:\n"
                + "\n".join(error.problems)
            ) from None
        for warning in report.warnings:
            self.stderr.write(f"Warning: {warning}")
        self.stdout.write(report.summary())
