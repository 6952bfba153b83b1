// Tick values, positions and labels for the colour bar and the histogram's
// axis. Pure functions (no DOM), tested with `node --test`.
//
// A tick sits where the colour map shows its value: the stretch (the
// formulas of maps/engine/stretch.py, astropy's) moves it along the bar.
// Linear bars get evenly spaced round values (1, 2, 2.5, 5 x 10^k steps);
// stretched bars get the roundest value near each of a few evenly spaced
// positions, so a log bar reads 1, 10, 100, 1000 rather than a crowd of
// ticks at one end. Labels carry no units: the caller appends them.

import { applyStretch, DEFAULT_ASINH_A, DEFAULT_GAMMA, LOG_STRETCH_A, N_COLOURS, STRETCHES } from "./stretch.js";

export const DEFAULT_TICK_COUNT = 5;

const LINEAR_STEPS = [1, 2, 2.5, 5, 10];
// Plain decimals between these magnitudes, exponents (1e-3, 2.5e6) outside.
const PLAIN_BELOW = 1e5;
const PLAIN_FROM = 1e-2;

function clip01(x) {
  return Math.min(1, Math.max(0, x));
}

// Position along the colour map (0..1) of a normalised value x (0..1): the
// same stretch the tiles are coloured with (stretch.js).
export function stretchForward(x, stretch, options = {}) {
  if (!STRETCHES.includes(stretch)) throw new RangeError(`unknown stretch ${stretch}`);
  const { histeq = null, ...rest } = options;
  return applyStretch(x, stretch, { ...rest, histeq: histeq && [histeq.xs, histeq.cdf] });
}

// The normalised value (0..1) a position along the colour map (0..1) shows.
export function stretchInverse(y, stretch, options = {}) {
  const { asinhA = DEFAULT_ASINH_A, gamma = DEFAULT_GAMMA, histeq = null } = options;
  const p = clip01(y);
  switch (stretch) {
    case "linear":
      return p;
    case "sqrt":
      return p * p;
    case "log":
      return (10 ** (p * Math.log10(LOG_STRETCH_A + 1)) - 1) / LOG_STRETCH_A;
    case "asinh":
      return asinhA * Math.sinh(p * Math.asinh(1 / asinhA));
    case "power":
      return p ** (1 / gamma);
    case "histeq":
      return interpolate(p, histeq.cdf, histeq.xs);
    default:
      throw new RangeError(`unknown stretch ${stretch}`);
  }
}

// Piecewise-linear y(x) through increasing xs (numpy.interp); flat runs of
// xs (an empty histogram stretch of the cdf) take their first point.
function interpolate(x, xs, ys) {
  if (x <= xs[0]) return ys[0];
  for (let i = 1; i < xs.length; i++) {
    if (x <= xs[i]) {
      const width = xs[i] - xs[i - 1];
      return width > 0 ? ys[i - 1] + ((ys[i] - ys[i - 1]) * (x - xs[i - 1])) / width : ys[i];
    }
  }
  return ys[ys.length - 1];
}

// Data value <-> normalised value: linear, or logarithmic between vmin > 0
// and vmax (the tiles' log_norm).
function normalise(value, vmin, vmax, logNorm) {
  return logNorm
    ? Math.log(value / vmin) / Math.log(vmax / vmin)
    : (value - vmin) / (vmax - vmin);
}

function denormalise(x, vmin, vmax, logNorm) {
  return logNorm ? vmin * (vmax / vmin) ** x : vmin + x * (vmax - vmin);
}

// Removes float noise (0.30000000000000004) from a multiple of a step.
function clean(value) {
  const rounded = Number(value.toPrecision(12));
  return rounded === 0 ? 0 : rounded;
}

// Evenly spaced round values within vmin..vmax: the 1, 2, 2.5 or 5 x 10^k
// step whose tick count is nearest `count` (on a tie, the one spanning more
// of the range: -500, -250, 0, 250, 500 rather than -400 .. 400).
export function niceLinearTicks(vmin, vmax, count = DEFAULT_TICK_COUNT) {
  const rough = (vmax - vmin) / Math.max(1, count - 1);
  const decade = 10 ** Math.floor(Math.log10(rough));
  let best = null;
  for (const factor of [0.5, ...LINEAR_STEPS]) {
    const step = factor * decade;
    const first = Math.ceil(vmin / step - 1e-9);
    const last = Math.floor(vmax / step + 1e-9);
    const miss = Math.abs(last - first + 1 - count);
    const span = (last - first) * step;
    if (best === null || miss < best.miss || (miss === best.miss && span > best.span)) {
      best = { step, first, last, miss, span };
    }
  }
  const values = [];
  for (let k = best.first; k <= best.last; k++) values.push(clean(k * best.step));
  return { values, step: best.step };
}

// Preference among multiples k of one step: 1 (a power of ten) and ...5 read
// roundest, then ...2 or ...8, then the rest.
function multipleRank(k) {
  const digit = Math.abs(k) % 10;
  if (Math.abs(k) === 1 || digit === 5) return 0;
  if (digit === 2 || digit === 8) return 1;
  return 2;
}

