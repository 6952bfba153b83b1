"""Django-side glue between the image endpoints and the engine.

Order of work for every image request: the layer is looked up through
``maps.grants`` first, so nothing cached (or computed) for a layer ever
reaches a caller who may not see it; then cheap validation; then the
cache; then, only on a miss, the engine, inside a bounded gate.

What is cached, through Django's cache (``LocMemCache`` or memcached):

- float tile data, keyed by layer, file version, level, x, y and method.
  Tiles are stored as raw native float32 bytes, split into chunks of at
  most ``CHUNK_BYTES``. A 675 x 675 tile is 1.8 MB, over memcached's
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
  (``RecentImages``, ``TILEMAKER_TILE_MEMORY_MB``).
- histograms, keyed by layer, file version, the layer's vmin/vmax and the
  auto-contrast percentile.
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

import asyncio
import hashlib
import json
import logging
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import cache

from maps.engine import EngineError, NoDataError, TileGrid, TileIndex
from maps.engine.colormap import Normalisation, check_normalisation, colour_indices, lookup_table
from maps.engine.encode import IMAGE_RENDERERS
from maps.engine.histogram import Histogram, layer_histogram
from maps.engine.sources import TILE_METHODS, source_from_provider
from maps.grants import get_visible_or_404
from maps.models import Layer
from maps.paths import DataPathError, resolve_data_path

logger = logging.getLogger("maps.tiles")

# Bump when the meaning of cached bytes changes, so old entries are never read.
CACHE_KEY_VERSION = 1
# Below memcached's default 1 MB item limit with room for its item header.
CHUNK_BYTES = 1_000_000
_CHUNK_HEADER = struct.Struct("<II")  # number of chunks, total length in bytes
DEFAULT_METHOD = "mean"
METHODS = TILE_METHODS
HISTOGRAM_SAMPLE_VALUES = 4_000_000


class LayerUnavailable(EngineError):
    """The layer's file cannot be read now (moved, deleted, outside the data roots)."""


# --- Layer lookup ------------------------------------------------------------


def visible_layer(user, layer_id: str) -> Layer:
    """The layer ``layer_id`` if ``user`` may see it; ``Http404`` (same body) otherwise."""
    return get_visible_or_404(Layer, user, layer_id=layer_id)


def layer_grid(layer: Layer) -> TileGrid:
    """The tile grid stored with the layer: validating a tile needs no file access."""
    return TileGrid(tile_size=layer.tile_size, number_of_levels=layer.number_of_levels)


def pixel_source(layer: Layer):
    """The engine's ``PixelSource`` for ``layer`` (cached by the engine per file version)."""
    try:
        return source_from_provider(layer.provider, path_resolver=resolve_data_path)
    except (DataPathError, EngineError, OSError) as error:
        logger.error("layer %s: data unavailable: %s", layer.layer_id, error)
        raise LayerUnavailable(f"the data of layer {layer.layer_id} cannot be read") from None


# --- Cache keys and chunked values --------------------------------------------


def cache_key(kind: str, *parts: object) -> str:
    """The one cache key builder: a fixed prefix and a SHA-256 of every input.

    ``parts`` may hold str, int, float, bool, None and tuples of them; dicts
    must be passed through ``canonical_json`` first. The result is short
    ASCII without spaces or control characters, valid for memcached whatever
    the layer id or query held.
    """
    material = repr((CACHE_KEY_VERSION, kind, *parts)).encode("utf-8", "backslashreplace")
    return f"tm:{kind}:{hashlib.sha256(material).hexdigest()}"


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _chunk_keys(key: str, count: int) -> list[str]:
    return [f"{key}:{i}" for i in range(count)]


