import assert from "node:assert/strict";
import { test } from "node:test";

import {
  binVectors,
  debiasedIntensity,
  polarisationAngleDeg,
  polarisedIntensity,
  sigmaFromIvar,
} from "../static/frontend/js/polarisation.js";

const ORIENTATIONS = [false, true];
const CONVENTIONS = ["IAU", "COSMO"];

function close(actual, expected, tolerance, what) {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

// Difference of two headless angles (degrees, period 180), in [0, 90].
function angleGap(a, b) {
  const d = (((a - b) % 180) + 180) % 180;
  return Math.min(d, 180 - d);
}

// A field on a rows x cols tile from the on-sky offsets of each pixel centre
// from (xc, yc): east and north in pixels, for the given screen orientation
// (row 0 north; east to the right without flip, to the left with it).
function field(rows, cols, flip, xc, yc, qu) {
  const q = new Float32Array(rows * cols);
  const u = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r += 1) {
    for (let c = 0; c < cols; c += 1) {
      const x = c + 0.5 - xc;
      const y = r + 0.5 - yc;
      const [qv, uv] = qu(flip ? -x : x, -y);
      q[r * cols + c] = qv;
      u[r * cols + c] = uv;
    }
  }
  return { q, u };
}

test("the angle is 0.5 atan2(U, Q) from north through east for IAU data, its opposite for COSMO data", () => {
  // Table: Q, U, IAU angle (degrees east of north), written out by hand.
  const TABLE = [
    [1, 0, 0],
    [0, 1, 45],
    [-1, 0, 90],
    [0, -1, -45],
    [Math.cos(Math.PI / 3), Math.sin(Math.PI / 3), 30],
    // atan2(-0, -1) = -180 degrees: the angle is still reported as 90, not -90.
    [-1, -0, 90],
    [-1, 0, 90],
  ];
  for (const [q, u, deg] of TABLE) {
    close(polarisationAngleDeg(q, u, "IAU"), deg, 1e-9, `IAU ${q},${u}`);
    // COSMO U is -U_IAU: the same sky angle from (Q, -U).
    close(polarisationAngleDeg(q, -u, "COSMO"), deg, 1e-9, `COSMO ${q},${-u}`);
    const angle = polarisationAngleDeg(q, u, "COSMO");
    assert.ok(angle > -90 && angle <= 90, `${angle} outside (-90, 90]`);
  }
  assert.ok(Number.isNaN(polarisationAngleDeg(NaN, 1, "IAU")));
  assert.throws(() => polarisationAngleDeg(1, 0, "iau"), RangeError);
});

test("polarised intensity and its two debiased estimators follow their formulas", () => {
  assert.equal(polarisedIntensity(3, 4), 5);
  assert.equal(polarisedIntensity(3, -4, { debias: "none", sigma: 2 }), 5);
  // Asymptotic: sqrt(25 - 4); below sigma it is 0.
  close(polarisedIntensity(3, 4, { debias: "asymptotic", sigma: 2 }), Math.sqrt(21), 1e-12, "asymptotic");
  assert.equal(polarisedIntensity(0.3, 0.4, { debias: "asymptotic", sigma: 1 }), 0);
  // MAS (Plaszczynski et al. 2014, eq. 10 with b = sigma):
  // 5 - 4 (1 - e^(-25/4)) / 10 = 4.600772...; debias: true means MAS.
  const mas = 5 - (4 * (1 - Math.exp(-25 / 4))) / 10;
  close(polarisedIntensity(3, 4, { debias: "mas", sigma: 2 }), mas, 1e-12, "mas");
  close(polarisedIntensity(3, 4, { debias: true, sigma: 2 }), mas, 1e-12, "debias true");
  close(mas, 4.600772, 1e-6, "mas by hand");
  // MAS tends to p/2 at p -> 0 and to the asymptotic estimator at p >> sigma.
  close(debiasedIntensity(1e-4, 1, "mas"), 0.5e-4, 1e-12, "mas at 0");
  close(debiasedIntensity(100, 1, "mas"), Math.sqrt(100 * 100 - 1), 1e-4, "mas at high S/N");
  assert.equal(debiasedIntensity(0, 1, "mas"), 0);
  assert.throws(() => polarisedIntensity(1, 1, { debias: "rice", sigma: 1 }), RangeError);
  assert.throws(() => polarisedIntensity(1, 1, { debias: "mas", sigma: -1 }), RangeError);
});

