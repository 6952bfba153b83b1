"""``genconfig FILE.fits ... [CATALOG.json|.csv ...] --output F``: the config ``open`` builds."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from maps.scanning import config_for_files, split_files


class Command(BaseCommand):
    help = (
        "Write the data configuration that `open` would build for these files (maps recognised "
        "by name and header, catalogues by suffix), as a starting point for import_config."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help="CAR FITS maps, and .json/.csv catalogues"
        )
        parser.add_argument(
            "--output", "-o", metavar="F", help="where to write the JSON (default: standard output)"
        )
        parser.add_argument(
            "--auto-contrast",
            action="store_true",
            help='write "auto" colour ranges instead of the recognised defaults',
        )

    def handle(self, *args, files, output, auto_contrast, **options):
        fits_paths, catalog_paths = split_files(files)
        config, problems = config_for_files(fits_paths, catalog_paths, auto_contrast=auto_contrast)
        for problem in problems:
            self.stderr.write(f"Skipped {problem}")
        if not config["map_groups"] and not config["source_groups"]:
            raise CommandError("none of the files could be used; no configuration written")
        text = json.dumps(config, indent=2) + "\n"
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text)
        except OSError as error:
            raise CommandError(f"{output}: cannot write ({error.strerror})") from None
        layers = sum(
            len(band["layers"])
            for group in config["map_groups"]
            for map_entry in group["maps"]
            for band in map_entry["bands"]
        )
        self.stdout.write(
            f"Wrote {output}: {layers} layer{'s' * (layers != 1)}, "
            f"{len(config['source_groups'])} catalogue(s); import it with "
            f"`tilemaker import_config {output}`"
        )
