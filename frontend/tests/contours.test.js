import assert from "node:assert/strict";
import { test } from "node:test";

import {
  blockMean,
  contours,
  gaussianSmooth,
  linearLevels,
  logLevels,
  mosaic,
  parseLevels,
  smoothForContours,
  smoothingBlock,
  TooManyPoints,
} from "../static/frontend/js/contours.js";

// A grid whose pixel (c, r) holds f(x, y) at its centre x = c + 0.5, y = r + 0.5.
function grid(rows, cols, f) {
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r += 1) {
    for (let c = 0; c < cols; c += 1) values[r * cols + c] = f(c + 0.5, r + 0.5);
  }
  return { values, rows, cols };
}

function pointsOf(line) {
  const out = [];
  for (let i = 0; i < line.points.length; i += 2) out.push([line.points[i], line.points[i + 1]]);
  return out;
}

function rounded(points) {
  return points.map(([x, y]) => [Math.round(x * 1e6) / 1e6, Math.round(y * 1e6) / 1e6]);
}

const SIGMA_PX = 12;
const XC = 40;
const YC = 36;
const gaussian = (x, y) => Math.exp(-((x - XC) ** 2 + (y - YC) ** 2) / (2 * SIGMA_PX ** 2));

test("contours of a circular Gaussian are closed rings on the analytic circles", () => {
  const levels = [0.1, 0.5, 0.9];
  const result = contours(grid(72, 80, gaussian), levels);
  assert.deepEqual(
    result.map((r) => r.level),
    levels,
  );
  for (const { level, lines } of result) {
    assert.equal(lines.length, 1, `level ${level}`);
    const [ring] = lines;
    assert.equal(ring.closed, true);
    const points = pointsOf(ring);
    assert.deepEqual(points[0], points[points.length - 1]);
    // exp(-R^2 / 2 s^2) = L  =>  R = s sqrt(-2 ln L).
    const radius = SIGMA_PX * Math.sqrt(-2 * Math.log(level));
    // One point per grid line the circle crosses, twice each: about 8 R points.
    assert.ok(points.length > 4 * radius, `${points.length} points for radius ${radius}`);
    for (const [x, y] of points) {
      const error = Math.abs(Math.hypot(x - XC, y - YC) - radius);
      assert.ok(error < 0.05, `level ${level}: (${x}, ${y}) is ${error} px off the circle`);
    }
  }
});

test("a plane's contour is one straight line from border to border", () => {
  const plane = (x, y) => 0.3 * x - 0.7 * y;
  const rows = 30;
  const cols = 50;
  const [{ lines }] = contours(grid(rows, cols, plane), [-5]);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].closed, false);
  const points = pointsOf(lines[0]);
  for (const [x, y] of points) assert.ok(Math.abs(plane(x, y) + 5) < 1e-5, `(${x}, ${y}) off the line`);
  // The ends lie on the border of the grid of pixel centres [0.5, cols - 0.5] x [0.5, rows - 0.5].
  for (const [x, y] of [points[0], points[points.length - 1]]) {
    const onBorder = [x - 0.5, cols - 0.5 - x, y - 0.5, rows - 0.5 - y].some((d) => Math.abs(d) < 1e-9);
    assert.ok(onBorder, `end (${x}, ${y}) inside the grid`);
  }
  // Consecutive points advance monotonically along the line (no back-tracking).
  const along = points.map(([x, y]) => 0.7 * x + 0.3 * y);
  const steps = along.slice(1).map((a, i) => a - along[i]);
  // The line runs exactly through pixel centres (value = level) every 7
  // columns; the two crossings there are one point, not a zero-length step.
  assert.ok(steps.every((s) => s > 0) || steps.every((s) => s < 0));
  // A peak exactly at the level would be a ring collapsed to a point: none.
  const peak = { values: Float32Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), rows: 3, cols: 3 };
  assert.deepEqual(contours(peak, [1])[0].lines, []);
});

