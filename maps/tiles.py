"""The tile pipeline: Django-side glue between the image endpoints and the engine.

Order of work for every image request: the layer is looked up through
``maps.grants`` first, so nothing cached (or computed) for a layer ever
reaches a caller who may not see it; then cheap validation; then the
cache; then, only on a miss, the engine, inside a bounded gate.

What is cached, through Django's cache (``LocMemCache`` or memcached):

- float tile data, keyed by layer, file version, level, x, y and method.
  Tiles are stored as raw native float32 bytes, split into chunks of at
  most ``tile_store.CHUNK_BYTES``. A 675 x 675 tile is 1.8 MB, over memcached's
  default 1 MB item limit (``-I 1m``). Compressing instead was measured on
  a noisy ACT-like tile: zlib level 1 takes 60-115 ms and saves only 7-17 %
  (byte-shuffled or not), far over the 25 ms a whole tile may cost, while
  storing two raw chunks costs about a millisecond. Starting memcached with
  a larger item size (``memcached -I 4m``) is not needed but harmless.
  Tiles are cached unmirrored; ``flip`` mirrors at colouring time, so both
  orientations share one entry.
- encoded tile images, keyed by the tile's data key plus every colouring
  parameter and the format, so repeated requests skip colouring too; the
  ETag is a digest of that key, known before any pixel is touched. With
  memcached, each process also keeps the images it served last
  (``tile_store.RecentImages``, ``TILEMAKER_TILE_MEMORY_MB``).
- histograms, keyed by layer, file version, the layer's vmin/vmax and the
  auto-contrast percentile.
- colour limits (min/max, percentile, zscale), keyed by layer, file version,
  method and percent.
- "no data" answers for tiles, as a zero-chunk entry with the engine's
  reason beside it, so the many empty tiles around a partial-sky map cost
  one cache read and get the same answer every time.

When memcached is down or hung, the client is configured with
``ignore_exc`` and sub-second timeouts (settings.py): reads miss, writes
are dropped, and the engine answers from disk. The process's shared client
(``tilemaker_site.cache``) then skips the failed server for
``TILEMAKER_MEMCACHED_RETRY_SECONDS``, so a hung memcached costs one
timeout, not one per request.
"""

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from django.conf import settings
from django.core.cache import cache

from maps import render_limits, tile_store
from maps.engine import EngineError, FileChangedError, NoDataError, TileGrid, TileIndex
from maps.engine.colormap import Normalisation, check_normalisation, colour_indices, lookup_table
from maps.engine.datatile import (
    DATA_TILE_DTYPE,
    DATA_TILE_ENCODING,
    EncodedDataTile,
    default_max_error,
    encode_data_tile,
    encode_quantised_tile,
    pixel_noise,
)
from maps.engine.encode import IMAGE_RENDERERS
from maps.engine.histogram import Histogram, layer_histogram
from maps.engine.limits import layer_limits
from maps.engine.sources import TILE_METHODS, source_from_provider
from maps.engine.stretch import DEFAULT_ASINH_A, DEFAULT_GAMMA, histeq_table
from maps.grants import get_visible_or_404
from maps.models import Layer
from maps.paths import DataPathError, resolve_data_path

logger = logging.getLogger("maps.tiles")

DEFAULT_METHOD = "mean"
METHODS = TILE_METHODS
HISTOGRAM_SAMPLE_VALUES = 4_000_000


class LayerUnavailable(EngineError):
    """The layer's file cannot be read now (moved, deleted, truncated, outside the data
    roots). Its message names the layer, never the path."""


# --- Layer lookup ------------------------------------------------------------


def visible_layer(user, layer_id: str) -> Layer:
    """The layer ``layer_id`` if ``user`` may see it; ``Http404`` (same body) otherwise."""
    return get_visible_or_404(Layer, user, layer_id=layer_id)


def layer_grid(layer: Layer) -> TileGrid:
    """The tile grid stored with the layer: validating a tile needs no file access."""
    return TileGrid(tile_size=layer.tile_size, number_of_levels=layer.number_of_levels)


