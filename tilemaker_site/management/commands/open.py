"""``open FILE.fits [MORE.fits ...] [CATALOG.json|.csv ...]``: look at maps, leave nothing."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from maps.scanning import split_files
from tilemaker_site import server
from tilemaker_site.cli import DEFAULT_HOST, ephemeral_dir


def require_ephemeral_dir() -> Path:
    folder = ephemeral_dir()
    if folder is None:
        raise CommandError(
            "start this command as `tilemaker ...` or `python manage.py ...`: "
            "only then does it get its own temporary database"
        )
    return folder


def add_server_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every interface)",
    )


class Command(BaseCommand):
    help = (
        "Open FITS maps (and .json/.csv source catalogues) in the viewer. Nothing is written "
        "next to the maps or in the working directory; the temporary database is removed on exit."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help="CAR FITS maps, and .json/.csv catalogues"
        )
        add_server_arguments(parser)
        parser.add_argument(
            "--auto-contrast",
            action="store_true",
            help="colour range from each map's percentiles instead of the recognised defaults",
        )

    def handle(self, *args, files, port, host, auto_contrast, **options):
        require_ephemeral_dir()
        fits_paths, catalog_paths = split_files(files)
        try:
            listener = server.listen(host, port)
            try:
                server.prepare_ephemeral_database()
                server.import_files(fits_paths, catalog_paths, auto_contrast=auto_contrast)
                server.serve(listener, precache=settings.PRECACHE)
            finally:
                listener.close()
        except server.ServerStartError as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            server.console("Stopped.")
