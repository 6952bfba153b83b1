"""The version of a layer's map file(s), for ``/layers/{id}`` and the "rewritten" event,
and the worker's announcement of a version it sees first.

The version itself is ``maps.engine.file_identity``'s (the key of every cache
derived from a file); here it is read through the data path rules.
"""

import logging
import threading

from django.db import close_old_connections, connection

from maps.engine.file_identity import FileUnreadableError, current_version, tracker
from maps.engine.providers import filenames
from maps.paths import DataPathError, resolve_data_path

logger = logging.getLogger(__name__)


def provider_file_version(provider: object) -> str | None:
    """The version of the files a stored provider reads: one file's version, or its
    inputs' joined by ``-`` (a combination); None while any cannot be read."""
    versions = []
    for filename in filenames(provider):
        try:
            versions.append(current_version(str(resolve_data_path(filename))).version)
        except (DataPathError, FileUnreadableError):
            return None
    return "-".join(versions) or None


def announce_new_versions() -> None:
    """Make this process announce (``events.file_rewritten``) each new version of a
    file it sees, once per version.

    Announced from a thread of its own: the reader that saw it may be serving a
    tile inside the event loop, where the database may not be used, and the
    tile should not wait for the announcement.
    """
    tracker.on_new_version = _announce_in_background


def _announce_in_background(path: str, version: str) -> None:
    threading.Thread(target=_announce, args=(path,), name="file-rewritten", daemon=True).start()


def _announce(path: str) -> None:
    from maps import events

    close_old_connections()
    try:
        events.file_rewritten(path)
    except Exception:
        # Only an event lost: the viewer sees the new version on its next fetch.
        logger.exception("file rewritten event not sent for a layer file")
    finally:
        connection.close()