test("a uniform field at 30 degrees east of north, in both conventions and both orientations", () => {
  const rows = 20;
  const cols = 24;
  // On screen (x right, y down): north (0, -1); east (1, 0) without flip,
  // (-1, 0) with flip. 30 degrees from north towards east:
  const EXPECTED_DIRECTION = { false: [0.5, -Math.sqrt(3) / 2], true: [-0.5, -Math.sqrt(3) / 2] };
  for (const convention of CONVENTIONS) {
    for (const flip of ORIENTATIONS) {
      const uSign = convention === "IAU" ? 1 : -1;
      const { q, u } = field(rows, cols, flip, 0, 0, () => [2 * Math.cos(Math.PI / 3), uSign * 2 * Math.sin(Math.PI / 3)]);
      const segments = binVectors({ q, u, rows, cols, bin: 8, convention, flip });
      // 3 x 3 bins, the last row and column partial (20 = 8 + 8 + 4, 24 = 3 x 8).
      assert.equal(segments.length, 9);
      assert.deepEqual(
        segments.map((s) => [s.x, s.y, s.n]),
        [4, 12, 18].flatMap((y, i) => [4, 12, 20].map((x) => [x, y, i === 2 ? 32 : 64])),
      );
      for (const s of segments) {
        close(s.angleDeg, 30, 1e-4, `${convention} flip=${flip} angle`);
        close(s.p, 2, 1e-6, "p");
        close(s.dx, EXPECTED_DIRECTION[flip][0], 1e-6, `${convention} flip=${flip} dx`);
        close(s.dy, EXPECTED_DIRECTION[flip][1], 1e-6, `${convention} flip=${flip} dy`);
      }
    }
  }
});

test("a pure E-mode ring pattern gives radial vectors, its negative tangential ones", () => {
  const rows = 96;
  const cols = 128;
  const bin = 8;
  const xc = 64;
  const yc = 48;
  for (const convention of CONVENTIONS) {
    for (const flip of ORIENTATIONS) {
      for (const sign of [1, -1]) {
        const uSign = convention === "IAU" ? 1 : -1;
        // phi: position angle of the pixel around the centre, north through east.
        const { q, u } = field(rows, cols, flip, xc, yc, (east, north) => {
          const phi = Math.atan2(east, north);
          return [sign * Math.cos(2 * phi), uSign * sign * Math.sin(2 * phi)];
        });
        const segments = binVectors({ q, u, rows, cols, bin, convention, flip });
        assert.equal(segments.length, (rows / bin) * (cols / bin));
        let checked = 0;
        for (const s of segments) {
          const sx = s.x - xc;
          const sy = s.y - yc;
          // Near the centre the pattern turns within a bin and the mean shrinks.
          if (Math.hypot(sx, sy) < 3 * bin) continue;
          const east = flip ? -sx : sx;
          const phiDeg = (Math.atan2(east, -sy) * 180) / Math.PI;
          const expected = sign === 1 ? phiDeg : phiDeg + 90;
          assert.ok(angleGap(s.angleDeg, expected) < 0.01, `${convention} flip=${flip} at ${s.x},${s.y}: ${s.angleDeg} vs ${expected}`);
          // On screen: along the radius (E) or across it (-E), independently of flip.
          const radius = Math.hypot(sx, sy);
          const along = (s.dx * sx + s.dy * sy) / radius;
          close(Math.abs(along), sign === 1 ? 1 : 0, 2e-4, `screen direction at ${s.x},${s.y}`);
          checked += 1;
        }
        assert.ok(checked > 150, `only ${checked} bins checked`);
      }
    }
  }
});

