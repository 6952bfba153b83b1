"""The ``tilemaker`` console command: Django's management commands under one name.

``manage.py`` runs this too, so both start the same way.

``open`` and ``dev`` promise to leave nothing behind, yet Django reads
``DATABASES`` when settings load, before any command runs. So for those two
commands the database URL is pointed at a fresh temporary folder here, first,
and the folder is removed when the command ends however it ends (return,
error, Ctrl-C, SIGTERM, SIGHUP). A file rather than ``:memory:``: an
in-memory SQLite database exists per connection, and daphne serves sync views
from many threads.

Settings are decided once, when they load; what these two commands need
different is told to ``settings.py`` here, before Django loads, through two
internal variables (set only by this module, not meant for users):

- ``TILEMAKER_EPHEMERAL_DATABASE=yes``: the database is a fresh temporary
  one whose tables come straight from the models, so no migrations are read;
- ``TILEMAKER_ANY_HOST=yes``: ``--host`` binds beyond loopback, so any Host
  header is answered. Host-header checking protects a loopback server
  against DNS rebinding; someone who binds ``open`` to ``0.0.0.0`` wants to
  reach it by the machine's name or address, which Django cannot know in
  advance.
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

EPHEMERAL_COMMANDS = frozenset({"open", "dev"})
DEFAULT_HOST = "127.0.0.1"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
EPHEMERAL_DB_NAME = "tilemaker.sqlite3"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_ephemeral_dir: Path | None = None


def ephemeral_dir() -> Path | None:
    """The temporary folder of this ``open``/``dev`` run (holding its database), else None."""
    return _ephemeral_dir


def _stop_on_signal(signum, frame):
    # Raised in the main thread wherever it is, so the ``finally`` below runs;
    # the local server replaces this handler while it is serving.
    raise KeyboardInterrupt


def _remove(folder: Path) -> None:
    # Renamed first: a background thread (the cache warm-up) that opens the
    # database after this point then fails, instead of creating a fresh
    # SQLite file in the half-removed folder, which would survive.
    doomed = folder.with_name(folder.name + "-removing")
    try:
        folder.rename(doomed)
    except OSError:
        doomed = folder
    shutil.rmtree(doomed, ignore_errors=True)


def host_option(args: list[str]) -> str:
    """The ``--host`` among a command's arguments, read before Django parses them."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--host", default=DEFAULT_HOST)
    try:
        options, _ = parser.parse_known_args(args)
    except argparse.ArgumentError:
        # A malformed --host: Django's own parser reports it in a moment.
        return DEFAULT_HOST
    return options.host


@contextmanager
def _ephemeral_database(args: list[str]):
    global _ephemeral_dir
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-"))
    os.environ["TILEMAKER_DATABASE_URL"] = f"sqlite:///{folder / EPHEMERAL_DB_NAME}"
    os.environ["TILEMAKER_EPHEMERAL_DATABASE"] = "yes"
    os.environ["TILEMAKER_ANY_HOST"] = "no" if host_option(args) in LOOPBACK_HOSTS else "yes"
    # matplotlib (colour maps) creates its config folder on import; keep it
    # out of the home folder, which may well be the working directory.
    os.environ.setdefault("MPLCONFIGDIR", str(folder / "matplotlib"))
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    _ephemeral_dir = folder
    try:
        yield folder
    finally:
        # Already stopping: a second Ctrl-C, or the SIGTERM that `timeout`
        # also sends to the whole process group, must not cut the removal short.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        _ephemeral_dir = None
        _remove(folder)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilemaker_site.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "tilemaker"
    if len(argv) > 1 and argv[1] in EPHEMERAL_COMMANDS:
        try:
            with _ephemeral_database(argv[2:]):
                execute_from_command_line(argv)
        except KeyboardInterrupt:
            # Interrupted before the command could handle it (while Django loads).
            sys.exit(130)
    else:
        execute_from_command_line(argv)


if __name__ == "__main__":
    main()