def pixel_source(layer: Layer):
    """The engine's ``PixelSource`` for ``layer`` (cached by the engine per file version).

    A derived layer (``maps.derived``) carries its source, built from its inputs'.
    """
    derived = getattr(layer, "derived", None)
    if derived is not None:
        return derived.source
    try:
        return source_from_provider(layer.provider, path_resolver=resolve_data_path)
    except FileChangedError:
        raise
    except (DataPathError, EngineError, OSError) as error:
        logger.error("layer %s: data unavailable: %s", layer.layer_id, error)
        raise LayerUnavailable(
            f"the map file of layer {layer.layer_id} is not readable now"
        ) from None


# Reserved per cut-out pixel until the body is encoded: its float32 value
# (held between the cut and the encoding, outside the render slots) and at
# most 4 bytes of body (float32 FITS; PNG, JPEG and WebP are smaller).
CUTOUT_RESERVED_BYTES_PER_PIXEL = 8
# The FITS header and its padding: a few 2880-byte blocks.
CUTOUT_RESERVED_HEADER_BYTES = 64 * 1024


def reserve_cutout(layer: Layer, **bounds_deg: float) -> render_limits.Hold:
    """Reserve a cut-out's bytes in ``inflight_budget`` before any pixel is read.

    ``OutOfRangeError`` as ``cutout`` would raise it; ``Busy`` when the
    budget stays full for ``INFLIGHT_WAIT_SECONDS``.
    """
    pixels = pixel_source(layer).cutout_pixels(max_pixels=settings.MAX_CUTOUT_PIXELS, **bounds_deg)
    return render_limits.inflight_budget.get().reserve(
        pixels * CUTOUT_RESERVED_BYTES_PER_PIXEL + CUTOUT_RESERVED_HEADER_BYTES,
        timeout_seconds=settings.INFLIGHT_WAIT_SECONDS,
    )


# --- Tiles -------------------------------------------------------------------

_NO_DATA = b""
_NO_FINITE_PIXEL = "the tile holds no finite pixel"


def tile_data_key(layer: Layer, source, index: TileIndex, method: str) -> str:
    return tile_store.cache_key(
        "tile",
        layer.layer_id,
        tile_store.canonical_json(layer.provider),
        source.version,
        index.level,
        index.x,
        index.y,
        method,
    )


def tile_data(layer: Layer, source, index: TileIndex, method: str) -> np.ndarray:
    """Float tile (unmirrored, row 0 north) from the cache or the engine.

    Raises
    ------
    NoDataError
        When the tile holds no finite pixel (remembered in the cache too).
    """
    key = tile_data_key(layer, source, index, method)
    shape = (layer.tile_size, layer.tile_size)
    nbytes = shape[0] * shape[1] * 4
    blob = tile_store.load_blob(key, expected_bytes=nbytes)
    if blob is not None and len(blob) == 0:
        # Remembered with the engine's reason, so a repeated request gets
        # the same answer as the first.
        reason = cache.get(f"{key}:reason")
        raise NoDataError(reason if isinstance(reason, str) else _NO_FINITE_PIXEL)
    if blob is not None and len(blob) == nbytes:
        return np.frombuffer(blob, dtype=np.float32).reshape(shape)
    if index.level < layer.number_of_levels - 1:
        # Coarse tiles come from the in-memory overview once it exists; its
        # build runs in the engine's background thread and returns at once;
        # a tile that would cost more than the build waits for it (HEALPix),
        # here and not in the render slot, which native tiles need meanwhile.
        source.start_overview()
        source.wait_for_overview(level=index.level)
    with render_limits.render_slot():
        try:
            data = np.ascontiguousarray(
                source.tile(index=index, flip=False, method=method), dtype=np.float32
            )
            if not np.isfinite(data).any():
                raise NoDataError(_NO_FINITE_PIXEL)
        except NoDataError as error:
            cache.set(f"{key}:reason", str(error) or _NO_FINITE_PIXEL)
            tile_store.store_blob(key, _NO_DATA)
            raise
    tile_store.store_blob(key, data)
    return data


