"""Where data files may live: resolution against a base folder and ``TILEMAKER_DATA_ROOTS``."""

from pathlib import Path

from django.conf import settings


class DataPathError(ValueError):
    """A data file path that may not be used; ``str()`` says why in one line."""


def resolve_data_path(filename: str, *, base_dir: Path | None = None) -> Path:
    """Return the absolute, symlink-free path of a FITS or catalogue file.

    Relative names resolve against ``base_dir`` (a config file's folder).
    When ``settings.DATA_ROOTS`` is set, the resolved path must be a regular
    file inside one of those folders; symlinks are resolved first so a link
    cannot point out of the confined tree.
    """
    if not isinstance(filename, str) or not filename.strip():
        raise DataPathError("expected a non-empty file name")
    path = Path(filename).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    resolved = path.resolve()
    roots = settings.DATA_ROOTS
    if roots and not any(resolved.is_relative_to(root) for root in roots):
        raise DataPathError(f"{filename}: outside the allowed data folders (TILEMAKER_DATA_ROOTS)")
    if roots and resolved.exists() and not resolved.is_file():
        raise DataPathError(f"{filename}: not a regular file")
    return resolved
