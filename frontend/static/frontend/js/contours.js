// Contour lines of a grid of values (a data tile, or several tiles assembled
// into one mosaic) by marching squares. Pure computation: no DOM, no
// OpenLayers.
//
// Geometry: value k = r * cols + c sits at the centre of pixel (c, r), i.e.
// at x = c + 0.5, y = r + 0.5 in pixel units (x right, y down, row 0 the top
// of the tile). A cell is the square between four neighbouring pixel centres;
// a contour crosses a cell edge where the level lies between the edge's two
// values, at the linearly interpolated position. A value counts as "above" a
// level when value >= level. Cells with a NaN corner are skipped, so a line
// stops at the rim of a hole. Saddle cells (two opposite corners above, two
// below) are resolved by the mean of the four corners, the usual estimate of
// the value at the cell centre: if it is above, the two "above" corners are
// joined through the cell and the lines cut off the two "below" corners.
//
// Segments are joined across cells into polylines through the grid edges they
// share (each edge holds at most one crossing, so each crossing has at most
// two neighbours): a line that reaches the grid border or a hole is open; one
// that comes back to its start is a closed ring whose last point repeats the
// first. Consecutive equal points (where a value equals the level) are merged.

// The cut edges of each case (bit 8 top-left, 4 top-right, 2 bottom-right,
// 1 bottom-left above the level), as pairs of edges: 0 top, 1 right,
// 2 bottom, 3 left. Saddles 5 and 10 are decided per cell.
const TOP = 0;
const RIGHT = 1;
const BOTTOM = 2;
const LEFT = 3;
const CASE_EDGES = [
  [],
  [LEFT, BOTTOM],
  [BOTTOM, RIGHT],
  [LEFT, RIGHT],
  [TOP, RIGHT],
  null,
  [TOP, BOTTOM],
  [LEFT, TOP],
  [LEFT, TOP],
  [TOP, BOTTOM],
  null,
  [TOP, RIGHT],
  [LEFT, RIGHT],
  [BOTTOM, RIGHT],
  [LEFT, BOTTOM],
  [],
];
// Centre above: cut off the below corners; centre below: cut off the above ones.
const SADDLE_EDGES = {
  5: { above: [LEFT, TOP, BOTTOM, RIGHT], below: [TOP, RIGHT, LEFT, BOTTOM] },
  10: { above: [TOP, RIGHT, LEFT, BOTTOM], below: [LEFT, TOP, BOTTOM, RIGHT] },
};

function checkGrid({ values, rows, cols }) {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(`rows and cols must be positive integers, not ${rows} x ${cols}`);
  }
  if (values.length !== rows * cols) {
    throw new RangeError(`a ${rows} x ${cols} grid holds ${rows * cols} values, not ${values.length}`);
  }
}

// Thrown by contours() when the lines would hold more points than allowed.
export class TooManyPoints extends RangeError {
  constructor(count, maxPoints) {
    super("too many contour lines: raise the smoothing or use fewer levels");
    this.name = "TooManyPoints";
    this.count = count;
    this.maxPoints = maxPoints;
  }
}

/**
 * Contours of `grid` ({values, rows, cols}) at each of `levels`.
 *
 * Returns [{level, lines: [{closed, points}]}] in the order of `levels`;
 * `points` is a flat Float64Array x0, y0, x1, y1, ... in pixel units as
 * described at the top of this file.
 *
 * `maxPoints` caps the size of the answer: when the levels cross more cells
 * than that (each crossed cell adds one point to a line, two for a saddle),
 * a TooManyPoints error is thrown before any line is traced, so that a
 * noise-dominated map costs one pass over the grid instead of freezing the
 * page while hundreds of thousands of lines are joined and drawn.
 */
