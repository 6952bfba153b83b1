"""Errors raised by the engine; the web layer maps each kind to one HTTP status."""


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class FitsError(EngineError):
    """A FITS file or plane that cannot be used as a layer.

    ``str()`` is a one-line human reason without the path, so callers can
    prefix whichever name the user knows (a config entry, a file name);
    ``path`` holds the file concerned; ``key`` the provider key the reason is
    about, ``"hdu"`` or ``"index"``, or None for the file itself.
    """

    def __init__(self, reason: str, *, path: str | None = None, key: str | None = None):
        super().__init__(reason)
        self.path = path
        self.key = key


class FileChangedError(FitsError):
    """The file changed (rewritten, truncated, replaced) while its pixels were read.

    Transient: the next request re-inspects the file and reads the new
    version, so the web layer answers 503 with ``Retry-After``.
    """


class NoDataError(EngineError):
    """The requested region holds no finite pixel (HTTP 404)."""


class OutOfRangeError(EngineError, ValueError):
    """A level, tile index, region or size outside what is allowed (HTTP 4xx)."""
