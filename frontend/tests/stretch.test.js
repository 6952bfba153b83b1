import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyStretch,
  colourIndex,
  histeqTable,
  lutColour,
  TRANSPARENT_INDEX,
  withHisteq,
} from "../static/frontend/js/stretch.js";

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

// Expected curves: maps/engine/stretch.py histeq_table on the same histograms.
test("the histeq curve is the server's", () => {
  const edges = [-2, -1, 0, 1, 2, 3];
  const counts = [1, 4, 10, 4, 1];
  const [xs, cdf] = histeqTable(edges, counts, { vmin: -1.5, vmax: 2.5 });
  close(xs, [0, 0.125, 0.375, 0.625, 0.875, 1]);
  close(cdf, [0, 0.02631578947368421, 0.23684210526315788, 0.7631578947368421, 0.9736842105263158, 1]);
  const [logXs, logCdf] = histeqTable([1, 10, 100, 1000], [5, 3, 2], { vmin: 2, vmax: 500, logNorm: true });
  close(logXs, [0, 0.29148769435775146, 0.7085123056422485, 1]);
  close(logCdf, [0, 0.5333333333333333, 0.8933333333333333, 1]);
  assert.deepEqual(histeqTable(edges, counts, { vmin: 5, vmax: 6 }), [[0, 1], [0, 1]]);
});

test("a histeq colour gets its curve from the layer's histogram, others stay as they are", () => {
  const histogram = { edges: [-2, -1, 0, 1, 2, 3], histogram: [1, 4, 10, 4, 1] };
  const colour = { vmin: -1.5, vmax: 2.5, log: false, stretch: "histeq" };
  const filled = withHisteq(colour, histogram);
  assert.deepEqual(filled.histeq, histeqTable(histogram.edges, histogram.histogram, { vmin: -1.5, vmax: 2.5 }));
  assert.equal(colour.histeq, undefined);
  const own = { ...colour, histeq: [[0, 1], [0, 1]] };
  assert.equal(withHisteq(own, histogram), own);
  const linear = { vmin: 0, vmax: 1 };
  assert.equal(withHisteq(linear, histogram), linear);
  assert.equal(withHisteq(colour, null), colour);
});

test("LUT entries come from the colour bar's columns as the server spreads them", () => {
  const bar = Array.from({ length: 256 }, (_, j) => [j, 255 - j, 7]);
  assert.deepEqual(lutColour(bar, 0), [0, 255, 7]);
  // Entry 127 of 255 is column round(127 * 255 / 254) = 127.5 -> 128.
  assert.deepEqual(lutColour(bar, 127), [128, 127, 7]);
  assert.deepEqual(lutColour(bar, 254), [255, 0, 7]);
});