export function contours(grid, levels, { maxPoints = Infinity } = {}) {
  checkGrid(grid);
  const { values, rows, cols } = grid;
  levels.forEach((level) => {
    if (!Number.isFinite(level)) throw new RangeError(`contour level must be finite, not ${level}`);
  });
  const cells = cellsByLevel(grid, levels);
  const crossed = cells.reduce((total, list) => total + list.length, 0);
  if (crossed > maxPoints) throw new TooManyPoints(crossed, maxPoints);
  // Edge ids: 2k is the horizontal edge from pixel k to k + 1, 2k + 1 the
  // vertical edge from pixel k to k + cols. Links are stored as id + 1 so
  // that the zeroed arrays mean "no link" without a fill pass.
  const edgeCount = 2 * rows * cols;
  const link0 = new Int32Array(edgeCount);
  const link1 = new Int32Array(edgeCount);
  const visited = new Uint8Array(edgeCount);
  const cellEdges = new Int32Array(4);
  return levels.map((level, levelIndex) => {
    const touched = [];
    const link = (a, b) => {
      if (link0[a] === 0) {
        link0[a] = b + 1;
        touched.push(a);
      } else link1[a] = b + 1;
    };
    for (const k of cells[levelIndex]) {
      const tl = values[k];
      const tr = values[k + 1];
      const br = values[k + cols + 1];
      const bl = values[k + cols];
      const index = (tl >= level ? 8 : 0) | (tr >= level ? 4 : 0) | (br >= level ? 2 : 0) | (bl >= level ? 1 : 0);
      cellEdges[TOP] = 2 * k;
      cellEdges[RIGHT] = 2 * (k + 1) + 1;
      cellEdges[BOTTOM] = 2 * (k + cols);
      cellEdges[LEFT] = 2 * k + 1;
      let pairs = CASE_EDGES[index];
      if (pairs === null) {
        const centreAbove = (tl + tr + br + bl) / 4 >= level;
        pairs = centreAbove ? SADDLE_EDGES[index].above : SADDLE_EDGES[index].below;
      }
      for (let p = 0; p < pairs.length; p += 2) {
        const a = cellEdges[pairs[p]];
        const b = cellEdges[pairs[p + 1]];
        link(a, b);
        link(b, a);
      }
    }
    const lines = [];
    const point = (edge, out, at) => {
      const k = edge >> 1;
      const v0 = values[k];
      const v1 = values[edge & 1 ? k + cols : k + 1];
      const t = (level - v0) / (v1 - v0);
      const r = (k / cols) | 0;
      const c = k - r * cols;
      out[at] = c + 0.5 + (edge & 1 ? 0 : t);
      out[at + 1] = r + 0.5 + (edge & 1 ? t : 0);
    };
    const walk = (start, closed) => {
      const chain = [start];
      visited[start] = 1;
      let previous = -1;
      let current = start;
      for (;;) {
        const next = (link0[current] - 1 !== previous ? link0[current] : link1[current]) - 1;
        if (next === -1 || visited[next]) break;
        visited[next] = 1;
        chain.push(next);
        previous = current;
        current = next;
      }
      if (closed) chain.push(start);
      const points = new Float64Array(2 * chain.length);
      // A value exactly at the level puts the crossings of its horizontal
      // and vertical edges on the same point (t = 1 on both): keep one.
      let length = 0;
      for (const edge of chain) {
        point(edge, points, length);
        if (length === 0 || points[length] !== points[length - 2] || points[length + 1] !== points[length - 1]) {
          length += 2;
        }
      }
      // A peak exactly at the level gives a ring collapsed to one point.
      if (length >= 4) lines.push({ closed, points: length === points.length ? points : points.slice(0, length) });
    };
    // Open lines first, from either end (an end has one neighbour), then
    // what is left: rings.
    for (const edge of touched) {
      if (!visited[edge] && link1[edge] === 0) walk(edge, false);
    }
    for (const edge of touched) {
      if (!visited[edge]) walk(edge, true);
    }
    for (const edge of touched) {
      link0[edge] = 0;
      link1[edge] = 0;
      visited[edge] = 0;
    }
    return { level, lines };
  });
}

