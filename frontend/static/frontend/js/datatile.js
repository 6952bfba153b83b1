// Data tiles (GET /layers/{id}/{z}/{y}/{x}/data.f32): little-endian float32
// values, byte-shuffled (all bytes 0, then all bytes 1, ...) and deflated as
// one zlib stream. Shuffling puts the slowly varying exponent bytes together,
// which is what makes deflate pay off (bench/bench_data_tiles.py).

export const DATA_TILE_ENCODING = "float32-shuffle-deflate";
const BYTES_PER_VALUE = 4;

// Inflate a zlib ("deflate" in the Compression Streams spec) body.
export async function inflate(body) {
  const blob = body instanceof Blob ? body : new Blob([body]);
  const stream = blob.stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Shuffled bytes back to float32 values. DataView reads little-endian
// explicitly, so the result is right on any host byte order.
export function unshuffle(bytes) {
  if (bytes.length % BYTES_PER_VALUE !== 0) {
    throw new Error(`a data tile holds whole float32 values; got ${bytes.length} bytes`);
  }
  const count = bytes.length / BYTES_PER_VALUE;
  const ordered = new Uint8Array(bytes.length);
  for (let b = 0; b < BYTES_PER_VALUE; b += 1) {
    const plane = bytes.subarray(b * count, (b + 1) * count);
    for (let i = 0; i < count; i += 1) ordered[i * BYTES_PER_VALUE + b] = plane[i];
  }
  const view = new DataView(ordered.buffer);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i += 1) values[i] = view.getFloat32(i * BYTES_PER_VALUE, true);
  return values;
}

// "rows,cols" of the X-Tile-Shape header.
export function parseShape(header) {
  const parts = String(header || "").split(",").map(Number);
  if (parts.length !== 2 || !parts.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`bad X-Tile-Shape ${JSON.stringify(header)}`);
  }
  return { rows: parts[0], cols: parts[1] };
}

// A whole tile: `body` the response body (Blob, ArrayBuffer or bytes) and
// `headers` its headers (anything with get()). Row 0 is the top of the tile.
export async function decodeDataTile(body, headers) {
  const encoding = headers.get("X-Tile-Encoding");
  if (encoding !== DATA_TILE_ENCODING) throw new Error(`unknown data tile encoding ${JSON.stringify(encoding)}`);
  const { rows, cols } = parseShape(headers.get("X-Tile-Shape"));
  const values = unshuffle(await inflate(body));
  if (values.length !== rows * cols) {
    throw new Error(`data tile has ${values.length} values, not ${rows} x ${cols}`);
  }
  const blockSize = Number(headers.get("X-Tile-Block-Size") || 1);
  return { values, rows, cols, blockSize };
}

// The shortest decimal that reads back as the same float32: the file's value
// exactly, without the float64 noise of the widened number.
export function formatFloat32(value) {
  if (!Number.isFinite(value)) return String(value);
  for (let digits = 1; digits < 9; digits += 1) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(Number(value.toPrecision(9)));
}
