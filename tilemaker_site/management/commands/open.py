"""``open FILE.fits [MORE.fits ...] [CATALOG.json|.csv ...]``: look at maps, leave nothing.

``open --watch DIR ...`` also opens the map and catalogue files in the
folders and keeps following them (``maps.watching``) while it serves.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from maps.scanning import slug, split_files
from maps.watching import Destination, FolderWatcher, files_in, folders_of, start_thread
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
        parser.add_argument(
            "--watch",
            action="store_true",
            help="FILE may be folders: open their map and catalogue files and add, re-read or "
            "remove maps as files appear, change or vanish there (inotify; polling on NFS/Lustre)",
        )
        parser.add_argument(
            "--poll",
            type=float,
            metavar="SECONDS",
            help="with --watch: look for changes by polling every SECONDS (stat only) instead "
            "of inotify, e.g. for a network filesystem not recognised as one",
        )

    def handle(self, *args, files, port, host, auto_contrast, watch, poll, **options):
        require_ephemeral_dir()
        folders = folders_of(files) if watch else []
        if watch and not folders:
            raise CommandError("--watch needs at least one folder to watch")
        if poll is not None and (not watch or poll <= 0):
            raise CommandError("--poll needs --watch and a number of seconds above 0")
        if watch:
            files = [
                *(path for path in files if not os.path.isdir(path)),
                *(path for folder in folders for path in files_in(folder)),
            ]
        fits_paths, catalog_paths = split_files(files)
        try:
            listener = server.listen(host, port)
            try:
                server.prepare_ephemeral_database()
                try:
                    server.import_files(fits_paths, catalog_paths, auto_contrast=auto_contrast)
                except server.ServerStartError as error:
                    if not watch:
                        raise
                    # An empty folder is worth watching: its maps are still to come.
                    server.console(f"{error}; waiting for files")
                stop = None
                if watch:
                    watcher = FolderWatcher(
                        {folder: Destination(_group_for(folders)) for folder in folders},
                        poll_seconds=poll,
                        auto_contrast=auto_contrast,
                        report=server.console,
                    )
                    _, stop = start_thread(watcher)
                try:
                    server.serve(listener, precache=settings.PRECACHE)
                finally:
                    if stop is not None:
                        stop.set()
            finally:
                listener.close()
        except server.ServerStartError as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            server.console("Stopped.")


def _group_for(folders: list[Path]) -> str:
    """The map group new files join: the one ``open`` made, else one named after the folder."""
    from maps.models import MapGroup

    group = MapGroup.objects.order_by("position", "id").first()
    if group is None:
        folder = Path(os.path.commonpath([str(path) for path in folders]))
        group = MapGroup.objects.create(
            map_group_id=slug(folder.name, fallback="files"),
            name=folder.name or str(folder),
            description=f"FITS files in {folder}",
        )
    return group.map_group_id
