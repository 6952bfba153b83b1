import assert from "node:assert/strict";
import { test } from "node:test";

import {
  barIndex,
  colourBarTicks,
  colourTicks,
  describeScale,
  formatTicks,
  niceLinearTicks,
  stretchForward,
  stretchInverse,
} from "../static/frontend/js/colourbar.js";

const labels = (ticks) => ticks.map((tick) => tick.label);
const values = (ticks) => ticks.map((tick) => tick.value);

function assertClose(actual, expected, tolerance = 1e-12) {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} vs ${expected}`);
}

// maps.engine.stretch.apply_stretch at x = 0, 0.05, 0.3, 0.7, 1 (computed in Python).
const X = [0, 0.05, 0.3, 0.7, 1];
const ENGINE = [
  ["sqrt", {}, [0, 0.22360679774997896, 0.5477225575051661, 0.8366600265340756, 1]],
  ["log", {}, [0, 0.5691077130854597, 0.8260693058372743, 0.94843544116702, 1]],
  ["asinh", { asinhA: 0.1 }, [0, 0.16049901326109842, 0.6065080847477822, 0.8818959780145271, 1]],
  ["asinh", { asinhA: 0.02 }, [0, 0.3576839328009456, 0.7387854608208893, 0.9225732917905444, 1]],
  ["power", { gamma: 2.5 }, [0, 0.0005590169943749475, 0.049295030175464945, 0.4099634130016969, 1]],
];

test("the stretches are the server's, and their inverses undo them", () => {
  for (const [stretch, options, expected] of ENGINE) {
    X.forEach((x, i) => {
      assertClose(stretchForward(x, stretch, options), expected[i]);
      assertClose(stretchInverse(expected[i], stretch, options), x, 1e-12);
    });
  }
  assert.equal(stretchForward(-0.5, "linear"), 0);
  assert.equal(stretchForward(1.5, "sqrt"), 1);
  const histeq = { xs: [0, 0.5, 1], cdf: [0, 0.9, 1] };
  assert.equal(stretchForward(0.25, "histeq", { histeq }), 0.45);
  assertClose(stretchInverse(0.95, "histeq", { histeq }), 0.75);
  assert.throws(() => stretchForward(0.5, "bogus"), /unknown stretch bogus/);
});

test("linear ticks are round, evenly spaced and span the range", () => {
  const ticks = colourBarTicks(-500, 500);
  assert.deepEqual(labels(ticks), ["-500", "-250", "0", "250", "500"]);
  assert.deepEqual(ticks.map((tick) => tick.position), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(labels(colourBarTicks(-150, 150)), ["-150", "-100", "-50", "0", "50", "100", "150"]);
  assert.deepEqual(labels(colourBarTicks(0, 1)), ["0", "0.25", "0.5", "0.75", "1"]);
  const offset = colourBarTicks(-1.37, 42.1);
  assert.deepEqual(labels(offset), ["0", "10", "20", "30", "40"]);
  assertClose(offset[1].position, (10 + 1.37) / 43.47);
  assert.deepEqual(niceLinearTicks(0, 7, 8), { values: [0, 1, 2, 3, 4, 5, 6, 7], step: 1 });
});

test("tiny and huge ranges are labelled with exponents", () => {
  assert.deepEqual(labels(colourBarTicks(0.001, 0.0035)), ["1e-3", "1.5e-3", "2e-3", "2.5e-3", "3e-3", "3.5e-3"]);
  assert.deepEqual(labels(colourBarTicks(-3e-4, 7e-4)), ["-2e-4", "0", "2e-4", "4e-4", "6e-4"]);
  assert.deepEqual(labels(colourBarTicks(0, 2e6)), ["0", "5e5", "1e6", "1.5e6", "2e6"]);
  assert.deepEqual(values(colourBarTicks(0.1, 0.3)), [0.1, 0.15, 0.2, 0.25, 0.3]);
  assert.deepEqual(labels(colourBarTicks(1000.001, 1000.002, "linear", { count: 3 })), [
    "1000.001",
    "1000.0015",
    "1000.002",
  ]);
  assert.deepEqual(formatTicks([-0, 0.1 + 0.2, 12], 0.1), ["0", "0.3", "12"]);
});

test("stretched ticks sit where the stretch puts their values", () => {
  for (const [stretch, options] of [["log", {}], ["sqrt", {}], ["asinh", { asinhA: 0.02 }], ["power", { gamma: 2 }]]) {
    const ticks = colourBarTicks(0, 1000, stretch, options);
    assert.ok(ticks.length >= 4, `${stretch}: ${labels(ticks)}`);
    for (const tick of ticks) {
      assertClose(tick.position, stretchForward(tick.value / 1000, stretch, options));
    }
    const positions = ticks.map((tick) => tick.position);
    positions.slice(1).forEach((position, i) => assert.ok(position - positions[i] >= 0.25 / 3));
  }
  assert.deepEqual(labels(colourBarTicks(0, 1000, "log")), ["0", "10", "50", "100", "1000"]);
  assert.deepEqual(labels(colourBarTicks(0, 1000, "sqrt")), ["0", "100", "200", "500", "1000"]);
  assert.deepEqual(labels(colourBarTicks(-500, 500, "asinh")), ["-500", "-400", "-200", "0", "500"]);
});

test("a logarithmic data scale gets decades", () => {
  const ticks = colourBarTicks(1, 1e4, "linear", { logNorm: true });
  assert.deepEqual(labels(ticks), ["1", "10", "100", "1000", "10000"]);
  ticks.forEach((tick, i) => assertClose(tick.position, i / 4));
  assert.deepEqual(colourBarTicks(0, 10, "linear", { logNorm: true }), []);
});

test("histogram equalisation ticks follow its curve", () => {
  const histeq = { xs: [0, 0.5, 1], cdf: [0, 0.9, 1] };
  const ticks = colourBarTicks(0, 1, "histeq", { histeq });
  assert.deepEqual(values(ticks), [0, 0.1, 0.3, 0.4, 1]);
  assertClose(ticks[2].position, 0.54);
});

test("an empty or unusable range has no ticks", () => {
  assert.deepEqual(colourBarTicks(5, 5), []);
  assert.deepEqual(colourBarTicks(5, 1), []);
  assert.deepEqual(colourBarTicks(NaN, 1), []);
  assert.deepEqual(colourBarTicks(0, Infinity), []);
});

test("a colour state's ticks are those of its range, scale and stretch", () => {
  assert.deepEqual(colourTicks({ vmin: -300, vmax: 300 }), colourBarTicks(-300, 300));
  assert.deepEqual(labels(colourTicks({ vmin: 1, vmax: 1000, log: true })), ["1", "10", "50", "100", "1000"]);
  assert.deepEqual(
    colourTicks({ vmin: 0, vmax: 1000, stretch: "asinh", asinh_a: 0.02 }),
    colourBarTicks(0, 1000, "asinh", { asinhA: 0.02 }),
  );
  assert.deepEqual(colourTicks({ vmin: 0, vmax: 1000, stretch: "power" }), colourBarTicks(0, 1000, "power", { gamma: 1 }));
  const histeq = [[0, 0.5, 1], [0, 0.9, 1]];
  assert.deepEqual(
    colourTicks({ vmin: 0, vmax: 10, stretch: "histeq", histeq }),
    colourBarTicks(0, 10, "histeq", { histeq: { xs: histeq[0], cdf: histeq[1] } }),
  );
  assert.deepEqual(colourTicks({ vmin: 0, vmax: 10, stretch: "histeq" }), []);
});

test("the bar shows at each position the LUT entry of the values stretched there", () => {
  assert.equal(barIndex(0), 0);
  assert.equal(barIndex(0.5), 127);
  assert.equal(barIndex(1), 254);
  assert.equal(barIndex(1.2), 254);
  assert.equal(barIndex(-0.1), 0);
});

test("the caption names what is not a plain linear scale", () => {
  assert.equal(describeScale({ vmin: 0, vmax: 1 }), "");
  assert.equal(describeScale({ stretch: "linear", abs: true }), "|value|");
  assert.equal(describeScale({ log: true, stretch: "asinh", asinh_a: 0.02 }), "log scale, asinh a=0.02");
  assert.equal(describeScale({ stretch: "power", gamma: 2 }), "power \u03b3=2");
  assert.equal(describeScale({ stretch: "log" }), "log stretch");
  assert.equal(describeScale({ stretch: "histeq" }), "histeq");
});
