"""How the engine's errors answer over HTTP: one table for every image endpoint.

``ImageAPIView.handle_exception`` passes each exception through
``api_error_for`` before DRF's exception handler renders it, so views call
the engine directly instead of wrapping every call.
"""

import logging

from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import APIException, NotFound

from maps.engine import FileChangedError, FitsError, NoDataError
from maps.render_limits import Busy
from maps.tiles import LayerUnavailable
from tilemaker_site.errors import ERROR_SCHEMA, BadRequest

logger = logging.getLogger("maps.image_views")

# A map rewritten in place (cp, rsync --inplace) is whole again within seconds
# for ACT-sized files on local disks; clients may retry after this long.
FILE_CHANGED_RETRY_SECONDS = 2


class FileBeingRewritten(APIException):
    """503 with ``Retry-After``: the layer's file changed while it was read."""

    status_code = 503
    default_detail = "The layer's file is being rewritten; retry shortly."
    default_code = "file_changed"
    wait = FILE_CHANGED_RETRY_SECONDS


FILE_UNAVAILABLE = OpenApiResponse(
    ERROR_SCHEMA,
    description="The layer's map file is being rewritten, missing or truncated now "
    "(Retry-After says when to ask again), or the server is busy.",
)


class FileNotReadable(APIException):
    """503 with ``Retry-After``: the layer's map file is missing or truncated now.

    Transient by assumption: the file was readable when the layer was imported,
    and a map being regenerated or a filesystem being remounted comes back; the
    next request after it is back reads it (no restart).
    """

    status_code = 503
    default_code = "file_not_readable"
    # Mostly a map being copied over (cp truncates first): as for a rewrite.
    wait = FILE_CHANGED_RETRY_SECONDS


class ServerBusy(APIException):
    status_code = 503
    default_detail = "Too many cut-outs are being sent; try again shortly."
    wait = 5  # seconds, sent as Retry-After


def api_error_for(error: Exception) -> Exception:
    """The API exception that answers ``error``, or ``error`` itself if it is not one
    of the engine's (nor a ``ValueError`` from validating a request).

    503 for a file rewritten under the read (the next request reads the new
    version), for a map file missing or truncated now, and for a full cut-out
    budget; 404 where the pixels are not there; 400 for anything out of range
    or invalid. A tile index outside the grid is a 404 instead: the view says
    so where it resolves the index.
    """
    match error:
        case FileChangedError():
            return FileBeingRewritten()
        case NoDataError():
            return NotFound(str(error) or "no data there")
        case LayerUnavailable():
            return FileNotReadable(str(error))
        case ValueError():
            # OutOfRangeError is a ValueError too, as are the colour
            # normalisation's refusals (an unusable vmin/vmax).
            return BadRequest(str(error))
        case FitsError():
            # A file that became unreadable after import (truncated, corrupted
            # compressed tiles): the pixels are not there, as for a moved file.
            logger.error("unreadable data in %s: %s", error.path, error)
            return NotFound("the data of this layer cannot be read")
        case Busy():
            return ServerBusy()
    return error
