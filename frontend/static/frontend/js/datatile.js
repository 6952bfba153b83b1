// Data tiles (GET /layers/{id}/{z}/{y}/{x}/data.f32): little-endian float32
// values, byte-shuffled (all bytes 0, then all bytes 1, ...) and deflated as
// one zlib stream. Shuffling puts the slowly varying exponent bytes together,
// which is what makes deflate pay off (bench/bench_data_tiles.py).
// With ?max_error=E: unsigned integer codes q (X-Tile-Dtype), shuffled and
// deflated the same way; value = float32(base + q * step), the type's
// largest code NaN, every value within X-Tile-Max-Error of the file's.

export const DATA_TILE_ENCODING = "float32-shuffle-deflate";
export const QUANTISED_ENCODING = "quantised-shuffle-deflate";
const BYTES_PER_VALUE = 4;
const CODE_BYTES = { uint8: 1, uint16: 2, uint32: 4 };

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

// Shuffled little-endian unsigned codes of `dtype` back to float32 values:
// base + q * step in float64 (as the server checked them), rounded to
// float32 on storing; the largest code is NaN.
export function dequantise(bytes, dtype, base, step) {
  const width = CODE_BYTES[dtype];
  if (!width) throw new Error(`unknown code dtype ${JSON.stringify(dtype)}`);
  if (!Number.isFinite(base) || !(step > 0)) throw new Error(`bad base ${base} or step ${step}`);
  if (bytes.length % width !== 0) throw new Error(`a data tile holds whole ${dtype} codes; got ${bytes.length} bytes`);
  const count = bytes.length / width;
  const nanCode = 2 ** (8 * width) - 1;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i += 1) {
    let q = 0;
    // Byte plane b is byte b (least significant first) of every code.
    for (let b = width - 1; b >= 0; b -= 1) q = q * 256 + bytes[b * count + i];
    values[i] = q === nanCode ? NaN : base + q * step;
  }
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
// `maxError` is the bound on |value - file's value|, 0 for exact values.
export async function decodeDataTile(body, headers) {
  const encoding = headers.get("X-Tile-Encoding");
  if (encoding !== DATA_TILE_ENCODING && encoding !== QUANTISED_ENCODING) {
    throw new Error(`unknown data tile encoding ${JSON.stringify(encoding)}`);
  }
  const { rows, cols } = parseShape(headers.get("X-Tile-Shape"));
  const bytes = await inflate(body);
  const quantised = encoding === QUANTISED_ENCODING;
  const values = quantised
    ? dequantise(bytes, headers.get("X-Tile-Dtype"), Number(headers.get("X-Tile-Base")), Number(headers.get("X-Tile-Step")))
    : unshuffle(bytes);
  if (values.length !== rows * cols) {
    throw new Error(`data tile has ${values.length} values, not ${rows} x ${cols}`);
  }
  const blockSize = Number(headers.get("X-Tile-Block-Size") || 1);
  const maxError = quantised ? Number(headers.get("X-Tile-Max-Error")) : 0;
  return { values, rows, cols, blockSize, maxError };
}

// The error bound as the readout shows it: two significant digits, rounded up
// so the shown bound is never smaller than the true one.
export function formatBound(maxError) {
  const exponent = Math.floor(Math.log10(maxError)) - 1;
  const rounded = Math.ceil(maxError / 10 ** exponent) * 10 ** exponent;
  return String(Number(rounded.toPrecision(2)));
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
