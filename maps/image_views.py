"""Image endpoints (SPEC section 6): tiles, cut-outs, histograms, colour bars, apertures.

Views parse and validate, call ``maps.tiles`` / the engine, and answer.
Every malformed input is a 4xx with ``{"detail": ...}`` decided before any
pixel work; the layer is always looked up first, through the grants, so a
hidden layer answers exactly like an unknown one whatever else is wrong.
"""

import weakref
from functools import lru_cache

from adrf.views import APIView
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from maps import derived, render_limits, tiles
from maps.engine import OutOfRangeError, resolve_tile
from maps.engine.colormap import UnknownColourMapError
from maps.engine.datatile import DATA_TILE_DTYPE, DATA_TILE_ENCODING, QUANTISED_ENCODING
from maps.engine.encode import FITS_RENDERER, IMAGE_RENDERERS, colour_bar_png
from maps.engine.limits import DEFAULT_PERCENT, LIMIT_METHODS, PERCENT_PRESETS
from maps.engine.stretch import DEFAULT_ASINH_A, DEFAULT_GAMMA, LOG_STRETCH_A, STRETCHES
from maps.grants import is_public, user_grants
from maps.image_errors import FILE_UNAVAILABLE, api_error_for
from maps.query import (
    echo,
    optional,
    parse_bool,
    parse_int,
    parse_number,
    parse_render_options,
    required,
)
from tilemaker_site.errors import BAD_REQUEST, NOT_FOUND, BadRequest
from tilemaker_site.rate_limits import ExpensiveRateThrottle

TILE_REVALIDATE = "no-cache"
COLOUR_BAR_MAX_AGE_SECONDS = 86400


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
    public = not user_grants(user) or all(is_public(each) for each in derived.inputs_of(layer))
    return f"{'public' if public else 'private'}, {TILE_REVALIDATE}"


