"""Which version of a data file is on disk: the key every cache derived from a file carries.

A version is an opaque string from the file's identity and state
(``st_dev``, ``st_ino``, ``st_size``, ``st_mtime_ns``) and a digest of its
first FITS header block. The inode catches a file replaced by a rename over
it, size and mtime a rewrite in place, and the header digest a rewrite that
keeps size and mtime (a copy with ``cp -p``, or two writes within one mtime
tick on a coarse filesystem). The pixels are not hashed: reading a 5 GB map
per request is what the caches are there to avoid.
"""

import hashlib
import os
import struct

# One FITS header block: SIMPLE, BITPIX, the axes, the WCS and usually the
# units; a map-maker's rewrite that changes what the file means changes it.
HEADER_DIGEST_BYTES = 2880


class FileUnreadableError(OSError):
    """The file is missing, not a regular file, or cannot be read now."""


def stat_key(path: str) -> tuple[int, int, int, int]:
    """``(st_dev, st_ino, st_size, st_mtime_ns)`` of ``path``.

    Raises
    ------
    FileUnreadableError
        The file does not exist or cannot be examined.
    """
    try:
        result = os.stat(path)
    except OSError as error:
        raise FileUnreadableError(error.errno, error.strerror) from None
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
