import assert from "node:assert/strict";
import { test } from "node:test";

import { blockNote, PENDING, planeTexts, readoutPlanes, valueText } from "../static/frontend/js/planes.js";

const IQU = { I: "f090-i", Q: "f090-q", U: "f090-u" };

test("an I/Q/U layer reads out its band's planes in I, Q, U order, marking itself", () => {
  const planes = readoutPlanes({ layer_id: "f090-q", stokes: "Q", stokes_layers: { U: "f090-u", Q: "f090-q", I: "f090-i" } });
  assert.deepEqual(planes, [
    { plane: "I", layerId: "f090-i", active: false },
    { plane: "Q", layerId: "f090-q", active: true },
    { plane: "U", layerId: "f090-u", active: false },
  ]);
});

test("a layer alone in its band, or not a Stokes plane, reads out one value", () => {
  assert.deepEqual(readoutPlanes({ layer_id: "a", stokes: null, stokes_layers: {} }), []);
  assert.deepEqual(readoutPlanes({ layer_id: "f090-i", stokes: "I", stokes_layers: { I: "f090-i" } }), []);
  assert.deepEqual(readoutPlanes({ layer_id: "old" }), []);
});

test("values are the float32 exactly, with the tile's error when lossy", () => {
  assert.equal(valueText({ value: Math.fround(0.1) }), "0.1");
  assert.equal(valueText({ value: NaN }), "no data");
  // The bound is rounded up: the shown one is never tighter than the true one.
  assert.equal(valueText({ value: Math.fround(2.5), maxError: 0.0123 }), "2.5 \u00b1 0.013");
  assert.equal(valueText({ value: Math.fround(2.5), maxError: 0 }), "2.5");
  assert.equal(blockNote(1), "");
  assert.equal(blockNote(4), "(mean of 4\u00d74)");
});

const planes = readoutPlanes({ layer_id: "f090-i", stokes: "I", stokes_layers: IQU });
const ok = (value, more = {}) => ({ status: "ok", value: Math.fround(value), ...more });

test("P is hypot(Q, U) of the float32 values, shown as the nearest float32", () => {
  const texts = planeTexts(planes, { I: ok(10), Q: ok(3.1), U: ok(-4.2) });
  const p = Math.fround(Math.hypot(Math.fround(3.1), Math.fround(-4.2)));
  assert.deepEqual(texts, [
    { plane: "I", active: true, text: "10" },
    { plane: "Q", active: false, text: "3.1" },
    { plane: "U", active: false, text: "-4.2" },
    { plane: "P", active: false, text: valueText({ value: p }) },
  ]);
  assert.equal(Math.fround(Number(texts[3].text)), p);
});

test("planes still loading show an ellipsis, and so does P until Q and U are both there", () => {
  const texts = planeTexts(planes, { I: ok(1), Q: ok(2), U: { status: "loading" } });
  assert.deepEqual(texts.map((t) => t.text), ["1", "2", PENDING, PENDING]);
});

test("a hidden or missing plane is left out, and P with it", () => {
  const hidden = readoutPlanes({ layer_id: "f090-i", stokes: "I", stokes_layers: { I: "f090-i", U: "f090-u" } });
  assert.deepEqual(planeTexts(hidden, { I: ok(1), U: ok(2) }).map((t) => t.plane), ["I", "U"]);
  const missing = planeTexts(planes, { I: ok(1), Q: { status: "missing" }, U: ok(2) });
  assert.deepEqual(missing.map((t) => t.plane), ["I", "U"]);
});

test("P of lossy planes carries their errors added in quadrature", () => {
  const texts = planeTexts(planes, { I: ok(1), Q: ok(3, { maxError: 0.03 }), U: ok(4, { maxError: 0.04 }) });
  assert.equal(texts[3].text, "5 \u00b1 0.05");
});