class _AlwaysJSON(BaseContentNegotiation):
    """Errors are JSON whatever ``Accept`` says (an ``<img>`` asks for images)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# The image endpoints' base (comments, not a docstring: drf-spectacular would
# publish one as every operation's description): JSON errors whatever
# ``Accept`` says, and the engine's errors answered through
# ``maps.image_errors``, one table for all. An ``adrf`` view, so that a view
# may be async (``TileView``) and still go through DRF's authentication,
# permissions, throttles and exception handler.
class ImageAPIView(APIView):
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = _AlwaysJSON

    def find_layer(self, request, kwargs: dict):
        """The layer the URL names, through the grants, and the URL's other arguments.

        The first step of every image request; ``maps.derived_views`` answers
        a derived layer's URL here instead.
        """
        rest = dict(kwargs)
        return tiles.visible_layer(request.user, rest.pop("layer_id")), rest

    def handle_exception(self, exc):
        return super().handle_exception(api_error_for(exc))


# --- OpenAPI descriptions ------------------------------------------------------

_RENDER_PARAMETERS = [
    OpenApiParameter(
        "cmap",
        str,
        description="Colour map: any matplotlib name, planck (the Planck CMB table), or "
        "either followed by _r (reversed); default the layer's.",
    ),
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
    OpenApiParameter(
        "stretch",
        str,
        enum=list(STRETCHES),
        description="Applied to x = (value - vmin) / (vmax - vmin) clipped to 0..1 (after abs "
        "and log_norm), as astropy.visualization's stretches: linear x; log "
        f"log10({LOG_STRETCH_A:g} x + 1) / log10({LOG_STRETCH_A:g} + 1); sqrt; asinh "
        "asinh(x / asinh_a) / asinh(1 / asinh_a); power x ** gamma; histeq the cumulative "
        "histogram of the layer within vmin..vmax. Default linear.",
    ),
    OpenApiParameter(
        "asinh_a",
        float,
        description=f"Softening of the asinh stretch, > 0; default {DEFAULT_ASINH_A:g}.",
    ),
    OpenApiParameter(
        "gamma",
        float,
        description=f"Exponent of the power stretch, > 0; default {DEFAULT_GAMMA:g}.",
    ),
]


def _binary(*media_types: str) -> dict:
    return {
        (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=media_type)
        for media_type in media_types
    }


_ERRORS = {400: BAD_REQUEST, 404: NOT_FOUND, 503: FILE_UNAVAILABLE}
# Tile URLs may carry the layer's file_version (?v=...) so that a browser keeps
# tiles per version of the file; the server reads the file as it is now.
_VERSION_PARAMETER = OpenApiParameter(
    "v",
    str,
    description="The layer's file_version, for browser caches; ignored by the server.",
)

# Shared with the derived-layer endpoints (maps.derived_views): one schema component each.
HISTOGRAM_RESPONSE = inline_serializer(
    "LayerHistogram",
    {
        "layer_id": serializers.CharField(),
        "edges": serializers.ListField(child=serializers.FloatField()),
        "histogram": serializers.ListField(child=serializers.IntegerField()),
        "vmin": serializers.FloatField(),
        "vmax": serializers.FloatField(),
    },
)
LIMITS_RESPONSE = inline_serializer(
    "LayerLimits",
    {
        "layer_id": serializers.CharField(),
        "method": serializers.ChoiceField(choices=list(LIMIT_METHODS)),
        "vmin": serializers.FloatField(),
        "vmax": serializers.FloatField(),
    },
)


# --- Views ----------------------------------------------------------------------


# The one tile view, for every caller. Async: DRF's checks and the look-up
# (database, cache, file) run in one hop to the thread where Django runs sync
# code for this request, and a warm tile is answered from there; only
# rendering goes to the bounded render pool, so waiting requests hold no
# thread and no pixel memory. A caller without a session cookie is anonymous
# without asking the database.
class TileView(ImageAPIView):
    def initial(self, request, *args, **kwargs):
        """Authentication, permissions and throttles, then the tile's look-up.

        adrf runs ``initial`` in the request's sync thread; doing the look-up
        there too saves a second hop to that thread: about 0.2 ms of a 3.6 ms
        warm tile (p50, interleaved runs against ``bench/bench_tiles.py``'s
        server).
        """
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            layer, rest = self.find_layer(request, kwargs)
            self.looked_up = _prepare_and_read_cache(request, request.user, layer, **rest)

    @extend_schema(
        operation_id="layer_tile",
        summary="One tile of a layer (SPEC section 5 grid), coloured.",
        parameters=[
            OpenApiParameter("ext", str, OpenApiParameter.PATH, enum=sorted(IMAGE_RENDERERS)),
            OpenApiParameter("level", int, OpenApiParameter.PATH),
            OpenApiParameter("x", int, OpenApiParameter.PATH),
            OpenApiParameter("y", int, OpenApiParameter.PATH),
            _VERSION_PARAMETER,
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
    async def get(self, request, **kwargs):
        tile, media_type, headers, body = self.looked_up
        if _etag_matches(request, tile.etag):
            return HttpResponse(status=304, headers=headers)
        if body is None:
            body = await render_limits.in_render_thread(tiles.render_image, tile)
        if _wants_any(request):
            return HttpResponse(status=304, headers=headers)
        return HttpResponse(body, content_type=media_type, headers=headers)


def _prepare_tile(request, user, layer, level, y, x, ext):
    """Everything before pixel work, for a layer found through the grants: every check.

    Returns the prepared tile, its media type and the response headers.
    """
    renderer = _renderer(ext, IMAGE_RENDERERS)
    level, x, y = parse_int("level", level), parse_int("x", x), parse_int("y", y)
    options = parse_render_options(request.GET)
    method = request.GET.get("method", tiles.DEFAULT_METHOD)
    if method not in tiles.METHODS:
        raise BadRequest(f"method must be one of {', '.join(tiles.METHODS)}")
    try:
        index = resolve_tile(grid=tiles.layer_grid(layer), level=level, x=x, y=y, flip=options.flip)
    except OutOfRangeError as error:
        # A tile outside the grid is one that does not exist, not a malformed request.
        raise NotFound(str(error)) from None
    tile = tiles.prepare_tile(layer, index, options=options, method=method, fmt=renderer.format)
    headers = {
        "ETag": tile.etag,
        "Cache-Control": _cache_control(layer, user),
        **derived.response_headers(layer),
    }
    return tile, renderer.media_type, headers


def _prepare_and_read_cache(request, user, *args, **kwargs):
    tile, media_type, headers = _prepare_tile(request, user, *args, **kwargs)
    body = None if _etag_matches(request, tile.etag) else tiles.cached_image(tile)
    return tile, media_type, headers, body


# The data tile's one format: the URL's extension names it, so a later
# encoding gets a new extension and cached copies never mix.
DATA_TILE_EXTENSIONS = {"f32": DATA_TILE_ENCODING}
DATA_TILE_MEDIA_TYPE = "application/octet-stream"


# The float values of a tile for clients that colour them themselves (the
# WebGL viewer). Same grid, grants, caching, ETag/304 and errors as
# ``TileView``. The body is deflated but sent without ``Content-Encoding:
# deflate``: with that header the browser inflates before the script sees
# the bytes, but only if nothing on the way (nginx, a proxy, a cache) has
# dropped or rewritten the header, so the script could not know which bytes
# it holds; and servers have sent "deflate" content-coding both as zlib and
# as raw streams. As plain octets the body is the same bytes everywhere and
# the viewer always inflates it itself with ``DecompressionStream("deflate")``.
class DataTileView(ImageAPIView):
    def initial(self, request, *args, **kwargs):
        """Authentication, permissions and throttles, then the look-up (see ``TileView``)."""
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            layer, rest = self.find_layer(request, kwargs)
            self.looked_up = _prepare_data_tile_and_read_cache(request, request.user, layer, **rest)

    @extend_schema(
        operation_id="layer_data_tile",
        summary="One tile of a layer (SPEC section 5 grid) as float32 values.",
        description="Body: the tile's rows x cols values (row 0 north, RA increasing to the "
        "right, mirrored left-right with flip exactly like the image tile), little-endian "
        "IEEE float32, byte-shuffled (all first bytes, then all second, third and fourth "
        "bytes), compressed as one zlib stream (RFC 1950; DecompressionStream('deflate') in "
        "browsers). No Content-Encoding: the client inflates it. NaN is no data. At the "
        "deepest level the values are the file's float32 values exactly; at coarser levels "
        "each value is the NaN-aware mean (method=mean) or the middle pixel (method=stride) "
        "of an X-Tile-Block-Size square of native pixels. A tile without data answers 404. "
        f"With max_error=E the body is {QUANTISED_ENCODING}: unsigned integers q of "
        "X-Tile-Dtype (uint8, uint16 or uint32), byte-shuffled the same way and deflated; "
        "value = float32(X-Tile-Base + q * X-Tile-Step), the type's largest q is NaN, and "
        "every value is within X-Tile-Max-Error of the exact one. A tile that cannot be held "
        f"within E is sent exact ({DATA_TILE_ENCODING}, X-Tile-Max-Error: 0) with the reason "
        "in X-Tile-Exact-Because.",
        parameters=[
            OpenApiParameter("ext", str, OpenApiParameter.PATH, enum=sorted(DATA_TILE_EXTENSIONS)),
            OpenApiParameter("level", int, OpenApiParameter.PATH),
            OpenApiParameter("x", int, OpenApiParameter.PATH),
            OpenApiParameter("y", int, OpenApiParameter.PATH),
            _VERSION_PARAMETER,
            OpenApiParameter(
                "flip", bool, description="RA increasing to the left (the sky as seen from inside)."
            ),
            OpenApiParameter(
                "method",
                str,
                enum=list(tiles.METHODS),
                description="Coarse levels: NaN-aware block mean (default) or every n-th pixel.",
            ),
            OpenApiParameter(
                "max_error",
                str,
                description="Quantise the values to within this absolute error, in the layer's "
                "units: a finite number > 0, or 'auto' for the layer's default (a tenth of its "
                "pixel noise, or a thousandth of its colour range for a noise-free map). "
                "Absent: exact float32.",
            ),
            OpenApiParameter(
                "X-Tile-Shape",
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description="rows,cols of the tile, e.g. 675,675.",
            ),
            OpenApiParameter(
                "X-Tile-Dtype",
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description=f"{DATA_TILE_DTYPE} (little-endian).",
            ),
            OpenApiParameter(
                "X-Tile-Encoding",
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description=f"{DATA_TILE_ENCODING} or (max_error) {QUANTISED_ENCODING}.",
            ),
            *(
                OpenApiParameter(n, str, OpenApiParameter.HEADER, response=[200], description=doc)
                for n, doc in (
                    ("X-Tile-Max-Error", "With max_error: the bound E, or 0 for an exact tile."),
                    ("X-Tile-Base", f"{QUANTISED_ENCODING}: the value of q = 0."),
                    ("X-Tile-Step", f"{QUANTISED_ENCODING}: the value between q and q + 1."),
                    ("X-Tile-Exact-Because", "Why a tile asked with max_error is exact."),
                )
            ),
            OpenApiParameter(
                "X-Tile-Block-Size",
                int,
                OpenApiParameter.HEADER,
                response=[200],
                description="Native pixels per tile pixel along each axis (1 at the "
                "deepest level; N: each value stands for an N x N block).",
            ),
            OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=[200, 304]),
        ],
        responses={
            (200, DATA_TILE_MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="Byte-shuffled float32, zlib-compressed."
            ),
            304: OpenApiResponse(description="Not modified (If-None-Match matched the ETag)."),
            **_ERRORS,
        },
        tags=["Images"],
    )
    async def get(self, request, **kwargs):
        tile, headers, body = self.looked_up
        if _etag_matches(request, tile.etag):
            return HttpResponse(status=304, headers=headers)
        if body is None:
            body = await render_limits.in_render_thread(tiles.render_data_tile, tile)
        if _wants_any(request):
            return HttpResponse(status=304, headers=headers)
        if tile.max_error is not None:
            headers.update(_quantised_headers(body))
        return HttpResponse(body.body, content_type=DATA_TILE_MEDIA_TYPE, headers=headers)


def _quantised_headers(encoded) -> dict[str, str]:
    """How to read a body asked for with max_error; known only once it is encoded.

    A 304 leaves them out: the client's stored copy has them, and a 304's
    headers would overwrite its stored ones.
    """
    headers = {
        "X-Tile-Dtype": encoded.dtype,
        "X-Tile-Encoding": encoded.encoding,
        # repr: the shortest text that reads back as the same float64.
        "X-Tile-Max-Error": repr(encoded.max_error),
    }
    if encoded.base is not None:
        headers.update({"X-Tile-Base": repr(encoded.base), "X-Tile-Step": repr(encoded.step)})
    if encoded.fallback is not None:
        headers["X-Tile-Exact-Because"] = encoded.fallback
    return headers


def _parse_max_error(name: str, text: str) -> float | str:
    if text == "auto":
        return text
    value = parse_number(name, text)
    if value <= 0:
        raise BadRequest(f"{name} must be 'auto' or a number > 0, got {echo(text)}")
    return value


def _prepare_data_tile(request, user, layer, level, y, x, ext):
    """Every check for a layer found through the grants; the prepared tile and its headers."""
    if ext not in DATA_TILE_EXTENSIONS:
        raise BadRequest(
            f"unknown data tile format {echo(ext)}; use one of {', '.join(DATA_TILE_EXTENSIONS)}"
        )
    level, x, y = parse_int("level", level), parse_int("x", x), parse_int("y", y)
    flip = optional(request.GET, "flip", parse_bool, False)
    method = request.GET.get("method", tiles.DEFAULT_METHOD)
    if method not in tiles.METHODS:
        raise BadRequest(f"method must be one of {', '.join(tiles.METHODS)}")
    try:
        index = resolve_tile(grid=tiles.layer_grid(layer), level=level, x=x, y=y, flip=flip)
    except OutOfRangeError as error:
        raise NotFound(str(error)) from None
    max_error = optional(request.GET, "max_error", _parse_max_error)
    if max_error == "auto":
        max_error = tiles.layer_default_max_error(layer)
    tile = tiles.prepare_data_tile(layer, index, method=method, flip=flip, max_error=max_error)
    # The X-Tile-* headers are listed in settings.CORS_EXPOSE_HEADERS.
    headers = {
        "ETag": tile.etag,
        "Cache-Control": _cache_control(layer, user),
        "X-Tile-Shape": f"{layer.tile_size},{layer.tile_size}",
        "X-Tile-Dtype": DATA_TILE_DTYPE,
        "X-Tile-Encoding": DATA_TILE_EXTENSIONS[ext],
        "X-Tile-Block-Size": str(tile.block_size),
        **derived.response_headers(layer),
    }
    if max_error is not None:
        del headers["X-Tile-Dtype"], headers["X-Tile-Encoding"]
    return tile, headers


def _prepare_data_tile_and_read_cache(request, user, *args, **kwargs):
    tile, headers = _prepare_data_tile(request, user, *args, **kwargs)
    body = None if _etag_matches(request, tile.etag) else tiles.cached_data_tile(tile)
    return tile, headers, body


_CUTOUT_RENDERERS = {**IMAGE_RENDERERS, FITS_RENDERER.format: FITS_RENDERER}


class SubmapView(ImageAPIView):
    throttle_classes = (ExpensiveRateThrottle,)

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
    def get(self, request, **kwargs):
        layer, rest = self.find_layer(request, kwargs)
        left, right, top, bottom, ext = (rest[k] for k in ("left", "right", "top", "bottom", "ext"))
        renderer = _renderer(ext, _CUTOUT_RENDERERS)
        bounds = {
            "left_ra_deg": parse_number("left", left),
            "right_ra_deg": parse_number("right", right),
            "top_dec_deg": parse_number("top", top),
            "bottom_dec_deg": parse_number("bottom", bottom),
        }
        if renderer is not FITS_RENDERER:
            options = parse_render_options(request.GET)
            source = tiles.pixel_source(layer)
            cmap, norm = tiles.normalisation_for(layer, source, options)
        hold = tiles.reserve_cutout(layer, **bounds)
        try:
            cut = tiles.cutout(layer, **bounds)
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
            headers={
                "Content-Disposition": f'inline; filename="{filename}"',
                **derived.response_headers(layer),
            },
        )


class _HeldBodyResponse(HttpResponse):
    """A body whose bytes stay reserved in the in-flight budget until it is sent.

    The ASGI handler closes the response once the server has handed the
    last chunk to the socket (daphne waits for slow readers, see
    ``tilemaker_site.server``) or the client has gone; the finaliser releases
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
    throttle_classes = (ExpensiveRateThrottle,)

    @extend_schema(
        operation_id="layer_histogram",
        summary="128-bin histogram of a layer around its colour range.",
        responses={
            200: HISTOGRAM_RESPONSE,
            404: NOT_FOUND,
        },
        tags=["Images"],
    )
    def get(self, request, **kwargs):
        layer, _ = self.find_layer(request, kwargs)
        histogram = tiles.layer_histogram_cached(layer)
        return Response({"layer_id": layer.layer_id, **histogram})