// The cells (by the index of their top-left pixel) that each level crosses,
// in one pass over the grid: a level crosses a cell when its lowest corner is
// below and its highest at or above the level; cells with a NaN corner are
// left out. One pass instead of one per level: on bench/bench_contours.mjs's
// 1400 x 900 grid, 10 full scans took 120-250 ms of CPU on a loaded machine.
function cellsByLevel({ values, rows, cols }, levels) {
  const order = levels.map((_, i) => i).sort((a, b) => levels[a] - levels[b]);
  const sorted = order.map((i) => levels[i]);
  const buckets = sorted.map(() => []);
  const n = sorted.length;
  for (let r = 0; r < rows - 1; r += 1) {
    // Walk the row keeping the right-hand corners as the next left-hand ones.
    let tr = values[r * cols];
    let br = values[r * cols + cols];
    for (let k = r * cols, end = k + cols - 1; k < end; k += 1) {
      const tl = tr;
      const bl = br;
      tr = values[k + 1];
      br = values[k + cols + 1];
      // A float32 sum cannot overflow a double: it is finite exactly when
      // all four corners are.
      if (!Number.isFinite(tl + tr + bl + br)) continue;
      let low = tl < tr ? tl : tr;
      let high = tl < tr ? tr : tl;
      if (bl < low) low = bl;
      if (bl > high) high = bl;
      if (br < low) low = br;
      if (br > high) high = br;
      if (!(low < high)) continue;
      // First level above low (binary search), then every level up to high.
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid] > low) hi = mid;
        else lo = mid + 1;
      }
      for (let j = lo; j < n && sorted[j] <= high; j += 1) buckets[j].push(k);
    }
  }
  const cells = new Array(n);
  order.forEach((levelIndex, j) => {
    cells[levelIndex] = buckets[j];
  });
  return cells;
}

/**
 * One grid from several tiles, so that contours run across tile borders.
 *
 * tiles: [{values, rows, cols, top, left}] with (top, left) the tile's first
 * pixel in the mosaic; pixels no tile covers are NaN. Later tiles overwrite
 * earlier ones where they overlap.
 */
export function mosaic({ rows, cols, tiles }) {
  const values = new Float32Array(rows * cols).fill(NaN);
  for (const tile of tiles) {
    checkGrid(tile);
    const { top, left } = tile;
    if (!Number.isInteger(top) || !Number.isInteger(left)) {
      throw new RangeError(`tile offsets must be integers, not ${top}, ${left}`);
    }
    for (let r = Math.max(0, -top); r < tile.rows && r + top < rows; r += 1) {
      const c0 = Math.max(0, -left);
      const c1 = Math.min(tile.cols, cols - left);
      if (c1 <= c0) continue;
      const from = r * tile.cols;
      values.set(tile.values.subarray(from + c0, from + c1), (r + top) * cols + left + c0);
    }
  }
  return { values, rows, cols };
}

/**
 * The mean of each k x k block of `grid`, NaN pixels left out (NaN where a
 * block has none): {values, rows, cols} of ceil(rows / k) x ceil(cols / k);
 * blocks at the bottom and right edges may be partial.
 *
 * Geometry: block pixel (c, r) is the mean over grid columns k c .. k c + k - 1,
 * so with the convention above (pixel c centred at c + 0.5) its centre
 * (c + 0.5) k is the centre of the block: contour points of the block grid
 * times k are in the pixel units of `grid`.
 */
export function blockMean(grid, k) {
  checkGrid(grid);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`block size must be a positive integer, not ${k}`);
  const { values, rows, cols } = grid;
  const outRows = Math.ceil(rows / k);
  const outCols = Math.ceil(cols / k);
  const sum = new Float64Array(outRows * outCols);
  const count = new Uint32Array(outRows * outCols);
  for (let r = 0; r < rows; r += 1) {
    const outRow = ((r / k) | 0) * outCols;
    for (let c = 0, at = r * cols; c < cols; c += 1, at += 1) {
      const value = values[at];
      if (Number.isNaN(value)) continue;
      const out = outRow + ((c / k) | 0);
      sum[out] += value;
      count[out] += 1;
    }
  }
  const out = new Float32Array(outRows * outCols);
  for (let i = 0; i < out.length; i += 1) out[i] = count[i] ? sum[i] / count[i] : NaN;
  return { values: out, rows: outRows, cols: outCols };
}

