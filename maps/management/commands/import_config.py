"""``import_config PATH``: load a JSON data configuration into the database."""

from django.core.management.base import BaseCommand, CommandError

from maps.importers import ConfigError, import_config


class Command(BaseCommand):
    help = (
        "Import a JSON data configuration (map groups, source catalogues, boxes). Relative "
        "file names resolve against the config's folder. Re-importing updates in place; a "
        "config with any error changes nothing and every problem is listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="the JSON configuration file")

    def handle(self, *args, path, **options):
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
