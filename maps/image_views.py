"""Image endpoints (SPEC section 6): tiles, cut-outs, histograms, colour bars, apertures.

Views parse and validate, call ``maps.tiles`` / the engine, and answer.
Every malformed input is a 4xx with ``{"detail": ...}`` decided before any
pixel work; the layer is always looked up first, through the grants, so a
hidden layer answers exactly like an unknown one whatever else is wrong.
"""

import logging
import weakref
from functools import lru_cache

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from maps import render_limits, tiles
from maps.api_errors import BAD_REQUEST, NOT_FOUND, BadRequest, api_exception_handler
from maps.engine import FileChangedError, NoDataError, OutOfRangeError, resolve_tile
from maps.engine.colormap import UnknownColourMapError
from maps.engine.encode import FITS_RENDERER, IMAGE_RENDERERS, colour_bar_png
from maps.engine.errors import FitsError
from maps.grants import is_public, user_grants
from maps.query import echo, parse_int, parse_number, parse_render_options, required

logger = logging.getLogger("maps.image_views")

TILE_REVALIDATE = "no-cache"
COLOUR_BAR_MAX_AGE_SECONDS = 86400
# A map rewritten in place (cp, rsync --inplace) is whole again within seconds
# for ACT-sized files on local disks; clients may retry after this long.
FILE_CHANGED_RETRY_SECONDS = 2


def _renderer(extension: str, allowed: dict):
    renderer = allowed.get(extension)
    if renderer is None:
        raise BadRequest(
            f"unknown image format {echo(extension)}; use one of {', '.join(sorted(allowed))}"
        )
    return renderer


def _if_none_match(request) -> set[str]:
    header = request.headers.get("If-None-Match", "")
    return {part.strip().removeprefix("W/") for part in header.split(",")} if header else set()


