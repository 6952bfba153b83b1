"""Which version of a data file is on disk: the key every cache derived from a file carries.

A version is an opaque string from the file's identity and state
(``st_dev``, ``st_ino``, ``st_size``, ``st_mtime_ns``) and a digest of its
first FITS header block. The inode catches a file replaced by a rename over
it, size and mtime a rewrite in place, and the header digest a rewrite that
keeps size and mtime (a copy with ``cp -p``, or two writes within one mtime
tick on a coarse filesystem). The pixels are not hashed: reading a 5 GB map
per request is what the caches are there to avoid.

``current_version`` is what the readers ask on every request: it looks at a
file again at most every ``RECHECK_SECONDS`` per process and otherwise
answers from memory, with no system call.
"""

import hashlib
import math
import os
import stat
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# One FITS header block: SIMPLE, BITPIX, the axes, the WCS and usually the
# units; a map-maker's rewrite that changes what the file means changes it.
HEADER_DIGEST_BYTES = 2880
# How long a process trusts the version it last saw of a file. The check
# (stat, read the first block, hash) costs 16 us against 1.7 us for a bare
# stat (bench/bench_file_identity.py), which is small beside a tile, but a
# stat over NFS or Lustre is a round trip to a server; at 0.25 s a change is
# seen by every process within a quarter of the 1 s the viewer is promised.
RECHECK_SECONDS = 0.25


class FileUnreadableError(OSError):
    """The file is missing, not a regular file, or cannot be read now."""


def stat_key(path: str) -> tuple[int, int, int, int]:
    """``(st_dev, st_ino, st_size, st_mtime_ns)`` of ``path``.

    Raises
    ------
    FileUnreadableError
        The file does not exist, cannot be examined or is not a regular file
        (opening a FIFO would block).
    """
    try:
        result = os.stat(path)
    except OSError as error:
        raise FileUnreadableError(error.errno, error.strerror) from None
    if not stat.S_ISREG(result.st_mode):
        raise FileUnreadableError(0, "not a regular file")
    return key_of(result)


def key_of(result: os.stat_result) -> tuple[int, int, int, int]:
    """The ``stat_key`` of a ``stat`` or ``fstat`` result."""
    return (result.st_dev, result.st_ino, result.st_size, result.st_mtime_ns)


def file_version(path: str, key: tuple[int, int, int, int] | None = None) -> str:
    """The version of the file at ``path``: 16 hex digits, equal for equal versions.

    Parameters
    ----------
    path : str
        The file.
    key : tuple, optional
        Its ``stat_key`` when the caller has it (saves one ``stat``).

    Raises
    ------
    FileUnreadableError
        The file does not exist or cannot be read.
    """
    if key is None:
        key = stat_key(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEADER_DIGEST_BYTES)
    except OSError as error:
        raise FileUnreadableError(error.errno, error.strerror) from None
    digest = hashlib.blake2b(struct.pack("<4q", *key), digest_size=8)
    digest.update(head)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileState:
    """A file's ``stat_key`` and ``file_version`` as last seen."""

    key: tuple[int, int, int, int]
    version: str


class VersionTracker:
    """The version of each file as this process last saw it, looked at again at most
    every ``recheck_seconds``; thread-safe.

    ``on_new_version(path, version)`` is called, outside the lock, the first time
    a version differs from the one seen before in this process (not for the first
    version seen: this process cannot know whether it is new).
    """

    def __init__(
        self,
        recheck_seconds: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.recheck_seconds = recheck_seconds
        self.on_new_version: Callable[[str, str], None] | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, FileState]] = {}

    def current(self, path: str, *, fresh: bool = False) -> FileState:
        """``path``'s state, at most ``recheck_seconds`` old (``fresh``: looked at now).

        Raises
        ------
        FileUnreadableError
            The file is missing or cannot be read now (looked at again on the
            next call: a file put back is seen at once).
        """
        now = self._clock()
        with self._lock:
            seen = self._seen.get(path)
        if seen is not None and not fresh and now - seen[0] < self.recheck_seconds:
            return seen[1]
        # The header is read on every look, not only when the stat changed:
        # 16 us each 0.25 s catches a rewrite that kept size and mtime.
        key = stat_key(path)
        state = FileState(key=key, version=file_version(path, key))
        with self._lock:
            previous = self._seen.get(path)
            self._seen[path] = (now, state)
            # Decided under the lock: two threads that both looked announce once.
            new = previous is not None and previous[1].version != state.version
        if new and self.on_new_version is not None:
            self.on_new_version(path, state.version)
        return state

    def expire(self, path: str) -> None:
        """Look at ``path`` again on its next use (a reader found it changed)."""
        with self._lock:
            seen = self._seen.get(path)
            if seen is not None:
                self._seen[path] = (-math.inf, seen[1])

    def forget(self) -> None:
        """Look at every file again on its next use (tests, and after a fork)."""
        with self._lock:
            self._seen.clear()


tracker = VersionTracker()


def current_version(path: str, *, fresh: bool = False) -> FileState:
    """``tracker.current(path)``: the state of ``path`` as this process knows it."""
    return tracker.current(path, fresh=fresh)
