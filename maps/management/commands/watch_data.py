"""``manage.py watch_data``: follow the admin's watched folders, next to ``serve``."""

import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from maps.watching import FolderWatcher, watched_folders

# How often the admin's list of watched folders is read again; a change
# restarts the watch (and its one start-up listing of the folders).
RELOAD_SECONDS = 30.0


class Command(BaseCommand):
    help = (
        "Watch the enabled folders of the Watched folders admin: new map and catalogue files "
        "join the map group chosen there (public, or only for holders of its grant), rewritten "
        "files are re-read and announced, removed ones leave the catalogue. Run it as its own "
        "process next to `serve`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll",
            type=float,
            metavar="SECONDS",
            help="poll every SECONDS (stat only) instead of inotify; by default folders on "
            "NFS/Lustre/GPFS are polled (TILEMAKER_WATCH_POLLING, TILEMAKER_WATCH_POLL_SECONDS)",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="catch up with the folders (add new files, drop removed ones) and exit",
        )

    def handle(self, *args, poll, once, **options):
        if poll is not None and poll <= 0:
            raise CommandError("--poll needs a number of seconds above 0")
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
        while not stopping.is_set():
            folders = watched_folders()
            watcher = FolderWatcher(folders, poll_seconds=poll, report=self.stdout.write)
            if once:
                watcher.catch_up()
                return
            if not folders:
                self.stdout.write("No enabled watched folder; looking again in a while")
                stopping.wait(RELOAD_SECONDS)
                continue
            stop = threading.Event()
            thread = threading.Thread(target=watcher.run, args=(stop,), name="watch", daemon=True)
            thread.start()
            # The admin may add, change or disable folders while this runs.
            next_look = time.monotonic() + RELOAD_SECONDS
            while not stopping.wait(1.0) and thread.is_alive():
                if time.monotonic() >= next_look:
                    next_look = time.monotonic() + RELOAD_SECONDS
                    if watched_folders() != folders:
                        self.stdout.write("Watched folders changed in the admin; restarting")
                        break
            stop.set()
            thread.join()
            if not thread.is_alive() and not stopping.is_set() and watched_folders() == folders:
                raise CommandError("the watch stopped unexpectedly; see the log above")