// The roundest value in low..high: 0 when in range, else a multiple of the
// largest 10^k step that has one there, ranked by multipleRank, the one
// nearest `target` among equals.
function roundestBetween(low, high, target) {
  if (low <= 0 && high >= 0) return { value: 0, step: Infinity };
  const magnitude = Math.max(Math.abs(low), Math.abs(high));
  for (let exponent = Math.floor(Math.log10(magnitude)); exponent > -330; exponent--) {
    const step = 10 ** exponent;
    const first = Math.ceil(low / step - 1e-9);
    const last = Math.floor(high / step + 1e-9);
    if (first > last) continue;
    let best = null;
    for (let k = first; k <= last; k++) {
      const value = clean(k * step);
      const rank = multipleRank(k);
      const distance = Math.abs(value - target);
      if (best === null || rank < best.rank || (rank === best.rank && distance < best.distance)) {
        best = { value, rank, distance };
      }
    }
    return { value: best.value, step };
  }
  return { value: target, step: 0 };
}

// Ticks for a stretched bar: the roundest value within half a spacing of
// each of `count` evenly spaced positions; one that lands within a third
// of a spacing of the previous tick is dropped.
function stretchedTicks(vmin, vmax, count, toValue, toPosition) {
  const spacing = 1 / Math.max(1, count - 1);
  const ticks = [];
  for (let i = 0; i < count; i++) {
    const position = i * spacing;
    const low = toValue(Math.max(0, position - spacing / 2));
    const high = toValue(Math.min(1, position + spacing / 2));
    const tick = roundestBetween(Math.min(low, high), Math.max(low, high), toValue(position));
    if (tick.value < vmin || tick.value > vmax) continue;
    const previous = ticks[ticks.length - 1];
    if (previous && toPosition(tick.value) - toPosition(previous.value) < spacing / 3) continue;
    ticks.push(tick);
  }
  return ticks;
}

// Decimal places that write `step` (0.25: 2, 500: 0).
function decimalsFor(step) {
  for (let decimals = 0; decimals < 20; decimals++) {
    if (Math.abs(Number(step.toFixed(decimals)) - step) <= step * 1e-9) return decimals;
  }
  return 20;
}

// Compact labels for a set of tick values (one style for the whole bar):
// plain decimals (-500, 0.25), or exponents (1e-3, 2.5e6) for very small or
// large magnitudes; "0" for zero.
export function formatTicks(values, step) {
  const largest = Math.max(...values.map(Math.abs));
  const exponential = largest >= PLAIN_BELOW || (largest > 0 && largest < PLAIN_FROM);
  return values.map((value) => {
    if (value === 0) return "0";
    if (exponential) return clean(value).toExponential().replace("e+", "e");
    const decimals = decimalsFor(step ?? Math.abs(value));
    return String(Number(value.toFixed(decimals)));
  });
}

// Ticks of a colour bar (or a histogram axis) from vmin to vmax under a
// stretch: [{ value, position, label }], position 0..1 from the vmin end.
// Options: asinhA, gamma, histeq ({xs, cdf} of the stretch), logNorm
// (logarithmic data scale, vmin > 0), count (about how many ticks).
export function colourBarTicks(vmin, vmax, stretch = "linear", options = {}) {
  const { logNorm = false, count = DEFAULT_TICK_COUNT } = options;
  if (!(Number.isFinite(vmin) && Number.isFinite(vmax) && vmin < vmax)) return [];
  if (logNorm && !(vmin > 0)) return [];
  const position = (value) => stretchForward(normalise(value, vmin, vmax, logNorm), stretch, options);
  let ticks;
  if (stretch === "linear" && !logNorm) {
    const { values, step } = niceLinearTicks(vmin, vmax, count);
    ticks = values.map((value) => ({ value, step }));
  } else {
    const toValue = (p) => denormalise(stretchInverse(p, stretch, options), vmin, vmax, logNorm);
    ticks = stretchedTicks(vmin, vmax, count, toValue, position);
  }
  const values = ticks.map((tick) => tick.value);
  const finest = Math.min(...ticks.map((tick) => tick.step).filter((s) => s > 0 && Number.isFinite(s)));
  const labels = formatTicks(values, Number.isFinite(finest) ? finest : undefined);
  return ticks.map((tick, i) => ({ value: tick.value, position: position(tick.value), label: labels[i] }));
}

// Ticks of the colour bar of a colour panel state ({vmin, vmax, log, stretch,
// asinh_a, gamma, histeq as stretch.js's [xs, cdf]; withHisteq fills histeq
// in}); none for a histeq stretch still without its curve.
export function colourTicks(colour, count = DEFAULT_TICK_COUNT) {
  const stretch = colour.stretch || "linear";
  if (stretch === "histeq" && !colour.histeq) return [];
  return colourBarTicks(colour.vmin, colour.vmax, stretch, {
    logNorm: Boolean(colour.log),
    asinhA: colour.asinh_a ?? DEFAULT_ASINH_A,
    gamma: colour.gamma ?? DEFAULT_GAMMA,
    histeq: colour.histeq ? { xs: colour.histeq[0], cdf: colour.histeq[1] } : null,
    count,
  });
}

// The LUT index a colour bar shows at `position` (0..1 from the vmin end):
// the one stretch.js colourIndex gives the values a tick there labels.
export function barIndex(position) {
  return Math.min(N_COLOURS - 1, Math.max(0, Math.floor(position * N_COLOURS)));
}

// How the bar's values are spread, for its caption: "" for linear values.
export function describeScale(colour) {
  const stretch = colour.stretch || "linear";
  const parts = [];
  if (colour.abs) parts.push("|value|");
  if (colour.log) parts.push("log scale");
  if (stretch === "asinh") parts.push(`asinh a=${colour.asinh_a ?? DEFAULT_ASINH_A}`);
  else if (stretch === "power") parts.push(`power \u03b3=${colour.gamma ?? DEFAULT_GAMMA}`);
  else if (stretch === "log") parts.push("log stretch");
  else if (stretch !== "linear") parts.push(stretch);
  return parts.join(", ");
}