test("a NaN hole splits a line and no point lies on an edge touching it", () => {
  const rows = 20;
  const cols = 20;
  const g = grid(rows, cols, (x) => x);
  // Hole: pixels rows 8..11, cols 9..10; the level x = 10 runs through it.
  const hole = [];
  for (let r = 8; r <= 11; r += 1) {
    for (let c = 9; c <= 10; c += 1) {
      g.values[r * cols + c] = NaN;
      hole.push([c + 0.5, r + 0.5]);
    }
  }
  const [{ lines }] = contours(g, [10.25]);
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.equal(line.closed, false);
    for (const [x, y] of pointsOf(line)) {
      assert.ok(Number.isFinite(x) && Number.isFinite(y));
      assert.ok(Math.abs(x - 10.25) < 1e-6);
      // An edge touching a NaN pixel is within 1 px (Chebyshev) of its centre.
      for (const [hx, hy] of hole) assert.ok(Math.max(Math.abs(x - hx), Math.abs(y - hy)) >= 1, `(${x}, ${y}) in the hole`);
    }
  }
  // One piece above the hole (y from 0.5 to 7.5), one below (12.5 to 19.5).
  const spans = lines.map((line) => {
    const ys = pointsOf(line).map(([, y]) => y);
    return [Math.min(...ys), Math.max(...ys)];
  });
  spans.sort((a, b) => a[0] - b[0]);
  assert.deepEqual(spans, [
    [0.5, 7.5],
    [12.5, 19.5],
  ]);
  // A grid that is all NaN has no contours.
  assert.deepEqual(contours({ values: new Float32Array(4).fill(NaN), rows: 2, cols: 2 }, [0])[0].lines, []);
});

test("saddle cells are resolved by the mean of the four corners", () => {
  // Corners: top-left 1, top-right 0, bottom-right 1, bottom-left 0 (mean 0.5),
  // pixel centres at (0.5, 0.5), (1.5, 0.5), (1.5, 1.5), (0.5, 1.5).
  const saddle = { values: Float32Array.from([1, 0, 0, 1]), rows: 2, cols: 2 };
  const segments = (level) =>
    contours(saddle, [level])[0]
      .lines.map((line) => rounded(pointsOf(line)).sort((a, b) => a[0] - b[0] || a[1] - b[1]))
      .sort((a, b) => a[0][0] - b[0][0] || a[0][1] - b[0][1]);
  // Level 0.4 < mean: the centre is above, the two high corners join through
  // it and the lines cut off the low corners (top-right and bottom-left).
  assert.deepEqual(segments(0.4), [
    [
      [0.5, 1.1],
      [0.9, 1.5],
    ],
    [
      [1.1, 0.5],
      [1.5, 0.9],
    ],
  ]);
  // Level 0.6 > mean: the centre is below, the lines cut off the high corners.
  assert.deepEqual(segments(0.6), [
    [
      [0.5, 0.9],
      [0.9, 0.5],
    ],
    [
      [1.1, 1.5],
      [1.5, 1.1],
    ],
  ]);
  // The mirror saddle (top-right and bottom-left high) at 0.4: cut off top-left and bottom-right.
  const mirror = { values: Float32Array.from([0, 1, 1, 0]), rows: 2, cols: 2 };
  const mirrored = contours(mirror, [0.4])[0].lines.map((line) => rounded(pointsOf(line)));
  const ends = mirrored.map((points) => points.sort((a, b) => a[0] - b[0] || a[1] - b[1])).sort((a, b) => a[0][0] - b[0][0]);
  assert.deepEqual(ends, [
    [
      [0.5, 0.9],
      [0.9, 0.5],
    ],
    [
      [1.1, 1.5],
      [1.5, 1.1],
    ],
  ]);
});

test("contours of a mosaic run across tile borders as on the whole grid", () => {
  const whole = grid(72, 80, gaussian);
  // Four tiles of unequal sizes meeting at (row 30, column 45), near the peak.
  const cut = (top, left, rows, cols) => {
    const values = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r += 1) values.set(whole.values.subarray((top + r) * 80 + left, (top + r) * 80 + left + cols), r * cols);
    return { values, rows, cols, top, left };
  };
  const tiles = [cut(0, 0, 30, 45), cut(0, 45, 30, 35), cut(30, 0, 42, 45), cut(30, 45, 42, 35)];
  const assembled = mosaic({ rows: 72, cols: 80, tiles });
  assert.deepEqual(assembled.values, whole.values);
  assert.deepEqual(contours(assembled, [0.2, 0.7]), contours(whole, [0.2, 0.7]));
  // Uncovered pixels are NaN: one tile alone gives an open arc, not a ring.
  const alone = contours(mosaic({ rows: 72, cols: 80, tiles: [tiles[0]] }), [0.5])[0].lines;
  assert.equal(alone.length, 1);
  assert.equal(alone[0].closed, false);
});