class LayerLimitsView(ImageAPIView):
    throttle_classes = (ExpensiveRateThrottle,)

    @extend_schema(
        operation_id="layer_limits",
        summary="Colour limits of a layer: min/max, a central percentile, or IRAF's zscale.",
        description=(
            "Computed from the same sample of pixels as the histogram (every pixel of maps "
            "up to 4 million pixels, an even grid over larger ones); NaN is ignored. "
            "`percentile` keeps the central `percent` per cent of the values (99.5 gives the "
            "0.25th and 99.75th percentiles); `zscale` is IRAF's algorithm with its default "
            "parameters (as astropy's `ZScaleInterval`); `minmax` is the sample's extremes."
        ),
        parameters=[
            OpenApiParameter(
                "method",
                OpenApiTypes.STR,
                enum=list(LIMIT_METHODS),
                default="percentile",
                description="How the limits are found.",
            ),
            OpenApiParameter(
                "percent",
                OpenApiTypes.NUMBER,
                default=DEFAULT_PERCENT,
                description=(
                    "For method=percentile only: in (0, 100]; the viewer offers "
                    + ", ".join(f"{value:g}" for value in PERCENT_PRESETS)
                    + "."
                ),
            ),
        ],
        responses={
            200: LIMITS_RESPONSE,
            400: BAD_REQUEST,
            404: NOT_FOUND,
        },
        tags=["Images"],
    )
    def get(self, request, **kwargs):
        layer, _ = self.find_layer(request, kwargs)
        method = request.GET.get("method", "percentile")
        if method not in LIMIT_METHODS:
            raise BadRequest(
                f"method must be one of {', '.join(LIMIT_METHODS)}, got {echo(method)}"
            )
        percent = optional(request.GET, "percent", parse_number)
        if percent is not None and method != "percentile":
            raise BadRequest("percent applies to method=percentile only")
        percent = DEFAULT_PERCENT if percent is None else percent
        if not 0.0 < percent <= 100.0:
            raise BadRequest(f"percent must be within (0, 100], got {percent:g}")
        limits = tiles.layer_limits_cached(layer, method=method, percent=percent)
        return Response({"layer_id": layer.layer_id, **limits})


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
    throttle_classes = (ExpensiveRateThrottle,)

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
        stats = tiles.aperture(layer, ra_deg=ra, dec_deg=dec, radius_arcmin=radius)
        return Response(
            {
                "layer_id": layer.layer_id,
                "ra": ra,
                "dec": dec,
                "radius": radius,
                **{key: float(stats[key]) for key in ("mean", "std", "min", "max")},
            }
        )
