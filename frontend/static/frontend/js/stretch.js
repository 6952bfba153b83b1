// Normalisation and stretches in the browser, the same formulas as the
// server's PNG path (maps/engine/colormap.py colour_indices and
// maps/engine/stretch.py), so a data tile coloured here matches the PNG tile
// of the same settings to within one colour step.

export const STRETCHES = ["linear", "log", "sqrt", "asinh", "power", "histeq"];
export const LOG_STRETCH_A = 1000;
export const DEFAULT_ASINH_A = 0.1;
export const DEFAULT_GAMMA = 1;
// Colours of the server's LUT; entry N_COLOURS is the transparent one.
export const N_COLOURS = 255;
export const TRANSPARENT_INDEX = N_COLOURS;

function interp(x, xs, ys) {
  if (x <= xs[0]) return ys[0];
  const last = xs.length - 1;
  if (x >= xs[last]) return ys[last];
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  return ys[lo] + ((x - xs[lo]) * (ys[hi] - ys[lo])) / (xs[hi] - xs[lo]);
}

// A normalised value x (clipped to [0, 1]) moved along the colour map; NaN stays NaN.
export function applyStretch(x, stretch, { asinhA = DEFAULT_ASINH_A, gamma = DEFAULT_GAMMA, histeq = null } = {}) {
  if (Number.isNaN(x)) return NaN;
  const v = Math.min(1, Math.max(0, x));
  switch (stretch) {
    case "linear":
      return v;
    case "sqrt":
      return Math.sqrt(v);
    case "log":
      return Math.log10(v * LOG_STRETCH_A + 1) / Math.log10(LOG_STRETCH_A + 1);
    case "asinh":
      return Math.asinh(v / asinhA) / Math.asinh(1 / asinhA);
    case "power":
      return v ** gamma;
    case "histeq":
      if (!histeq) throw new Error("the histeq stretch needs the layer's histogram");
      return interp(v, histeq[0], histeq[1]);
    default:
      throw new Error(`unknown stretch ${JSON.stringify(stretch)}`);
  }
}

// The LUT index of one value under `colour` ({vmin, vmax, log, abs,
// stretch, asinh_a, gamma, histeq}): 0 .. N_COLOURS - 1, or
// TRANSPARENT_INDEX for NaN and (with log) values <= 0.
export function colourIndex(value, colour) {
  let v = colour.abs ? Math.abs(value) : value;
  let low = colour.vmin;
  let high = colour.vmax;
  if (colour.log) {
    v = v > 0 ? Math.log10(v) : NaN;
    low = Math.log10(low);
    high = Math.log10(high);
  }
  if (Number.isNaN(v)) return TRANSPARENT_INDEX;
  let scaled = (v - low) * (N_COLOURS / (high - low));
  const stretch = colour.stretch || "linear";
  if (stretch !== "linear") {
    scaled = applyStretch(scaled / N_COLOURS, stretch, {
      asinhA: colour.asinh_a ?? DEFAULT_ASINH_A,
      gamma: colour.gamma ?? DEFAULT_GAMMA,
      histeq: colour.histeq,
    }) * N_COLOURS;
  }
  return Math.floor(Math.min(N_COLOURS - 1, Math.max(0, scaled)));
}

// The histogram-equalisation curve [xs, cdf] of the layer's histogram
// (/histograms/data/{id}: edges, counts) within vmin..vmax, for the histeq
// stretch: maps/engine/stretch.py histeq_table, so the data tiles and the
// server's PNG tiles use the same curve.
export function histeqTable(edges, counts, { vmin, vmax, log = false }) {
  const cumulative = [0];
  for (const count of counts) cumulative.push(cumulative[cumulative.length - 1] + count);
  const values = [vmin, ...edges.filter((edge) => edge > vmin && edge < vmax), vmax];
  const below = values.map((value) => interp(value, edges, cumulative));
  const total = below[below.length - 1] - below[0];
  if (!(total > 0)) return [[0, 1], [0, 1]];
  const xs = log
    ? values.map((value) => (Math.log10(value) - Math.log10(vmin)) / (Math.log10(vmax) - Math.log10(vmin)))
    : values.map((value) => (value - vmin) / (vmax - vmin));
  return [xs, below.map((b) => (b - below[0]) / total)];
}