// The weights of a Gaussian of `sigmaPx` sampled at whole pixels out to
// 4 sigma (the tail beyond holds 6e-5 of the weight), centre first.
function gaussianHalfKernel(sigmaPx) {
  const radius = Math.ceil(4 * sigmaPx);
  return Float64Array.from({ length: radius + 1 }, (_, i) => Math.exp(-(i * i) / (2 * sigmaPx * sigmaPx)));
}

// One separable pass along rows (step 1) or columns (step cols) of `num`
// and `den` together.
function convolvePass(num, den, rows, cols, half, alongRows) {
  const outNum = new Float64Array(num.length);
  const outDen = new Float64Array(den.length);
  const lines = alongRows ? rows : cols;
  const length = alongRows ? cols : rows;
  const step = alongRows ? 1 : cols;
  const radius = half.length - 1;
  for (let line = 0; line < lines; line += 1) {
    const start = alongRows ? line * cols : line;
    for (let i = 0; i < length; i += 1) {
      const lo = Math.max(0, i - radius);
      const hi = Math.min(length - 1, i + radius);
      let n = 0;
      let d = 0;
      for (let j = lo, at = start + lo * step; j <= hi; j += 1, at += step) {
        const w = half[j > i ? j - i : i - j];
        n += w * num[at];
        d += w * den[at];
      }
      outNum[start + i * step] = n;
      outDen[start + i * step] = d;
    }
  }
  return [outNum, outDen];
}

/**
 * `grid` convolved with a Gaussian of `sigmaPx` pixels, normalised over the
 * pixels that have a value: each output is sum(w v) / sum(w) over the
 * non-NaN pixels within 4 sigma, so a constant stays that constant up to
 * holes and edges, and NaN pixels stay NaN (a line still stops at the rim
 * of a hole). Separable: the kernel is exp(-dx²/2σ²) exp(-dy²/2σ²), and
 * numerator and weight are convolved along rows then columns, which is the
 * 2-D normalised convolution exactly.
 */
export function gaussianSmooth(grid, sigmaPx) {
  checkGrid(grid);
  if (!(sigmaPx > 0) || !Number.isFinite(sigmaPx)) throw new RangeError(`sigma must be a positive number, not ${sigmaPx}`);
  const { values, rows, cols } = grid;
  const num = new Float64Array(values.length);
  const den = new Float64Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    if (!Number.isNaN(values[i])) {
      num[i] = values[i];
      den[i] = 1;
    }
  }
  const half = gaussianHalfKernel(sigmaPx);
  const [rowNum, rowDen] = convolvePass(num, den, rows, cols, half, true);
  const [outNum, outDen] = convolvePass(rowNum, rowDen, rows, cols, half, false);
  const out = new Float32Array(values.length);
  for (let i = 0; i < out.length; i += 1) out[i] = Number.isNaN(values[i]) ? NaN : outNum[i] / outDen[i];
  return { values: out, rows, cols };
}

export const SMOOTHING_MODES = ["none", "block", "gaussian"];

