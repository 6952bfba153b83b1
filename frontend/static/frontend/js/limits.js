// Colour limits over data in the browser: min/max, central percentiles and
// IRAF's zscale, for "limits from the current view" over the loaded data
// tiles. Pure functions (no DOM, no OpenLayers), tested with `node --test`.
// The server computes the same limits over the whole map (maps/engine/limits.py,
// GET /layers/{id}/limits); the algorithms and constants are the same here.

export const LIMIT_METHODS = ["minmax", "percentile", "zscale"];
// The percentages the viewer offers, as DS9 and CARTA do.
export const PERCENT_PRESETS = [90, 95, 99, 99.5, 99.9, 99.99];
export const DEFAULT_PERCENT = 99.5;

// IRAF's zscale parameters (astropy's ZScaleInterval defaults).
const ZSCALE_SAMPLES = 1000;
const ZSCALE_CONTRAST = 0.25;
const ZSCALE_MAX_REJECT = 0.5;
const ZSCALE_MIN_PIXELS = 5;
const ZSCALE_KREJ = 2.5;
const ZSCALE_MAX_ITERATIONS = 5;
const ZSCALE_GROW_FRACTION = 0.01;

// The finite values of one typed array or of a list of them (e.g. the data
// tiles on screen), in order, as a Float64Array; null when there is none.
export function finiteValues(chunks) {
  const list = ArrayBuffer.isView(chunks) ? [chunks] : chunks;
  let count = 0;
  for (const chunk of list) {
    for (let i = 0; i < chunk.length; i++) {
      if (Number.isFinite(chunk[i])) count++;
    }
  }
  if (count === 0) return null;
  const values = new Float64Array(count);
  let k = 0;
  for (const chunk of list) {
    for (let i = 0; i < chunk.length; i++) {
      if (Number.isFinite(chunk[i])) values[k++] = chunk[i];
    }
  }
  return values;
}

export function minmaxLimits(chunks) {
  const values = finiteValues(chunks);
  if (values === null) return null;
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return { vmin: low, vmax: high };
}

// numpy's linear interpolation between sorted neighbours (its `_lerp`,
// which measures from the nearer end), so results equal numpy.nanpercentile.
function quantileOfSorted(sorted, fraction) {
  const index = fraction * (sorted.length - 1);
  const below = Math.floor(index);
  const above = Math.min(below + 1, sorted.length - 1);
  const t = index - below;
  const a = sorted[below];
  const b = sorted[above];
  const difference = b - a;
  return t >= 0.5 ? b - difference * (1 - t) : a + difference * t;
}

// The limits keeping the central `percent` per cent of the finite values
// (99.5: the 0.25th and 99.75th percentiles); percent in (0, 100].
export function percentileLimits(chunks, percent = DEFAULT_PERCENT) {
  if (!(percent > 0 && percent <= 100)) {
    throw new RangeError(`percent must be within (0, 100], got ${percent}`);
  }
  const values = finiteValues(chunks);
  if (values === null) return null;
  values.sort();
  const tail = (100 - percent) / 2;
  return {
    vmin: quantileOfSorted(values, tail / 100),
    vmax: quantileOfSorted(values, (100 - tail) / 100),
  };
}

// `bad` dilated by a box of `width` samples, centred as numpy.convolve's
// "same" mode (the reference implementation's way of growing rejections).
function grow(bad, width) {
  if (width <= 1) return bad;
  const ahead = Math.floor((width - 1) / 2);
  const behind = width - 1 - ahead;
  const before = new Int32Array(bad.length + 1);
  for (let i = 0; i < bad.length; i++) before[i + 1] = before[i] + (bad[i] ? 1 : 0);
  const grown = new Uint8Array(bad.length);
  for (let i = 0; i < bad.length; i++) {
    const low = Math.max(0, i - behind);
    const high = Math.min(bad.length, i + ahead + 1);
    grown[i] = before[high] - before[low] > 0 ? 1 : 0;
  }
  return grown;
}

// Least-squares line through the good samples (x = index): [slope, intercept].
function fitLine(samples, bad) {
  let n = 0;
  let sumX = 0;
  let sumY = 0;
  for (let i = 0; i < samples.length; i++) {
    if (bad[i]) continue;
    n++;
    sumX += i;
    sumY += samples[i];
  }
  const meanX = sumX / n;
  const meanY = sumY / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < samples.length; i++) {
    if (bad[i]) continue;
    sxy += (i - meanX) * (samples[i] - meanY);
    sxx += (i - meanX) * (i - meanX);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return [slope, meanY - slope * meanX];
}

// IRAF's zscale: a line fitted to at most 1000 sorted samples (taken at an
// even stride) with iterative 2.5-sigma rejection; its slope over the
// contrast (0.25) sets the range about the median, clipped to the samples'
// extremes. With too many samples rejected, the extremes themselves.
export function zscaleLimits(chunks) {
  const values = finiteValues(chunks);
  if (values === null) return null;
  const stride = Math.max(1, Math.floor(values.length / ZSCALE_SAMPLES));
  const count = Math.min(ZSCALE_SAMPLES, Math.ceil(values.length / stride));
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) samples[i] = values[i * stride];
  samples.sort();
  let vmin = samples[0];
  let vmax = samples[count - 1];
  const minGood = Math.max(ZSCALE_MIN_PIXELS, Math.floor(count * ZSCALE_MAX_REJECT));
  const width = Math.max(1, Math.floor(count * ZSCALE_GROW_FRACTION));
  let bad = new Uint8Array(count);
  let good = count;
  let lastGood = count + 1;
  let slope = 0;
  for (let iteration = 0; iteration < ZSCALE_MAX_ITERATIONS; iteration++) {
    if (good >= lastGood || good < minGood) break;
    const [fitSlope, intercept] = fitLine(samples, bad);
    slope = fitSlope;
    const residual = new Float64Array(count);
    let sum = 0;
    for (let i = 0; i < count; i++) {
      residual[i] = samples[i] - (slope * i + intercept);
      if (!bad[i]) sum += residual[i];
    }
    const mean = sum / good;
    let squares = 0;
    for (let i = 0; i < count; i++) {
      if (!bad[i]) squares += (residual[i] - mean) ** 2;
    }
    const threshold = ZSCALE_KREJ * Math.sqrt(squares / good);
    const rejected = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      rejected[i] = bad[i] || Math.abs(residual[i]) > threshold ? 1 : 0;
    }
    bad = grow(rejected, width);
    lastGood = good;
    good = bad.reduce((total, flag) => total + (flag ? 0 : 1), 0);
  }
  if (good >= minGood) {
    const scaled = slope / ZSCALE_CONTRAST;
    const centre = Math.floor((count - 1) / 2);
    const median = count % 2 === 1
      ? samples[centre]
      : (samples[centre] + samples[centre + 1]) / 2;
    vmin = Math.max(vmin, median - (centre - 1) * scaled);
    vmax = Math.min(vmax, median + (count - centre) * scaled);
  }
  return { vmin, vmax };
}

// { vmin, vmax } by `method` (one of LIMIT_METHODS), or null when there is
// no finite value (e.g. only blank tiles on screen).
export function computeLimits(chunks, method, percent = DEFAULT_PERCENT) {
  if (method === "minmax") return minmaxLimits(chunks);
  if (method === "percentile") return percentileLimits(chunks, percent);
  if (method === "zscale") return zscaleLimits(chunks);
  throw new RangeError(`method must be one of ${LIMIT_METHODS.join(", ")}, got ${method}`);
}