@dataclass(frozen=True, kw_only=True)
class RenderOptions:
    """Colouring parameters from a query string; ``None`` means the layer's own."""

    cmap: str | None = None
    vmin: float | None = None
    vmax: float | None = None
    log_norm: bool = False
    absolute: bool = False
    clip: bool = False
    flip: bool = False
    stretch: str = "linear"
    asinh_a: float = DEFAULT_ASINH_A
    gamma: float = DEFAULT_GAMMA


def normalisation_for(layer: Layer, source, options: RenderOptions) -> tuple[str, Normalisation]:
    """Resolve defaults (the layer's cmap and range, its histogram for "auto") and validate.

    Raises ``ValueError`` (a 400) for an unknown cmap or an unusable range.
    """
    cmap = options.cmap or layer.cmap
    lookup_table(cmap)
    vmin, vmax = options.vmin, options.vmax
    if vmin is None:
        vmin = layer.vmin
    if vmax is None:
        vmax = layer.vmax
    histogram = None
    if vmin is None or vmax is None:
        histogram = layer_histogram_cached(layer, source)
        vmin = histogram["vmin"] if vmin is None else vmin
        vmax = histogram["vmax"] if vmax is None else vmax
    norm = Normalisation(
        vmin=float(vmin),
        vmax=float(vmax),
        log_norm=options.log_norm,
        absolute=options.absolute,
        clip=options.clip,
        stretch=options.stretch,
        asinh_a=options.asinh_a,
        gamma=options.gamma,
    )
    if options.stretch == "histeq":
        # Checked first: the histogram is not read for a range that cannot colour.
        check_normalisation(replace(norm, stretch="linear"))
        histogram = histogram or layer_histogram_cached(layer, source)
        # The layer's histogram counts values, not |values|: with ``abs`` the
        # curve is that of the values within vmin..vmax as they are.
        norm = replace(
            norm,
            histeq=histeq_table(
                histogram["edges"],
                histogram["histogram"],
                vmin=norm.vmin,
                vmax=norm.vmax,
                log_norm=norm.log_norm,
            ),
        )
    check_normalisation(norm)
    return cmap, norm


def image_key(data_key: str, cmap: str, norm: Normalisation, *, flip: bool, fmt: str) -> str:
    return tile_store.cache_key(
        "image",
        data_key,
        cmap,
        norm.vmin,
        norm.vmax,
        norm.log_norm,
        norm.absolute,
        norm.clip,
        flip,
        fmt,
        norm.stretch,
        norm.asinh_a,
        norm.gamma,
        # The curve itself, not only "histeq": it follows the layer's
        # histogram, which changes with the layer's own range.
        norm.histeq,
    )


def etag_for(key: str) -> str:
    """A strong ETag derived from a cache key (no rendering needed)."""
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def encode_image(
    data: np.ndarray, cmap: str, norm: Normalisation, *, flip: bool, fmt: str
) -> bytes:
    """Colour ``data`` (row 0 north) and encode it, mirrored left-right when ``flip``."""
    view = data[:, ::-1] if flip else data
    return IMAGE_RENDERERS[fmt].render(colour_indices(view, norm), lookup_table(cmap))


@dataclass(frozen=True)
class PreparedTile:
    """What a tile request resolved to before any pixel work: enough for an ETag / 304."""

    layer: Layer
    source: object
    index: TileIndex
    method: str
    cmap: str
    norm: Normalisation
    flip: bool
    fmt: str
    data_key: str
    image_key: str

    @property
    def etag(self) -> str:
        return etag_for(self.image_key)


def prepare_tile(
    layer: Layer, index: TileIndex, *, options: RenderOptions, method: str, fmt: str
) -> PreparedTile:
    source = pixel_source(layer)
    cmap, norm = normalisation_for(layer, source, options)
    data_key = tile_data_key(layer, source, index, method)
    return PreparedTile(
        layer=layer,
        source=source,
        index=index,
        method=method,
        cmap=cmap,
        norm=norm,
        flip=options.flip,
        fmt=fmt,
        data_key=data_key,
        image_key=image_key(data_key, cmap, norm, flip=options.flip, fmt=fmt),
    )


