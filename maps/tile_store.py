"""The tile cache store: the one cache key builder, values split into chunks
under memcached's item limit, and the encoded tiles a process keeps itself.

Why tiles are stored as raw chunks, and what each key names, is told in
``maps.tiles``; this module only knows bytes and keys.
"""

import hashlib
import json
import struct
import threading
from collections import OrderedDict

from django.conf import settings
from django.core.cache import cache

from maps.per_process import PerProcess

# Bump when the meaning of cached bytes changes, so old entries are never read.
CACHE_KEY_VERSION = 1
# Below memcached's default 1 MB item limit with room for its item header.
CHUNK_BYTES = 1_000_000
_CHUNK_HEADER = struct.Struct("<II")  # number of chunks, total length in bytes


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


recent_images = PerProcess(lambda: RecentImages(settings.TILE_MEMORY_MB * 1024 * 1024))


def cached_body(key: str) -> bytes | None:
    """An encoded tile body (image or data) from this process's memory or the shared cache."""
    body = recent_images.get().get(key)
    if body is None:
        cached = load_blob(key)
        if not cached:
            return None
        body = bytes(cached)
        recent_images.get().put(key, body)
    return body
