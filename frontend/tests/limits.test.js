import assert from "node:assert/strict";
import { test } from "node:test";

import {
  computeLimits,
  finiteValues,
  minmaxLimits,
  percentileLimits,
  zscaleLimits,
} from "../static/frontend/js/limits.js";

// Noise-like values (a sum of three modular sequences, bell-shaped, sd ~ 10),
// NaN every 13th value and a bright "source" every 211th. The same formula
// in Python (float64 arithmetic, then float32) gave the expected numbers.
function synthetic(n) {
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = ((i * 7919) % 1009) / 1009;
    const b = ((i * 104729) % 2003) / 2003;
    const c = ((i * 1299709) % 4001) / 4001;
    values[i] = (a + b + c - 1.5) * 20;
    if (i % 13 === 0) values[i] = NaN;
    if (i % 211 === 0) values[i] = 5000 + i;
  }
  return values;
}

// Computed with astropy 8.0.2 and numpy in Python on synthetic(n):
//   ZScaleInterval().get_limits(v)
//   np.nanpercentile(v.astype(np.float64), [(100 - p) / 2, 100 - (100 - p) / 2])
const EXPECTED = {
  20000: {
    zscale: [-27.436307907104492, 63.74102499055767],
    90: [-16.63741226196289, 16.952665710449203],
    99.5: [-25.020438899993895, 15092.130000000368],
    99.99: [-28.601724752807556, 24639.16260000007],
    minmax: [-28.724645614624023, 24834.0],
  },
  700: {
    zscale: [-26.988224029541016, 58.29827904384762],
    90: [-16.352158355712888, 15.676072311401358],
    99.5: [-25.070218982696534, 5292.234999999998],
    99.99: [-26.93236956405637, 5626.184700000008],
    minmax: [-26.988224029541016, 5633.0],
  },
  // Too few values to fit a line: zscale gives the extremes.
  4: {
    zscale: [8.828446388244629, 5000.0],
    90: [8.887023973464967, 4251.441422271727],
    99.5: [8.831375267505646, 4962.572071113587],
    99.99: [8.828504965829849, 4999.2514414222715],
    minmax: [8.828446388244629, 5000.0],
  },
};

function assertClose(actual, expected, relative) {
  const tolerance = relative * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} vs ${expected}`);
}

for (const [n, expected] of Object.entries(EXPECTED)) {
  const values = synthetic(Number(n));

  test(`zscale of ${n} values matches astropy's ZScaleInterval`, () => {
    const { vmin, vmax } = zscaleLimits(values);
    // astropy fits with float32 samples and lstsq; we fit in float64 in closed form.
    assertClose(vmin, expected.zscale[0], 1e-9);
    assertClose(vmax, expected.zscale[1], 1e-9);
  });

  test(`percentiles of ${n} values equal numpy.nanpercentile exactly`, () => {
    for (const percent of [90, 99.5, 99.99]) {
      assert.deepEqual(percentileLimits(values, percent), {
        vmin: expected[percent][0],
        vmax: expected[percent][1],
      });
    }
    assert.deepEqual(percentileLimits(values, 100), minmaxLimits(values));
  });

  test(`min/max of ${n} values ignores NaN`, () => {
    assert.deepEqual(minmaxLimits(values), { vmin: expected.minmax[0], vmax: expected.minmax[1] });
  });
}

test("a list of tiles gives the limits of their values in order", () => {
  const whole = synthetic(20000);
  const tiles = [whole.subarray(0, 5000), whole.subarray(5000, 12345), whole.subarray(12345)];
  for (const method of ["minmax", "percentile", "zscale"]) {
    assert.deepEqual(computeLimits(tiles, method), computeLimits(whole, method));
  }
  assert.deepEqual(computeLimits(tiles, "percentile", 90), percentileLimits(whole, 90));
});

test("infinities are ignored like NaN", () => {
  const values = new Float32Array([Infinity, 1, NaN, -Infinity, 3, 2]);
  assert.deepEqual(Array.from(finiteValues(values)), [1, 3, 2]);
  assert.deepEqual(minmaxLimits(values), { vmin: 1, vmax: 3 });
  assert.deepEqual(percentileLimits(values, 50), { vmin: 1.5, vmax: 2.5 });
});

test("blank data has no limits", () => {
  const blank = [new Float32Array([NaN, NaN]), new Float32Array(0)];
  for (const method of ["minmax", "percentile", "zscale"]) {
    assert.equal(computeLimits(blank, method), null);
  }
});

test("a constant tile gives its value at both ends", () => {
  const constant = new Float32Array(5000).fill(3.5);
  assert.deepEqual(zscaleLimits(constant), { vmin: 3.5, vmax: 3.5 });
  assert.deepEqual(percentileLimits(constant, 99), { vmin: 3.5, vmax: 3.5 });
});

test("bad percent and method are refused", () => {
  const values = new Float32Array([1, 2, 3]);
  for (const percent of [0, -1, 100.5, NaN]) {
    assert.throws(() => percentileLimits(values, percent), /percent must be within \(0, 100\]/);
  }
  assert.throws(() => computeLimits(values, "median"), /method must be one of minmax, percentile, zscale/);
});