def cached_image(tile: PreparedTile) -> bytes | None:
    """The encoded tile if this process or the image cache holds it."""
    return tile_store.cached_body(tile.image_key)


def tile_image(tile: PreparedTile) -> bytes:
    """The encoded tile, from the image cache or coloured from (cached) float data.

    Raises ``NoDataError`` for a tile without finite pixels.
    """
    cached = cached_image(tile)
    return cached if cached is not None else render_image(tile)


def render_image(tile: PreparedTile) -> bytes:
    """Colour and encode the tile from (cached) float data, and cache the image.

    Raises ``NoDataError`` for a tile without finite pixels.
    """
    data = tile_data(tile.layer, tile.source, tile.index, tile.method)
    with render_limits.render_slot():
        body = encode_image(data, tile.cmap, tile.norm, flip=tile.flip, fmt=tile.fmt)
    tile_store.store_blob(tile.image_key, body)
    tile_store.recent_images.get().put(tile.image_key, body)
    return body


# --- Data tiles ----------------------------------------------------------------


@dataclass(frozen=True)
class PreparedDataTile:
    """A data tile request resolved before any pixel work: enough for an ETag / 304.

    ``max_error`` None asks for the exact float32 tile, a number E > 0 for
    a quantised one (``maps.engine.datatile.encode_quantised_tile``).
    """

    layer: Layer
    source: object
    index: TileIndex
    method: str
    flip: bool
    data_key: str
    body_key: str
    max_error: float | None = None

    @property
    def etag(self) -> str:
        return etag_for(self.body_key)

    @property
    def block_size(self) -> int:
        """Native pixels per tile pixel along each axis (1 at the deepest level)."""
        return layer_grid(self.layer).block_factor(self.index.level)


def prepare_data_tile(
    layer: Layer, index: TileIndex, *, method: str, flip: bool, max_error: float | None = None
) -> PreparedDataTile:
    source = pixel_source(layer)
    data_key = tile_data_key(layer, source, index, method)
    # The exact tile keeps its key; a quantised one adds E (repr: every bit).
    encoding = DATA_TILE_ENCODING if max_error is None else f"quantised {max_error!r}"
    return PreparedDataTile(
        layer=layer,
        source=source,
        index=index,
        method=method,
        flip=flip,
        data_key=data_key,
        body_key=tile_store.cache_key("data-tile", data_key, flip, encoding),
        max_error=max_error,
    )


def _exact(body: bytes) -> EncodedDataTile:
    return EncodedDataTile(body, DATA_TILE_ENCODING, DATA_TILE_DTYPE, 0.0, None, None)


# A quantised body is cached with its decoding parameters in front: one
# line of JSON, then the body (JSON never holds a raw newline).
def _pack(tile: EncodedDataTile) -> bytes:
    fields = {name: getattr(tile, name) for name in ("encoding", "dtype", "max_error")}
    fields.update(base=tile.base, step=tile.step, fallback=tile.fallback)
    return json.dumps(fields).encode() + b"\n" + tile.body


def _unpack(packed: bytes) -> EncodedDataTile:
    line, body = bytes(packed).split(b"\n", 1)
    return EncodedDataTile(body=body, **json.loads(line))


def cached_data_tile(tile: PreparedDataTile) -> EncodedDataTile | None:
    """The encoded data tile if this process or the cache holds it."""
    body = tile_store.cached_body(tile.body_key)
    if body is None:
        return None
    return _exact(body) if tile.max_error is None else _unpack(body)


def render_data_tile(tile: PreparedDataTile) -> EncodedDataTile:
    """Encode the tile's float values (mirrored for ``flip``, as ``encode_image``) and cache them.

    Encoded bodies are cached beside the float tile although they hold the
    same values: deflating costs about 30 ms per 675-pixel tile, reading
    them back a millisecond. Raises ``NoDataError`` for a tile without
    finite pixels.
    """
    data = tile_data(tile.layer, tile.source, tile.index, tile.method)
    with render_limits.render_slot():
        shown = data[:, ::-1] if tile.flip else data
        if tile.max_error is None:
            encoded = _exact(encode_data_tile(shown))
            stored = encoded.body
        else:
            encoded = encode_quantised_tile(shown, tile.max_error)
            stored = _pack(encoded)
    tile_store.store_blob(tile.body_key, stored)
    tile_store.recent_images.get().put(tile.body_key, stored)
    return encoded


