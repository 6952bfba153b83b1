import assert from "node:assert/strict";
import { test } from "node:test";
import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";

import { decodeDataTile, formatFloat32, parseShape, unshuffle } from "../static/frontend/js/datatile.js";

// The server's encoding, written independently: little-endian float32,
// byte plane b holding byte b of every value, one zlib stream.
function encode(values) {
  const raw = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => raw.writeFloatLE(v, i * 4));
  const shuffled = Buffer.alloc(raw.length);
  for (let i = 0; i < values.length; i += 1) {
    for (let b = 0; b < 4; b += 1) shuffled[b * values.length + i] = raw[i * 4 + b];
  }
  return deflateSync(shuffled);
}

function headers(rows, cols, extra = {}) {
  return new Headers({
    "X-Tile-Shape": `${rows},${cols}`,
    "X-Tile-Encoding": "float32-shuffle-deflate",
    "X-Tile-Block-Size": "1",
    ...extra,
  });
}

const SPECIAL = [NaN, -0, 0, Infinity, -Infinity, 1.5, -273.15, 3.4028234663852886e38, 1e-45, 1.17549435e-38];

test("round trip is exact, bit for bit, including NaN, -0, inf and subnormals", async () => {
  const values = Float32Array.from({ length: 6 * 5 }, (_, i) => SPECIAL[i % SPECIAL.length] * (1 + i / 7));
  values[0] = NaN;
  values[1] = -0;
  const tile = await decodeDataTile(encode(Array.from(values)), headers(6, 5, { "X-Tile-Block-Size": "4" }));
  assert.equal(tile.rows, 6);
  assert.equal(tile.cols, 5);
  assert.equal(tile.blockSize, 4);
  assert.deepEqual(new Uint32Array(tile.values.buffer), new Uint32Array(values.buffer));
  assert.ok(Number.isNaN(tile.values[0]));
  assert.ok(Object.is(tile.values[1], -0));
});

test("byte layout: plane b holds byte b of every value", () => {
  // 1.0f is 00 00 80 3f and 2.0f is 00 00 00 40 in little-endian order.
  const bytes = Uint8Array.from([0, 0, 0, 0, 0x80, 0, 0x3f, 0x40]);
  assert.deepEqual(Array.from(unshuffle(bytes)), [1, 2]);
});

test("a blob body decodes like a buffer", async () => {
  const tile = await decodeDataTile(new Blob([encode([7, NaN, -1])]), headers(1, 3));
  assert.deepEqual(Array.from(tile.values), [7, NaN, -1]);
});

test("bad bodies and headers are refused with a reason", async () => {
  assert.throws(() => unshuffle(new Uint8Array(7)), /whole float32 values/);
  assert.throws(() => parseShape("3"), /X-Tile-Shape/);
  assert.throws(() => parseShape("0,4"), /X-Tile-Shape/);
  await assert.rejects(decodeDataTile(encode([1, 2, 3]), headers(2, 2)), /3 values, not 2 x 2/);
  await assert.rejects(
    decodeDataTile(encode([1]), headers(1, 1, { "X-Tile-Encoding": "float16" })),
    /unknown data tile encoding/,
  );
  await assert.rejects(decodeDataTile(Uint8Array.from([1, 2, 3]), headers(1, 1)));
});

test("float32 values print as the shortest decimal that reads back exactly", () => {
  assert.equal(formatFloat32(Math.fround(0.1)), "0.1");
  assert.equal(formatFloat32(Math.fround(-273.15)), "-273.15");
  assert.equal(formatFloat32(Math.fround(1 / 3)), "0.33333334");
  assert.equal(formatFloat32(Math.fround(16777217)), "16777216");
  assert.equal(formatFloat32(Math.fround(1e-45)), "1e-45");
  assert.equal(formatFloat32(Math.fround(3.4028234663852886e38)), "3.4028235e+38");
  assert.equal(formatFloat32(-Infinity), "-Infinity");
  for (let i = 0; i < 2000; i += 1) {
    const v = Math.fround((Math.random() - 0.5) * 10 ** (Math.random() * 60 - 30));
    assert.equal(Math.fround(Number(formatFloat32(v))), v);
  }
});
