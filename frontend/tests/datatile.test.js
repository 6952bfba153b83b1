import assert from "node:assert/strict";
import { test } from "node:test";
import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";

import {
  decodeDataTile,
  dequantise,
  formatBound,
  formatFloat32,
  parseShape,
  unshuffle,
} from "../static/frontend/js/datatile.js";

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

// The quantised encoding, written independently: codes round((v - base) / step)
// in `width` little-endian bytes, the largest code for NaN, plane b byte b.
function encodeQuantised(values, { base, step, width }) {
  const nanCode = 2 ** (8 * width) - 1;
  const shuffled = Buffer.alloc(values.length * width);
  values.forEach((v, i) => {
    let q = Number.isNaN(v) ? nanCode : Math.round((v - base) / step);
    for (let b = 0; b < width; b += 1) {
      shuffled[b * values.length + i] = q % 256;
      q = Math.floor(q / 256);
    }
  });
  return deflateSync(shuffled);
}

function quantisedHeaders(rows, cols, { dtype, base, step, maxError }) {
  return headers(rows, cols, {
    "X-Tile-Encoding": "quantised-shuffle-deflate",
    "X-Tile-Dtype": dtype,
    "X-Tile-Base": String(base),
    "X-Tile-Step": String(step),
    "X-Tile-Max-Error": String(maxError),
  });
}

test("quantised tiles decode within the bound for every code width, NaN stays NaN", async () => {
  for (const [dtype, width, range] of [["uint8", 1, 50], ["uint16", 2, 5000], ["uint32", 4, 5e6]]) {
    const maxError = 0.5;
    const step = 2 * maxError * 0.999;
    const values = Array.from({ length: 7 * 9 }, (_, i) => Math.fround(((i * 7919) % 1000) / 1000 * range - 3));
    values[4] = NaN;
    values[5] = Math.fround(range - 3);
    const base = Math.min(...values.filter((v) => !Number.isNaN(v)));
    const body = encodeQuantised(values, { base, step, width });
    const tile = await decodeDataTile(body, quantisedHeaders(7, 9, { dtype, base, step, maxError }));
    assert.equal(tile.maxError, maxError);
    assert.ok(tile.values instanceof Float32Array);
    values.forEach((v, i) => {
      if (Number.isNaN(v)) assert.ok(Number.isNaN(tile.values[i]));
      else assert.ok(Math.abs(tile.values[i] - v) <= maxError, `${dtype} ${i}: ${tile.values[i]} vs ${v}`);
    });
  }
});

test("a quantised body from the Python encoder decodes to the values it checked", async () => {
  // encode_quantised_tile([[-273.15, 0.1, nan], [1000.5, 3.25, -7.0]], 0.05), float32 input.
  const body = Buffer.from("780163d8f0ffc2f94c06aeff865c5c0027180506", "hex");
  const tile = await decodeDataTile(
    body,
    quantisedHeaders(2, 3, { dtype: "uint16", base: -273.1499938964844, step: 0.0998779296875, maxError: 0.05 }),
  );
  const expected = [-273.1499938964844, 0.11602173000574112, NaN, 1000.4933471679688, 3.212237596511841, -6.975311279296875];
  assert.deepEqual(Array.from(tile.values), expected);
  assert.equal(tile.maxError, 0.05);
});

test("exact tiles state no bound; bad quantised headers are refused", async () => {
  assert.equal((await decodeDataTile(encode([1]), headers(1, 1))).maxError, 0);
  assert.throws(() => dequantise(new Uint8Array(2), "int16", 0, 1), /unknown code dtype/);
  assert.throws(() => dequantise(new Uint8Array(3), "uint16", 0, 1), /whole uint16 codes/);
  assert.throws(() => dequantise(new Uint8Array(2), "uint8", 0, 0), /bad base/);
  assert.throws(() => dequantise(new Uint8Array(2), "uint8", NaN, 1), /bad base/);
});

test("the shown bound has two significant digits and is never below the true one", () => {
  assert.equal(formatBound(3), "3");
  assert.equal(formatBound(0.05), "0.05");
  assert.equal(formatBound(3.0057953), "3.1");
  assert.equal(formatBound(0.80267), "0.81");
  assert.equal(formatBound(1234.5), "1300");
  for (let i = 0; i < 1000; i += 1) {
    const bound = 10 ** (Math.random() * 20 - 10);
    assert.ok(Number(formatBound(bound)) >= bound, `${bound}`);
  }
});