def store_blob(key: str, data) -> None:
    """Store ``data`` (any C-contiguous buffer) under ``key`` in chunks of at most
    ``CHUNK_BYTES``; the first chunk starts with the chunk count and total length."""
    view = memoryview(data).cast("B")
    total = view.nbytes
    count = max(1, -(-total // CHUNK_BYTES))
    chunks = [_CHUNK_HEADER.pack(count, total) + view[:CHUNK_BYTES]]
    chunks += [bytes(view[i * CHUNK_BYTES : (i + 1) * CHUNK_BYTES]) for i in range(1, count)]
    cache.set_many(dict(zip(_chunk_keys(key, count), chunks, strict=True)))


def load_blob(key: str, *, expected_bytes: int = 0) -> memoryview | bytearray | None:
    """The bytes stored by ``store_blob`` (as a bytes-like object), or None when any chunk
    is missing.

    ``expected_bytes`` (when known) lets one round trip fetch every chunk.
    Chunks are copied once into the result, never joined and re-sliced: a
    float tile is 1.8 MB and copies show in the warm-tile time.
    """
    guess = max(1, -(-expected_bytes // CHUNK_BYTES))
    found = cache.get_many(_chunk_keys(key, guess))
    first = found.get(f"{key}:0")
    header = _CHUNK_HEADER.size
    if not isinstance(first, bytes) or len(first) < header:
        return None
    count, total = _CHUNK_HEADER.unpack_from(first)
    if count == 1:
        return memoryview(first)[header:] if len(first) - header == total else None
    if count > guess:
        found.update(cache.get_many(_chunk_keys(key, count)[guess:]))
    blob = bytearray(total)
    position = 0
    for index, chunk_key in enumerate(_chunk_keys(key, count)):
        chunk = found.get(chunk_key)
        if not isinstance(chunk, bytes):
            return None
        part = memoryview(chunk)[header:] if index == 0 else chunk
        if position + len(part) > total:
            return None
        blob[position : position + len(part)] = part
        position += len(part)
    return blob if position == total else None


# --- The concurrency gate ------------------------------------------------------

_render_gate = threading.BoundedSemaphore(settings.MAX_CONCURRENT_RENDERS)


@contextmanager
def render_slot() -> Iterator[None]:
    """Hold one of ``MAX_CONCURRENT_RENDERS`` slots for heavy work.

    Under ASGI every sync request runs in its own thread, without limit: a
    burst of cut-outs would otherwise allocate all at once. Waiting threads
    hold no pixel memory.
    """
    with _render_gate:
        yield


class Busy(Exception):
    """The in-flight byte budget stayed full for ``INFLIGHT_WAIT_SECONDS``."""


class ByteBudget:
    """A byte-counting semaphore: holds reserve bytes, wait while the total would exceed it.

    A single reservation larger than the whole budget is admitted when
    nothing else is held, so no cut-out the pixel cap allows waits forever.
    """

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.held_bytes = 0
        self._changed = threading.Condition()

    def reserve(self, nbytes: int, *, timeout_seconds: float) -> "Hold":
        def room() -> bool:
            return self.held_bytes == 0 or self.held_bytes + nbytes <= self.limit_bytes

        with self._changed:
            if not self._changed.wait_for(room, timeout=timeout_seconds):
                raise Busy
            self.held_bytes += nbytes
        return Hold(self, nbytes)

    def _give_back(self, nbytes: int) -> None:
        with self._changed:
            self.held_bytes -= nbytes
            self._changed.notify_all()


class Hold:
    """Bytes reserved in a ``ByteBudget``; ``shrink`` to what is really held, ``release`` once."""

    def __init__(self, budget: ByteBudget, nbytes: int) -> None:
        self._budget = budget
        self._lock = threading.Lock()
        self.nbytes = nbytes

    def shrink(self, nbytes: int) -> None:
        with self._lock:
            freed, self.nbytes = max(0, self.nbytes - nbytes), min(self.nbytes, nbytes)
        self._budget._give_back(freed)

    def release(self) -> None:
        self.shrink(0)


inflight_budget = ByteBudget(settings.MAX_INFLIGHT_MB * 1024 * 1024)

# Reserved per cut-out pixel until the body is encoded: its float32 value
# (held between the cut and the encoding, outside the render slots) and at
# most 4 bytes of body (float32 FITS; PNG, JPEG and WebP are smaller).
CUTOUT_RESERVED_BYTES_PER_PIXEL = 8
# The FITS header and its padding: a few 2880-byte blocks.
CUTOUT_RESERVED_HEADER_BYTES = 64 * 1024


def reserve_cutout(layer: Layer, **bounds_deg: float) -> Hold:
    """Reserve a cut-out's bytes in ``inflight_budget`` before any pixel is read.

    ``OutOfRangeError`` as ``cutout`` would raise it; ``Busy`` when the
    budget stays full for ``INFLIGHT_WAIT_SECONDS``.
    """
    pixels = pixel_source(layer).cutout_pixels(max_pixels=settings.MAX_CUTOUT_PIXELS, **bounds_deg)
    return inflight_budget.reserve(
        pixels * CUTOUT_RESERVED_BYTES_PER_PIXEL + CUTOUT_RESERVED_HEADER_BYTES,
        timeout_seconds=settings.INFLIGHT_WAIT_SECONDS,
    )


# --- Threads for async views ---------------------------------------------------

# Rendering from async views happens in this fixed pool, at most
# MAX_CONCURRENT_RENDERS at once (as the render gate): waiting requests hold
# no thread and no pixel memory.
_render_threads = ThreadPoolExecutor(
    settings.MAX_CONCURRENT_RENDERS, thread_name_prefix="tiles-render"
)


async def in_render_thread(function: Callable, *args):
    """``function(*args)`` in the render pool, from async code (no database access there)."""
    return await asyncio.get_running_loop().run_in_executor(_render_threads, function, *args)


# --- Encoded tiles kept in this process ------------------------------------------


class RecentImages:
    """The encoded tiles this process served last, at most ``max_bytes`` in all.

    In front of memcached, a warm tile then costs no round trip (a noisy
    675-pixel PNG is ~450 kB, 1-2 ms to fetch). Keys are image keys, which
    name every input including the file version, so an entry is never
    stale; grants are checked before any read, as for the shared cache.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: str) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous)
            self._entries[key] = body
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)


recent_images = RecentImages(settings.TILE_MEMORY_MB * 1024 * 1024)


# --- Tiles -------------------------------------------------------------------

_NO_DATA = b""
_NO_FINITE_PIXEL = "the tile holds no finite pixel"


def tile_data_key(layer: Layer, source, index: TileIndex, method: str) -> str:
    return cache_key(
        "tile",
        layer.layer_id,
        canonical_json(layer.provider),
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
    blob = load_blob(key, expected_bytes=nbytes)
    if blob is not None and len(blob) == 0:
        # Remembered with the engine's reason, so a repeated request gets
        # the same answer as the first.
        reason = cache.get(f"{key}:reason")
        raise NoDataError(reason if isinstance(reason, str) else _NO_FINITE_PIXEL)
    if blob is not None and len(blob) == nbytes:
        return np.frombuffer(blob, dtype=np.float32).reshape(shape)
    if index.level < layer.number_of_levels - 1:
        # Coarse tiles come from the in-memory overview once it exists; its
        # build runs in the engine's background thread and returns at once.
        source.start_overview()
    with render_slot():
        try:
            data = np.ascontiguousarray(
                source.tile(index=index, flip=False, method=method), dtype=np.float32
            )
            if not np.isfinite(data).any():
                raise NoDataError(_NO_FINITE_PIXEL)
        except NoDataError as error:
            cache.set(f"{key}:reason", str(error) or _NO_FINITE_PIXEL)
            store_blob(key, _NO_DATA)
            raise
    store_blob(key, data)
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
    )
    check_normalisation(norm)
    return cmap, norm


def image_key(data_key: str, cmap: str, norm: Normalisation, *, flip: bool, fmt: str) -> str:
    return cache_key(
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
    body = recent_images.get(tile.image_key)
    if body is None:
        cached = load_blob(tile.image_key)
        if not cached:
            return None
        body = bytes(cached)
        recent_images.put(tile.image_key, body)
    return body


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
    with render_slot():
        body = encode_image(data, tile.cmap, tile.norm, flip=tile.flip, fmt=tile.fmt)
    store_blob(tile.image_key, body)
    recent_images.put(tile.image_key, body)
    return body


# --- Histograms ----------------------------------------------------------------


def histogram_key(layer: Layer, source) -> str:
    return cache_key(
        "histogram",
        layer.layer_id,
        canonical_json(layer.provider),
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
    with render_slot():
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


# --- Cut-outs and apertures ---------------------------------------------------


def cutout(layer: Layer, *, left_ra_deg, right_ra_deg, top_dec_deg, bottom_dec_deg):
    """The engine's ``Cutout``; the pixel cap is checked by the engine before allocating."""
    source = pixel_source(layer)
    with render_slot():
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
    with render_slot():
        return IMAGE_RENDERERS[fmt].render(colour_indices(image, norm), lookup_table(cmap))


def aperture(layer: Layer, *, ra_deg: float, dec_deg: float, radius_arcmin: float) -> dict:
    source = pixel_source(layer)
    with render_slot():
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