# Pairs of horizontally neighbouring pixels for the noise estimate: on a
# grid over the whole map like the histogram's sample (whose pixels are too
# far apart to be neighbours). 20 000 pairs estimate the noise to 1 %.
NOISE_SAMPLE_PAIRS = 20_000


def layer_default_max_error(layer: Layer, source=None) -> float:
    """The layer's default data tile error bound (``max_error=auto``), cached.

    ``maps.engine.datatile.default_max_error`` of the layer's pixel noise
    (neighbouring native pixels on an even grid) and its histogram's range.
    Raises ``NoDataError`` when the layer has no finite pixel.
    """
    source = source if source is not None else pixel_source(layer)
    key = tile_store.cache_key("default-max-error", histogram_key(layer, source))
    cached = cache.get(key)
    if isinstance(cached, float):
        return cached
    histogram = layer_histogram_cached(layer, source)
    ny, nx = source.info.shape
    step = max(2, math.ceil(math.sqrt(ny * (nx - 1) / NOISE_SAMPLE_PAIRS)))
    rows, cols = np.arange(step // 2, ny, step), np.arange(step // 2, nx - 1, step)
    with render_limits.render_slot():
        pairs = source.take(rows=rows, cols=np.stack([cols, cols + 1], axis=1).ravel())
        noise = pixel_noise(pairs[:, 0::2], pairs[:, 1::2])
    answer = default_max_error(noise=noise, vmin=histogram["vmin"], vmax=histogram["vmax"])
    cache.set(key, answer)
    return answer


# --- Histograms ----------------------------------------------------------------


def histogram_key(layer: Layer, source) -> str:
    return tile_store.cache_key(
        "histogram",
        layer.layer_id,
        tile_store.canonical_json(layer.provider),
        source.version,
        layer.vmin,
        layer.vmax,
        settings.AUTO_CONTRAST_PERCENTILE,
    )


def layer_histogram_cached(layer: Layer, source=None) -> dict:
    """``{vmin, vmax, edges, histogram}`` of a layer (SPEC section 6), cached.

    Raises ``NoDataError`` when the layer has no finite pixel and its range is "auto".
    """
    source = source if source is not None else pixel_source(layer)
    key = histogram_key(layer, source)
    cached = cache.get(key)
    if isinstance(cached, dict):
        return cached
    with render_limits.render_slot():
        sample = source.histogram_sample(max_values=HISTOGRAM_SAMPLE_VALUES)
        result: Histogram = layer_histogram(
            sample,
            vmin=layer.vmin,
            vmax=layer.vmax,
            auto_percentile=settings.AUTO_CONTRAST_PERCENTILE,
        )
    answer = {
        "vmin": result.vmin,
        "vmax": result.vmax,
        "edges": result.edges.tolist(),
        "histogram": result.counts.tolist(),
    }
    cache.set(key, answer)
    return answer


def layer_limits_cached(layer: Layer, *, method: str, percent: float) -> dict:
    """``{method, vmin, vmax}`` of a layer by ``maps.engine.limits``, cached.

    Computed from the histogram's sample (every pixel of maps up to
    ``HISTOGRAM_SAMPLE_VALUES`` pixels, an even grid over larger ones), so
    ``minmax`` is the sample's. ``percent`` is part of the key for
    ``percentile`` only. Raises ``NoDataError`` when the layer has no finite
    pixel, ``ValueError`` for an unknown method or a percent out of range.
    """
    source = pixel_source(layer)
    key = tile_store.cache_key(
        "limits",
        layer.layer_id,
        tile_store.canonical_json(layer.provider),
        source.version,
        method,
        percent if method == "percentile" else None,
    )
    cached = cache.get(key)
    if isinstance(cached, dict):
        return cached
    with render_limits.render_slot():
        sample = source.histogram_sample(max_values=HISTOGRAM_SAMPLE_VALUES)
        vmin, vmax = layer_limits(sample, method=method, percent=percent)
    answer = {"method": method, "vmin": vmin, "vmax": vmax}
    cache.set(key, answer)
    return answer


# --- Cut-outs and apertures ---------------------------------------------------


def cutout(layer: Layer, *, left_ra_deg, right_ra_deg, top_dec_deg, bottom_dec_deg):
    """The engine's ``Cutout``; the pixel cap is checked by the engine before allocating."""
    source = pixel_source(layer)
    with render_limits.render_slot():
        return source.cutout(
            left_ra_deg=left_ra_deg,
            right_ra_deg=right_ra_deg,
            top_dec_deg=top_dec_deg,
            bottom_dec_deg=bottom_dec_deg,
            max_pixels=settings.MAX_CUTOUT_PIXELS,
        )


def encode_cutout(cut, cmap: str, norm: Normalisation, *, flip: bool, fmt: str) -> bytes:
    """A cut-out as an image: north up, RA increasing to the right unless ``flip`` (as tiles)."""
    ra_increases_right = float(cut.header["CDELT1"]) > 0
    image = cut.image if ra_increases_right != flip else cut.image[:, ::-1]
    with render_limits.render_slot():
        return IMAGE_RENDERERS[fmt].render(colour_indices(image, norm), lookup_table(cmap))


def aperture(layer: Layer, *, ra_deg: float, dec_deg: float, radius_arcmin: float) -> dict:
    source = pixel_source(layer)
    with render_limits.render_slot():
        return source.aperture(
            ra_deg=ra_deg,
            dec_deg=dec_deg,
            radius_arcmin=radius_arcmin,
            max_radius_arcmin=settings.MAX_APERTURE_RADIUS_ARCMIN,
        )


# --- Pre-caching ----------------------------------------------------------------


def precache_all(log: Callable[[str], None] = print, *, force: bool = False) -> None:
    """Warm the cache: every layer's overview, histogram and level-0 tiles (SPEC section 7).

    Does nothing unless ``settings.PRECACHE`` (or ``force``). Runs without a
    request, so without grants: the cache holds them for everyone, and each
    request still checks grants before reading it. Reports each layer and
    the total time through ``log``.
    """
    if not (settings.PRECACHE or force):
        log("precache: skipped (TILEMAKER_PRECACHE=no)")
        return
    started = time.perf_counter()
    layers = list(Layer.objects.order_by("id"))
    log(f"precache: {len(layers)} layer(s): overviews, histograms and level-0 tiles")
    tiles_done = 0
    for layer in layers:
        layer_started = time.perf_counter()
        try:
            source = pixel_source(layer)
            try:
                # Built here, before the level-0 tiles that then cost nothing;
                # computing those from the file would take seconds each.
                source.build_overview()
            except EngineError as error:
                log(f"precache: {layer.layer_id}: no overview ({error})")
            layer_histogram_cached(layer, source)
            for x in range(2):
                try:
                    tile_data(layer, source, TileIndex(level=0, x=x, y=0), DEFAULT_METHOD)
                    tiles_done += 1
                except NoDataError:
                    pass
        except EngineError as error:
            log(f"precache: {layer.layer_id}: skipped ({error})")
            continue
        except Exception as error:
            # Warm-up runs unattended at start-up: one layer's unexpected failure
            # (a MemoryError, a bug) must not leave every later layer cold.
            logger.exception("precache: layer %s failed", layer.layer_id)
            log(f"precache: {layer.layer_id}: skipped ({type(error).__name__}: {error})")
            continue
        log(f"precache: {layer.layer_id} in {time.perf_counter() - layer_started:.2f} s")
    log(
        f"precache: done, {len(layers)} layer(s), {tiles_done} tile(s) "
        f"in {time.perf_counter() - started:.2f} s"
    )
