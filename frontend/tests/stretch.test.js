import assert from "node:assert/strict";
import { test } from "node:test";

import { applyStretch, colourIndex, histeqTable, TRANSPARENT_INDEX } from "../static/frontend/js/stretch.js";

const X = [0, 0.001, 0.25, 0.5, 1];

// Expected values: maps/engine/stretch.py apply_stretch on float64 input.
const EXPECTED = {
  log: [0, 0.10032881506161206, 0.7997755189799127, 0.8998157120437035, 1],
  sqrt: [0, 0.03162277660168379, 0.5, 0.7071067811865476, 1],
  asinh: [0, 0.0033352534173081033, 0.5494024872991484, 0.7712696419200371, 1],
  power: [0, 1e-6, 0.0625, 0.25, 1],
};

function close(actual, expected) {
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) < 1e-12, `${a} vs ${expected[i]}`));
}

test("stretches follow the server's formulas", () => {
  close(X.map((x) => applyStretch(x, "log")), EXPECTED.log);
  close(X.map((x) => applyStretch(x, "sqrt")), EXPECTED.sqrt);
  close(X.map((x) => applyStretch(x, "asinh", { asinhA: 0.1 })), EXPECTED.asinh);
  close(X.map((x) => applyStretch(x, "power", { gamma: 2 })), EXPECTED.power);
  assert.equal(applyStretch(0.3, "linear"), 0.3);
  // Halfway between the histogram edges 0 and 0.5 (cdf 0 and 0.8): 0.3 -> 0.48.
  close([applyStretch(0.3, "histeq", { histeq: [[0, 0.5, 1], [0, 0.8, 1]] })], [0.48]);
});

test("stretches clip to [0, 1], keep NaN and refuse what they cannot do", () => {
  assert.equal(applyStretch(-3, "sqrt"), 0);
  assert.equal(applyStretch(7, "log"), 1);
  assert.ok(Number.isNaN(applyStretch(NaN, "asinh")));
  assert.throws(() => applyStretch(0.5, "histeq"), /histogram/);
  assert.throws(() => applyStretch(0.5, "cubic"), /unknown stretch/);
});

// Expected indices: maps/engine/colormap.py colour_indices of the same float32 data.
const DATA = [-5, 0, 0.5, 1, 2, 50, 100, 200, NaN, Infinity, -Infinity];
const T = TRANSPARENT_INDEX;

test("colour indices match the server's PNG path", () => {
  const cases = [
    [{ vmin: 0, vmax: 100 }, [0, 0, 1, 2, 5, 127, 254, 254, T, 254, 0]],
    [{ vmin: 1, vmax: 100, log: true }, [T, T, 0, 0, 38, 216, 254, 254, T, 254, T]],
    [
      { vmin: 0, vmax: 100, abs: true, stretch: "asinh", asinh_a: 0.2 },
      [27, 0, 2, 5, 11, 181, 254, 254, T, 254, 254],
    ],
    [{ vmin: -10, vmax: 100, stretch: "log" }, [141, 166, 168, 170, 173, 232, 254, 254, T, 254, 0]],
  ];
  for (const [colour, expected] of cases) {
    assert.deepEqual(DATA.map((v) => colourIndex(Math.fround(v), colour)), expected, JSON.stringify(colour));
  }
});

test("the histeq curve is the server's histeq_table", () => {
  const edges = [-2, -1, 0, 1, 2, 3];
  const counts = [1, 5, 10, 3, 0];
  // Expected values: maps/engine/stretch.py histeq_table on the same histogram.
  const [xs, cdf] = histeqTable(edges, counts, { vmin: -1.5, vmax: 2.5 });
  close(xs, [0, 0.125, 0.375, 0.625, 0.875, 1]);
  close(cdf, [0, 0.02702702702702703, 0.2972972972972973, 0.8378378378378378, 1, 1]);
  const [logXs, logCdf] = histeqTable(edges, counts, { vmin: 0.5, vmax: 2.5, log: true });
  close(logXs, [0, 0.4306765580733931, 0.8613531161467862, 1]);
  close(logCdf, [0, 0.625, 1, 1]);
  assert.deepEqual(histeqTable(edges, counts, { vmin: 2.2, vmax: 2.8 }), [[0, 1], [0, 1]]);
});