def _etag_matches(request, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag``.

    ``*`` is left out: it matches only a tile that exists, which is known
    after rendering (an empty region answers 404); see ``_wants_any``.
    """
    return etag in _if_none_match(request)


def _wants_any(request) -> bool:
    return "*" in _if_none_match(request)


def _cache_control(layer, user) -> str:
    # Tiles of a layer restricted at any level must not sit in shared caches
    # (a proxy would hand them to anyone); those of public layers may. A
    # caller holding no grant can only have found a public layer.
    # ``no-cache`` makes browsers and proxies ask again on every use: a layer
    # that becomes restricted (or a revoked grant) takes effect at once, where
    # a max-age would keep showing it from their caches. The ETag keeps the
    # repeat cheap: the grant check and a 304, no pixel work.
    public = not user_grants(user) or is_public(layer)
    return f"{'public' if public else 'private'}, {TILE_REVALIDATE}"


class _AlwaysJSON(BaseContentNegotiation):
    """Errors are JSON whatever ``Accept`` says (an ``<img>`` asks for images)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FileBeingRewritten(APIException):
    """503 with ``Retry-After``: the layer's file changed while it was read."""

    status_code = 503
    default_detail = "The layer's file is being rewritten; retry shortly."
    default_code = "file_changed"
    wait = FILE_CHANGED_RETRY_SECONDS


class ImageAPIView(APIView):
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = _AlwaysJSON


def _engine_errors(call, *, out_of_range_status=400):
    """Run ``call`` translating engine errors into the API's 4xx answers (503 for a
    file rewritten under the read: the next request reads the new version)."""
    try:
        return call()
    except FileChangedError:
        raise FileBeingRewritten() from None
    except NoDataError as error:
        raise NotFound(str(error) or "no data there") from None
    except tiles.LayerUnavailable as error:
        raise NotFound(str(error)) from None
    except OutOfRangeError as error:
        if out_of_range_status == 404:
            raise NotFound(str(error)) from None
        raise BadRequest(str(error)) from None
    except ValueError as error:
        raise BadRequest(str(error)) from None
    except FitsError as error:
        # A file that became unreadable after import (truncated, corrupted
        # compressed tiles): the pixels are not there, as for a moved file.
        logger.error("unreadable data in %s: %s", error.path, error)
        raise NotFound("the data of this layer cannot be read") from None


# --- OpenAPI descriptions ------------------------------------------------------

_RENDER_PARAMETERS = [
    OpenApiParameter("cmap", str, description="matplotlib colour map; default the layer's."),
    OpenApiParameter("vmin", float, description="Colour range low end; default the layer's."),
    OpenApiParameter("vmax", float, description="Colour range high end; default the layer's."),
    OpenApiParameter("log_norm", bool, description="Logarithmic colour scale (needs vmin > 0)."),
    OpenApiParameter("abs", bool, description="Colour |value|."),
    OpenApiParameter(
        "clip",
        bool,
        description="With log_norm, draw values <= 0 in the lowest colour instead of "
        "transparent. Out-of-range values always take the end colours.",
    ),
    OpenApiParameter(
        "flip", bool, description="RA increasing to the left (the sky as seen from inside)."
    ),
]


def _binary(*media_types: str) -> dict:
    return {
        (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=media_type)
        for media_type in media_types
    }


_ERRORS = {400: BAD_REQUEST, 404: NOT_FOUND}


# --- Views ----------------------------------------------------------------------


class TileView(ImageAPIView):
    @extend_schema(
        operation_id="layer_tile",
        summary="One tile of a layer (SPEC section 5 grid), coloured.",
        parameters=[
            OpenApiParameter("ext", str, OpenApiParameter.PATH, enum=sorted(IMAGE_RENDERERS)),
            OpenApiParameter("level", int, OpenApiParameter.PATH),
            OpenApiParameter("x", int, OpenApiParameter.PATH),
            OpenApiParameter("y", int, OpenApiParameter.PATH),
            *_RENDER_PARAMETERS,
            OpenApiParameter(
                "method",
                str,
                enum=list(tiles.METHODS),
                description="Coarse levels: NaN-aware block mean (default) or every n-th pixel.",
            ),
        ],
        responses={
            **_binary("image/png", "image/webp", "image/jpeg"),
            304: OpenApiResponse(description="Not modified (If-None-Match matched the ETag)."),
            **_ERRORS,
        },
        tags=["Images"],
    )
    def get(self, request, layer_id, level, y, x, ext):
        tile, media_type, headers = _prepare_tile(request, request.user, layer_id, level, y, x, ext)
        if _etag_matches(request, tile.etag):
            return HttpResponse(status=304, headers=headers)
        body = _engine_errors(lambda: tiles.tile_image(tile))
        if _wants_any(request):
            return HttpResponse(status=304, headers=headers)
        return HttpResponse(body, content_type=media_type, headers=headers)

    @classmethod
    def as_view(cls, **initkwargs):
        """An async view: GET and HEAD without a session are answered by
        ``_anonymous_tile``; the rest (logged-in callers, OPTIONS, other methods)
        goes to the DRF view above, in a thread as Django runs sync views."""
        drf_view = super().as_view(**initkwargs)
        in_thread = sync_to_async(drf_view)

        async def view(request, *args, **kwargs):
            if request.method in ("GET", "HEAD") and request.session.session_key is None:
                return await _anonymous_tile(request, *args, **kwargs)
            return await in_thread(request, *args, **kwargs)

        # What Django, DRF and drf-spectacular read from a view function
        # (cls, initkwargs, csrf_exempt...), but not __wrapped__: this view is
        # async, whatever the DRF view it wraps is.
        view.__dict__.update(
            (name, value) for name, value in drf_view.__dict__.items() if name != "__wrapped__"
        )
        return view


def _prepare_tile(request, user, layer_id, level, y, x, ext):
    """Everything before pixel work: the layer through the grants, then every check.

    Returns the prepared tile, its media type and the response headers.
    """
    layer = tiles.visible_layer(user, layer_id)
    renderer = _renderer(ext, IMAGE_RENDERERS)
    level, x, y = parse_int("level", level), parse_int("x", x), parse_int("y", y)
    options = parse_render_options(request.GET)
    method = request.GET.get("method", tiles.DEFAULT_METHOD)
    if method not in tiles.METHODS:
        raise BadRequest(f"method must be one of {', '.join(tiles.METHODS)}")
    index = _engine_errors(
        lambda: resolve_tile(
            grid=tiles.layer_grid(layer), level=level, x=x, y=y, flip=options.flip
        ),
        out_of_range_status=404,
    )
    tile = _engine_errors(
        lambda: tiles.prepare_tile(
            layer, index, options=options, method=method, fmt=renderer.format
        )
    )
    headers = {"ETag": tile.etag, "Cache-Control": _cache_control(layer, user)}
    return tile, renderer.media_type, headers


def _prepare_and_read_cache(request, user, *args):
    tile, media_type, headers = _prepare_tile(request, user, *args)
    body = None if _etag_matches(request, tile.etag) else tiles.cached_image(tile)
    return tile, media_type, headers, body


# The headers DRF's view adds to every answer, added here to the async ones.
_TILE_VIEW_HEADERS = {"Allow": "GET, HEAD, OPTIONS"}


async def _anonymous_tile(request, layer_id, level, y, x, ext):
    """A tile for a caller without a session, answered like ``TileView.get``.

    Such a caller is anonymous without asking the database. The look-up
    (database, cache, file) runs where Django runs sync code for this
    request, the thread it starts for its request signals anyway, so that
    connections are closed and test transactions seen as for any view; it is
    usually answered from memory (``maps.grants``). Rendering goes to the
    bounded render pool. A warm tile costs one short hop.
    """
    user = await request.auser()
    try:
        tile, media_type, headers, body = await sync_to_async(_prepare_and_read_cache)(
            request, user, layer_id, level, y, x, ext
        )
        headers.update(_TILE_VIEW_HEADERS)
        if _etag_matches(request, tile.etag):
            return HttpResponse(status=304, headers=headers)
        if body is None:
            body = await render_limits.in_render_thread(
                _engine_errors, lambda: tiles.render_image(tile)
            )
    except (APIException, Http404) as error:
        return _error_response(error)
    if _wants_any(request):
        return HttpResponse(status=304, headers=headers)
    return HttpResponse(body, content_type=media_type, headers=headers)


def _error_response(error: Exception) -> Response:
    """The answer DRF gives for ``error``: the API's exception handler, rendered as JSON."""
    response = api_exception_handler(error, {})
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = JSONRenderer.media_type
    response.renderer_context = {}
    for name, value in _TILE_VIEW_HEADERS.items():
        response[name] = value
    return response.render()


_CUTOUT_RENDERERS = {**IMAGE_RENDERERS, FITS_RENDERER.format: FITS_RENDERER}


class SubmapView(ImageAPIView):
    @extend_schema(
        operation_id="layer_submap",
        summary="A cut-out at native resolution: FITS with a CAR WCS, or a coloured image.",
        description="RA from left to right (degrees within -720..720, either may exceed 180 "
        "or be negative; "
        "the cut-out is as wide as asked, across RA 0/360 or 180/-180), Dec from bottom to "
        "top. Colour parameters apply to images only. At most TILEMAKER_MAX_CUTOUT_PIXELS.",
        parameters=[
            OpenApiParameter("ext", str, OpenApiParameter.PATH, enum=sorted(_CUTOUT_RENDERERS)),
            OpenApiParameter("left", float, OpenApiParameter.PATH),
            OpenApiParameter("right", float, OpenApiParameter.PATH),
            OpenApiParameter("top", float, OpenApiParameter.PATH),
            OpenApiParameter("bottom", float, OpenApiParameter.PATH),
            *_RENDER_PARAMETERS,
        ],
        responses={
            **_binary("application/fits", "image/png", "image/webp", "image/jpeg"),
            **_ERRORS,
        },
        tags=["Images"],
    )
    def get(self, request, layer_id, left, right, top, bottom, ext):
        layer = tiles.visible_layer(request.user, layer_id)
        renderer = _renderer(ext, _CUTOUT_RENDERERS)
        bounds = {
            "left_ra_deg": parse_number("left", left),
            "right_ra_deg": parse_number("right", right),
            "top_dec_deg": parse_number("top", top),
            "bottom_dec_deg": parse_number("bottom", bottom),
        }
        if renderer is not FITS_RENDERER:
            options = parse_render_options(request.GET)
            source = _engine_errors(lambda: tiles.pixel_source(layer))
            cmap, norm = _engine_errors(lambda: tiles.normalisation_for(layer, source, options))
        hold = _reserve_cutout(layer, bounds)
        try:
            cut = _engine_errors(lambda: tiles.cutout(layer, **bounds))
            if renderer is FITS_RENDERER:
                body = FITS_RENDERER.render(
                    cut.data, header=cut.header, layer_id=layer.layer_id, bunit=layer.units or None
                )
            else:
                body = tiles.encode_cutout(cut, cmap, norm, flip=options.flip, fmt=renderer.format)
            hold.shrink(len(body))
        except BaseException:
            hold.release()
            raise
        filename = f"{layer.layer_id}_submap.{renderer.format}"
        return _HeldBodyResponse(
            body,
            hold,
            content_type=renderer.media_type,
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )


class ServerBusy(APIException):
    status_code = 503
    default_detail = "Too many cut-outs are being sent; try again shortly."
    wait = 5  # seconds, sent as Retry-After


def _reserve_cutout(layer, bounds) -> render_limits.Hold:
    try:
        return _engine_errors(lambda: tiles.reserve_cutout(layer, **bounds))
    except render_limits.Busy:
        raise ServerBusy from None


class _HeldBodyResponse(HttpResponse):
    """A body whose bytes stay reserved in the in-flight budget until it is sent.

    The ASGI handler closes the response once the server has handed the
    last chunk to the socket (daphne waits for slow readers, see
    ``maps.local_server``) or the client has gone; the finaliser releases
    it if the response is dropped unsent (a client gone before the view
    returned).
    """

    def __init__(self, content: bytes, hold: render_limits.Hold, **kwargs) -> None:
        super().__init__(content, **kwargs)
        self._hold = hold
        weakref.finalize(self, hold.release)

    def close(self) -> None:
        super().close()
        self._hold.release()


class HistogramDataView(ImageAPIView):
    @extend_schema(
        operation_id="layer_histogram",
        summary="128-bin histogram of a layer around its colour range.",
        responses={
            200: inline_serializer(
                "LayerHistogram",
                {
                    "layer_id": serializers.CharField(),
                    "edges": serializers.ListField(child=serializers.FloatField()),
                    "histogram": serializers.ListField(child=serializers.IntegerField()),
                    "vmin": serializers.FloatField(),
                    "vmax": serializers.FloatField(),
                },
            ),
            404: NOT_FOUND,
        },
        tags=["Images"],
    )
    def get(self, request, layer_id):
        layer = tiles.visible_layer(request.user, layer_id)
        histogram = _engine_errors(lambda: tiles.layer_histogram_cached(layer))
        return Response({"layer_id": layer.layer_id, **histogram})


@lru_cache(maxsize=256)
def _colour_bar(cmap: str) -> bytes:
    return colour_bar_png(cmap)


class ColourBarView(ImageAPIView):
    @extend_schema(
        operation_id="colour_bar",
        summary="The colour bar of a colour map: 256 x 8 PNG, low values on the left.",
        responses={**_binary("image/png"), 404: NOT_FOUND},
        tags=["Images"],
    )
    def get(self, request, cmap):
        try:
            body = _colour_bar(cmap)
        except UnknownColourMapError:
            raise NotFound(f"unknown colour map {echo(cmap)}") from None
        return HttpResponse(
            body,
            content_type="image/png",
            headers={"Cache-Control": f"public, max-age={COLOUR_BAR_MAX_AGE_SECONDS}"},
        )


class ApertureView(ImageAPIView):
    @extend_schema(
        operation_id="aperture",
        summary="Statistics of the pixels whose centres lie within a circle on the sky.",
        parameters=[
            OpenApiParameter(
                "ra", float, required=True, description="Centre RA, degrees within -720..720."
            ),
            OpenApiParameter("dec", float, required=True, description="Centre Dec, degrees."),
            OpenApiParameter(
                "radius",
                float,
                required=True,
                description="Radius in arcmin (a true angle), at most "
                "TILEMAKER_MAX_APERTURE_RADIUS_ARCMIN.",
            ),
        ],
        responses={
            200: inline_serializer(
                "Aperture",
                {
                    "layer_id": serializers.CharField(),
                    "ra": serializers.FloatField(),
                    "dec": serializers.FloatField(),
                    "radius": serializers.FloatField(),
                    "mean": serializers.FloatField(),
                    "std": serializers.FloatField(),
                    "min": serializers.FloatField(),
                    "max": serializers.FloatField(),
                },
            ),
            **_ERRORS,
        },
        tags=["Analysis"],
    )
    def get(self, request, layer_id):
        layer = tiles.visible_layer(request.user, layer_id)
        ra = required(request.GET, "ra", parse_number)
        dec = required(request.GET, "dec", parse_number)
        radius = required(request.GET, "radius", parse_number)
        if not -90.0 <= dec <= 90.0:
            raise BadRequest(f"dec must be within -90..90, got {dec:g}")
        cap = settings.MAX_APERTURE_RADIUS_ARCMIN
        if not 0.0 < radius <= cap:
            raise BadRequest(f"radius must be within 0..{cap:g} arcmin, got {radius:g}")
        stats = _engine_errors(
            lambda: tiles.aperture(layer, ra_deg=ra, dec_deg=dec, radius_arcmin=radius)
        )
        return Response(
            {
                "layer_id": layer.layer_id,
                "ra": ra,
                "dec": dec,
                "radius": radius,
                **{key: float(stats[key]) for key in ("mean", "std", "min", "max")},
            }
        )
