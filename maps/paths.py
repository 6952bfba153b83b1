"""Where data files may live: resolution against a base folder and ``TILEMAKER_DATA_ROOTS``."""

from pathlib import Path

from django.conf import settings

# Linux's PATH_MAX (4096 bytes with the final NUL) and NAME_MAX. Longer names
# fail deep inside os.stat with ENAMETOOLONG (and Path.exists raises it), so
# they are refused here, before anything touches the file system.
PATH_MAX_BYTES = 4095
NAME_MAX_BYTES = 255
# A message quotes a file name whole up to this length (real paths, even deep
# HPC ones, are shorter) and cuts longer ones: a 5000-character name would
# otherwise fill the terminal or the admin page.
SHOWN_NAME_CHARS = 300


class DataPathError(ValueError):
    """A data file path that may not be used; ``str()`` says why in one line."""


def shown_name(filename: str) -> str:
    """``filename`` fit for a one-line message: control characters escaped, long names cut."""
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in filename)
    if len(text) <= SHOWN_NAME_CHARS:
        return text
    return f"{text[:200]}... ({len(filename)} characters)"


def check_file_name(filename: object) -> str:
    """``filename`` when the operating system could open such a name, else ``DataPathError``."""
    if not isinstance(filename, str) or not filename.strip():
        raise DataPathError("expected a non-empty file name")
    shown = shown_name(filename)
    if "\0" in filename:
        raise DataPathError(f"{shown}: a file name cannot contain a NUL character")
    try:
        encoded = filename.encode()
    except UnicodeEncodeError:
        raise DataPathError(f"{shown}: the file name is not valid Unicode") from None
    longest = max(len(part) for part in encoded.split(b"/"))
    if len(encoded) > PATH_MAX_BYTES or longest > NAME_MAX_BYTES:
        raise DataPathError(
            f"{shown}: the file name is too long ({len(encoded)} bytes; at most "
            f"{PATH_MAX_BYTES}, and {NAME_MAX_BYTES} for each folder or file name)"
        )
    return filename


def resolve_data_path(filename: str, *, base_dir: Path | None = None) -> Path:
    """Return the absolute, symlink-free path of a FITS or catalogue file.

    Relative names resolve against ``base_dir`` (a config file's folder).
    When ``settings.DATA_ROOTS`` is set, the resolved path must be a regular
    file inside one of those folders; symlinks are resolved first so a link
    cannot point out of the confined tree. Every refusal is a
    ``DataPathError`` whose message quotes the name shortened by ``shown_name``.
    """
    check_file_name(filename)
    shown = shown_name(filename)
    try:
        path = Path(filename).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        check_file_name(str(path))
        resolved = path.resolve()
        roots = settings.DATA_ROOTS
        if roots and not any(resolved.is_relative_to(root) for root in roots):
            raise DataPathError(f"{shown}: outside the allowed data folders (TILEMAKER_DATA_ROOTS)")
        if roots and resolved.exists() and not resolved.is_file():
            raise DataPathError(f"{shown}: not a regular file")
    except OSError as error:
        raise DataPathError(f"{shown}: cannot access the file ({error.strerror})") from None
    except RuntimeError:
        # pathlib raises RuntimeError for these two, not OSError.
        raise DataPathError(
            f"{shown}: cannot resolve the path (a symbolic link loop, or ~user of an unknown user)"
        ) from None
    return resolved