/**
 * The block size smoothForContours(grid, mode, k) averages the grid by
 * first (its `scale`): k for "block", 1 for "none", and for "gaussian" of
 * sigma = k / 2 pixels, floor(sigma / 2) (1, full resolution, below
 * sigma 4, i.e. N < 8).
 *
 * Why a wide Gaussian is applied to block means: the full convolution
 * costs rows x cols x 8 sigma per pass and leaves a full-size grid to
 * contour (1100 x 834 at sigma 2: 240-440 ms to smooth in node on the
 * loaded 2-core machine, about twice that at sigma 4). A b x b block mean
 * is a box of variance b² / 12 per axis, so a Gaussian of
 * sqrt(sigma² - b² / 12) pixels after it gives the same total variance,
 * i.e. the same smoothing of structure wider than the kernel, for b³ times
 * less convolution and b² times fewer cells to contour. The price: the
 * kernel becomes a Gaussian sampled every b pixels and held over each
 * block (a staircase), and contours are interpolated between points b
 * pixels apart. Measured against the full-resolution Gaussian
 * (tests/contours.test.js, b = sigma / 2): a smooth field agrees within
 * 4e-5 of its rms and rings land within 0.1 px of their analytic radius;
 * white noise differs by 0.13 of the smoothed noise's rms. With
 * b = floor(sigma) the noise differed by 0.29 of it, and in the viewer test
 * (a Gaussian of 8 px at N = 8) the ring moved up to 1.6 screen px (0.4 px) in,
 * past its tolerance. Hence b = floor(sigma / 2): a Gaussian of about 2
 * block pixels is left after the blocks.
 */
export function smoothingBlock(mode, k) {
  if (!SMOOTHING_MODES.includes(mode)) throw new RangeError(`unknown smoothing ${JSON.stringify(mode)}`);
  if (mode === "none") return 1;
  if (mode === "block") return k;
  return Math.max(1, Math.floor(k / 4));
}

/**
 * `grid` smoothed for contouring, as DS9 and CARTA do before marching
 * squares: `mode` "none", "block" (k x k block means, blockMean) or
 * "gaussian" (sigma k / 2 pixels, DS9's sigma for a kernel of radius k;
 * on block means of smoothingBlock(mode, k) pixels when that is > 1).
 * Returns {grid, scale}: contour points of `grid` times `scale` are in the
 * pixel units of the input (blockMean's geometry: pad the input to whole
 * blocks for exact positions).
 */
export function smoothForContours(grid, mode, k) {
  const block = smoothingBlock(mode, k);
  if (mode === "none") return { grid, scale: 1 };
  if (mode === "block") return { grid: blockMean(grid, k), scale: k };
  const sigmaPx = k / 2;
  if (block === 1) return { grid: gaussianSmooth(grid, sigmaPx), scale: 1 };
  const remainingPx = Math.sqrt(sigmaPx * sigmaPx - (block * block) / 12);
  return { grid: gaussianSmooth(blockMean(grid, block), remainingPx / block), scale: block };
}

function checkRange(n, low, high) {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`the number of levels must be a positive integer, not ${n}`);
  if (!Number.isFinite(low) || !Number.isFinite(high) || (n > 1 && !(low < high))) {
    throw new RangeError(`levels need finite low < high, not ${low}, ${high}`);
  }
}

// n levels from low to high inclusive, evenly spaced (n = 1: [low]).
export function linearLevels(n, low, high) {
  checkRange(n, low, high);
  if (n === 1) return [low];
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? high : low + ((high - low) * i) / (n - 1)));
}

// n levels from low to high inclusive, evenly spaced in log (low > 0).
export function logLevels(n, low, high) {
  checkRange(n, low, high);
  if (!(low > 0)) throw new RangeError(`logarithmic levels need low > 0, not ${low}`);
  if (n === 1) return [low];
  const ratio = Math.log(high / low) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? high : low * Math.exp(ratio * i)));
}

// Levels typed by a user, "1, 2, 5" or "1 2 5e-3": numbers separated by
// commas and/or spaces, returned ascending without repeats. Throws a
// RangeError naming the first entry that is not a finite number.
export function parseLevels(text) {
  const entries = String(text)
    .split(/[\s,]+/)
    .filter((entry) => entry !== "");
  const levels = entries.map((entry) => {
    const value = Number(entry);
    if (!Number.isFinite(value)) throw new RangeError(`not a contour level: ${JSON.stringify(entry)}`);
    return value;
  });
  return [...new Set(levels)].sort((a, b) => a - b);
}