test("bins average Q and U over finite pixels, skip empty bins and threshold on P or P/sigma", () => {
  const rows = 4;
  const cols = 4;
  // Bin (0, 0): Q = 1, 3 and two NaN pixels -> mean Q 2, U 0.
  // Bin (0, 1): all NaN -> nothing. Bins (1, 0), (1, 1): Q 0.5 and 0.1.
  const q = Float32Array.from([1, 3, NaN, NaN, NaN, NaN, NaN, NaN, 0.5, 0.5, 0.1, 0.1, 0.5, 0.5, 0.1, 0.1]);
  const u = Float32Array.from([0, 0, 1, 1, 0, NaN, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  const all = binVectors({ q, u, rows, cols, bin: 2 });
  assert.deepEqual(
    all.map((s) => [s.x, s.y, s.n, Math.round(s.p * 1e6) / 1e6]),
    [
      [1, 1, 2, 2],
      [1, 3, 4, 0.5],
      [3, 3, 4, 0.1],
    ],
  );
  assert.deepEqual(
    binVectors({ q, u, rows, cols, bin: 2, threshold: 0.3 }).map((s) => s.n),
    [2, 4],
  );
  // sigma 0.2 per pixel: the mean of n pixels has sigma 0.2 / sqrt(n):
  // P / sigma = 2 / 0.1414 = 14.1, 0.5 / 0.1 = 5, 0.1 / 0.1 = 1.
  const sigma = new Float32Array(16).fill(0.2);
  const significant = binVectors({ q, u, rows, cols, bin: 2, sigma, threshold: 3 });
  assert.deepEqual(
    significant.map((s) => [s.n, Math.round(s.sigma * 1e6) / 1e6]),
    [
      [2, Math.round((0.2 / Math.SQRT2) * 1e6) / 1e6],
      [4, 0.1],
    ],
  );
  // Debiased with sigma_bin (MAS): 0.5 -> 0.5 - 0.01 (1 - e^-25) / 1 = 0.49.
  const debiased = binVectors({ q, u, rows, cols, bin: 2, sigma, debias: true });
  close(debiased[1].p, 0.49, 1e-6, "debiased bin");
  assert.throws(() => binVectors({ q, u, rows, cols, bin: 2, debias: true }), RangeError);
  assert.throws(() => binVectors({ q, u, rows, cols, bin: 0 }), RangeError);
  assert.throws(() => binVectors({ q, u: u.subarray(1), rows, cols, bin: 2 }), RangeError);
});

test("sigmaFromIvar: 1 / sqrt(ivar), NaN where ivar <= 0 or not finite", () => {
  const sigma = sigmaFromIvar(Float32Array.from([4, 0.01, 1, 0, -2, NaN, Infinity]));
  assert.ok(sigma instanceof Float32Array);
  assert.deepEqual(Array.from(sigma.subarray(0, 3)), [0.5, Math.fround(10), 1]);
  assert.ok(Array.from(sigma.subarray(3)).every(Number.isNaN));
  // A coarse tile pixel: the mean of 16 map pixels of ivar 4 has sigma
  // 0.5 / sqrt(16).
  assert.deepEqual(Array.from(sigmaFromIvar([4, 0], 16)).slice(0, 1), [0.125]);
  assert.ok(Number.isNaN(sigmaFromIvar([4, 0], 16)[1]));
  assert.throws(() => sigmaFromIvar([4], 0), RangeError);
});

test("an ivar map thresholds bins on P / sigma of their mean; pixels with ivar <= 0 are left out", () => {
  // P = 5 everywhere (Q 3, U 4). Left 2 x 2 bin: ivar 1 -> sigma 1 per
  // pixel, 0.5 for the mean of 4: P / sigma = 10. Right bin: ivar 0.01 ->
  // sigma 10, 5 for the mean: P / sigma = 1. Bottom-left bin: ivar 0 in
  // three pixels, 1 in one: only that pixel counts (n = 1, P / sigma = 5).
  const rows = 4;
  const cols = 4;
  const q = new Float32Array(16).fill(3);
  const u = new Float32Array(16).fill(4);
  const ivar = Float32Array.from([1, 1, 0.01, 0.01, 1, 1, 0.01, 0.01, 0, 0, 1, 1, 0, 1, 1, 1]);
  const sigma = sigmaFromIvar(ivar);
  const shown = (threshold) =>
    binVectors({ q, u, rows, cols, bin: 2, sigma, threshold }).map((s) => [s.x, s.y, s.n, Math.round((s.p / s.sigma) * 1e6) / 1e6]);
  assert.deepEqual(shown(0), [
    [1, 1, 4, 10],
    [3, 1, 4, 1],
    [1, 3, 1, 5],
    [3, 3, 4, 10],
  ]);
  assert.deepEqual(shown(2).map(([x, y]) => [x, y]), [
    [1, 1],
    [1, 3],
    [3, 3],
  ]);
  assert.deepEqual(shown(6).map(([x, y]) => [x, y]), [
    [1, 1],
    [3, 3],
  ]);
});