test("level helpers: linear, logarithmic and typed lists", () => {
  assert.deepEqual(linearLevels(5, 0, 1), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(linearLevels(1, 3, 7), [3]);
  const log = logLevels(4, 1, 1000);
  [1, 10, 100, 1000].forEach((v, i) => assert.ok(Math.abs(log[i] - v) < 1e-9 * v, `${log[i]} vs ${v}`));
  assert.equal(log[3], 1000);
  assert.deepEqual(parseLevels("1, 2, 5"), [1, 2, 5]);
  assert.deepEqual(parseLevels(" 5 1e-3,,2  -1 2 "), [-1, 1e-3, 2, 5]);
  assert.deepEqual(parseLevels(""), []);
  assert.throws(() => parseLevels("1, two, 3"), /"two"/);
  assert.throws(() => parseLevels("1, Infinity"), RangeError);
  assert.throws(() => logLevels(3, 0, 10), RangeError);
  assert.throws(() => linearLevels(0, 0, 1), RangeError);
  assert.throws(() => linearLevels(3, 2, 1), RangeError);
  assert.throws(() => contours({ values: new Float32Array(3), rows: 2, cols: 2 }, [0]), RangeError);
  assert.throws(() => contours({ values: new Float32Array(4), rows: 2, cols: 2 }, [NaN]), RangeError);
});

test("blockMean: hand-computed means, partial edge blocks, NaN left out", () => {
  // 3 x 5 grid, blocks of 2: full blocks, a partial right column, a partial
  // bottom row, a NaN inside a block and a block of NaN only.
  const values = Float32Array.from([1, 2, 3, 4, 5, 6, NaN, 8, 9, 10, 11, 12, NaN, NaN, 15]);
  const out = blockMean({ values, rows: 3, cols: 5 }, 2);
  assert.equal(out.rows, 2);
  assert.equal(out.cols, 3);
  // (1 + 2 + 6) / 3, (3 + 4 + 8 + 9) / 4, (5 + 10) / 2; (11 + 12) / 2, NaN, 15.
  assert.deepEqual(Array.from(out.values), [3, 6, 7.5, 11.5, NaN, 15]);
  assert.deepEqual(Array.from(blockMean({ values, rows: 3, cols: 5 }, 1).values), Array.from(values));
  assert.throws(() => blockMean({ values, rows: 3, cols: 5 }, 0), RangeError);
});

test("gaussianSmooth: hand-computed 1-D case, constants stay constant, NaN stays NaN", () => {
  // A single 1 in a row of zeros becomes the normalised kernel, the weights
  // of the pixels present only: exp(-d²/2σ²) / sum over the row.
  const sigma = 1;
  const values = new Float32Array(9);
  values[4] = 1;
  const out = gaussianSmooth({ values, rows: 1, cols: 9 }, sigma);
  const w = (d) => Math.exp(-(d * d) / 2);
  for (let c = 0; c < 9; c += 1) {
    // Each output pixel divides by the weights in its own window, clipped at the row ends.
    let norm = 0;
    for (let j = Math.max(0, c - 4); j <= Math.min(8, c + 4); j += 1) norm += w(j - c);
    assert.ok(Math.abs(out.values[c] - w(c - 4) / norm) < 1e-6, `pixel ${c}`);
  }
  // A constant with holes and edges stays constant; the holes stay holes.
  const constant = new Float32Array(30 * 40).fill(7.25);
  constant[5 * 40 + 6] = NaN;
  constant[20 * 40 + 30] = NaN;
  constant[0] = NaN;
  const smooth = gaussianSmooth({ values: constant, rows: 30, cols: 40 }, 3.5);
  for (let i = 0; i < constant.length; i += 1) {
    if (Number.isNaN(constant[i])) assert.ok(Number.isNaN(smooth.values[i]), `pixel ${i} should stay NaN`);
    else assert.ok(Math.abs(smooth.values[i] - 7.25) < 1e-5, `pixel ${i}: ${smooth.values[i]}`);
  }
  assert.throws(() => gaussianSmooth({ values: constant, rows: 30, cols: 40 }, 0), RangeError);
});

// Distance of a contour's points from the circle radius r around (XC, YC).
// How far blocked-Gaussian rings may lie off the analytic circle, in pixels:
// measured 0.03 px at levels 0.3 and 0.5 and 0.09 px on the faint outer
// ring at 0.1 (blocks of 2 for rings of radius 14-26 px), 0.006 px for a
// ring as small as the kernel.
const BLOCKED_RING_PX = 0.15;

function worstOffCircle(points, scale, r) {
  let worst = 0;
  for (let i = 0; i < points.length; i += 2) {
    const error = Math.abs(Math.hypot(points[i] * scale - XC, points[i + 1] * scale - YC) - r);
    worst = Math.max(worst, error);
  }
  return worst;
}

test("a Gaussian smoothed by a Gaussian is the analytic wider Gaussian", () => {
  // exp(-r²/2s²) convolved with a normalised Gaussian of sigma k is
  // s² / (s² + k²) exp(-r²/2(s² + k²)): the level-L ring has radius
  // sqrt(2 (s² + k²) ln(s² / ((s² + k²) L))).
  const k = 4;
  const smooth = gaussianSmooth(grid(72, 80, gaussian), k);
  const s2 = SIGMA_PX ** 2 + k ** 2;
  for (const { level, lines } of contours(smooth, [0.1, 0.3, 0.5])) {
    assert.equal(lines.length, 1, `level ${level}`);
    const r = Math.sqrt(2 * s2 * Math.log(SIGMA_PX ** 2 / (s2 * level)));
    // As without smoothing (0.05 px), plus the kernel's truncation at 4 sigma.
    const worst = worstOffCircle(lines[0].points, 1, r);
    assert.ok(worst < 0.06, `level ${level}: ${worst} px off radius ${r}`);
  }
  // The same through smoothForContours, which for sigma 4 works on block
  // means of 2 x 2 (smoothingBlock) with a Gaussian of sqrt(16 - 4 / 12)
  // px after them: the same total variance, so the same analytic rings;
  // points times the scale 2 must land on them within BLOCKED_RING_PX.
  const { grid: blocked, scale } = smoothForContours(grid(72, 80, gaussian), "gaussian", 2 * k);
  assert.equal(scale, 2);
  assert.deepEqual([blocked.rows, blocked.cols], [36, 40]);
  for (const { level, lines } of contours(blocked, [0.1, 0.3, 0.5])) {
    assert.equal(lines.length, 1, `level ${level}`);
    const r = Math.sqrt(2 * s2 * Math.log(SIGMA_PX ** 2 / (s2 * level)));
    const worst = worstOffCircle(lines[0].points, scale, r);
    assert.ok(worst < BLOCKED_RING_PX, `level ${level}: ${worst} px off radius ${r}`);
  }
});

test("smoothingBlock: k for block, 1 for none, floor(sigma / 2) for a Gaussian of sigma k / 2", () => {
  assert.equal(smoothingBlock("none", 7), 1);
  assert.equal(smoothingBlock("block", 7), 7);
  assert.deepEqual(
    [1, 4, 7, 8, 11, 12, 16, 32].map((k) => smoothingBlock("gaussian", k)),
    [1, 1, 1, 2, 2, 3, 4, 8],
  );
  assert.throws(() => smoothingBlock("median", 4), RangeError);
  // Below sigma 4 (N = 8) the Gaussian stays at full resolution, scale 1:
  // the same values as gaussianSmooth.
  const field = grid(30, 40, gaussian);
  const { grid: same, scale } = smoothForContours(field, "gaussian", 7);
  assert.equal(scale, 1);
  assert.deepEqual(same.values, gaussianSmooth(field, 3.5).values);
});

test("a ring as small as the kernel keeps its radius on block means", () => {
  // The viewer test's case: a Gaussian of 8 px smoothed with N = 8 (sigma
  // 4 px, blocks of 2): peak 64 / 80 of the original, level 0.5 at radius
  // sqrt(2 x 80 ln(1.6)) = 8.67 px, only 4.3 block cells.
  const s = 8;
  const bump = grid(64, 64, (x, y) => Math.exp(-((x - 32) ** 2 + (y - 32) ** 2) / (2 * s * s)));
  const { grid: blocked, scale } = smoothForContours(bump, "gaussian", 8);
  assert.equal(scale, 2);
  const s2 = s * s + 16;
  const r = Math.sqrt(2 * s2 * Math.log((s * s) / (s2 * 0.5)));
  const [{ lines }] = contours(blocked, [0.5]);
  assert.equal(lines.length, 1);
  let worst = 0;
  for (let i = 0; i < lines[0].points.length; i += 2) {
    worst = Math.max(worst, Math.abs(Math.hypot(lines[0].points[i] * scale - 32, lines[0].points[i + 1] * scale - 32) - r));
  }
  assert.ok(worst < BLOCKED_RING_PX, `${worst} px off radius ${r}`);
});

// A seeded standard normal (Park-Miller and Box-Muller): the same noise on every run.
function normals(count, seed) {
  let state = seed;
  const uniform = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
  return Float32Array.from({ length: count }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

// The blocked Gaussian at block centre (c + 0.5) b against the full-resolution
// one there (odd b: a pixel centre, no interpolation), away from the edges.
function blockedAgainstFull(field, k) {
  const full = gaussianSmooth(field, k / 2);
  const { grid: blocked, scale: b } = smoothForContours(field, "gaussian", k);
  const margin = 2 * k + b;
  let sumDiff2 = 0;
  let sumFull2 = 0;
  let n = 0;
  for (let r = 0; r < blocked.rows; r += 1) {
    for (let c = 0; c < blocked.cols; c += 1) {
      const x = (c + 0.5) * b - 0.5;
      const y = (r + 0.5) * b - 0.5;
      if (x < margin || y < margin || x > field.cols - margin || y > field.rows - margin) continue;
      const reference = full.values[y * field.cols + x];
      sumDiff2 += (blocked.values[r * blocked.cols + c] - reference) ** 2;
      sumFull2 += reference ** 2;
      n += 1;
    }
  }
  return { b, rmsDiff: Math.sqrt(sumDiff2 / n), rmsFull: Math.sqrt(sumFull2 / n) };
}

test("a wide Gaussian on block means matches the full-resolution one: structure exactly, noise to a fifth", () => {
  // k = 12: sigma 6, blocks of 3 (centres on pixel centres).
  const rows = 240;
  const cols = 321;
  const smooth = grid(rows, cols, (x, y) => 100 * Math.sin(x / 40) * Math.cos(y / 55));
  const structure = blockedAgainstFull(smooth, 12);
  assert.equal(structure.b, 3);
  // Measured 3e-5 of the rms: the blocking changes structure wider than
  // the kernel by nothing a contour would show.
  assert.ok(structure.rmsDiff < 1e-4 * structure.rmsFull, JSON.stringify(structure));
  // White noise of rms 1: smoothed by sigma 6 its rms is 1 / (2 sqrt(pi) 6)
  // = 0.047; the staircase kernel changes it by 0.13 of that (measured).
  const noise = { values: normals(rows * cols, 2026), rows, cols };
  const white = blockedAgainstFull(noise, 12);
  assert.ok(Math.abs(white.rmsFull - 1 / (2 * Math.sqrt(Math.PI) * 6)) < 0.005, JSON.stringify(white));
  assert.ok(white.rmsDiff < white.rmsFull / 5, JSON.stringify(white));
});

test("contours of a block-2 mean land on the sky positions of the full grid", () => {
  // A 2 x 2 block mean is the field averaged over a 2-pixel box (variance
  // 2² / 12 - 1 / 12 = 1/4 px² per axis from four samples), sampled at the
  // block centre: a Gaussian of s² + 1/4 with its peak scaled by
  // s² / (s² + 1/4), to order 1/s⁴. Points times 2 must lie on that circle,
  // within the unsmoothed bound doubled for the coarser grid (linear
  // interpolation errors grow as the spacing squared, 4 x 0.05 px, but the
  // bound measured at spacing 1 is loose: 0.1 px holds).
  const { grid: blocks, scale } = smoothForContours(grid(72, 80, gaussian), "block", 2);
  assert.equal(scale, 2);
  assert.equal(blocks.rows, 36);
  const s2 = SIGMA_PX ** 2 + 0.25;
  for (const { level, lines } of contours(blocks, [0.1, 0.5, 0.9])) {
    assert.equal(lines.length, 1, `level ${level}`);
    const r = Math.sqrt(2 * s2 * Math.log(SIGMA_PX ** 2 / (s2 * level)));
    const worst = worstOffCircle(lines[0].points, scale, r);
    assert.ok(worst < 0.1, `level ${level}: ${worst} px off radius ${r}`);
    // Without the factor 2 the ring would be at half the radius: the
    // position mapping is what this checks, not only the shape.
    assert.ok(worstOffCircle(lines[0].points, 1, r) > r / 3);
  }
});

test("more crossed cells than maxPoints throw TooManyPoints before tracing", () => {
  // A checkerboard: every cell crosses the level 0.5.
  const board = grid(50, 60, (x, y) => (Math.floor(x) + Math.floor(y)) % 2);
  const cells = 49 * 59;
  assert.throws(
    () => contours(board, [0.5], { maxPoints: cells - 1 }),
    (error) => error instanceof TooManyPoints && error instanceof RangeError && error.count === cells && /raise the smoothing/.test(error.message),
  );
  assert.equal(contours(board, [0.5], { maxPoints: cells }).length, 1);
  // Block means of 2 x 2 make the board flat: nothing to draw.
  const { grid: flat } = smoothForContours(board, "block", 2);
  assert.deepEqual(contours(flat, [0.5], { maxPoints: 10 })[0].lines, []);
});
