// Time of frontend/static/frontend/js/contours.js on a viewport-sized grid
// (1400 x 900 pixels, the goal: <= 200 ms for vectors and contours
// once the tiles are there), and of polarisation.js binVectors on the same
// grid. Prints milliseconds (median of several runs after a warm-up), wall
// clock and this process's CPU time: on a shared machine the wall clock
// includes waiting for a core, so the load average is printed too.
// Run: node bench/bench_contours.mjs
import console from "node:console";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { cpuUsage } from "node:process";

import { contours, linearLevels } from "../frontend/static/frontend/js/contours.js";
import { binVectors } from "../frontend/static/frontend/js/polarisation.js";

const ROWS = 900;
const COLS = 1400;
const RUNS = 7;

// A sky-like field: a few Gaussian blobs over smooth large-scale waves plus
// pixel noise, so the lines are long, wiggly and numerous (a pure smooth
// field would flatter the joiner).
let state = 7;
function uniform() {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 4294967296;
}
const values = new Float32Array(ROWS * COLS);
const q = new Float32Array(ROWS * COLS);
const u = new Float32Array(ROWS * COLS);
for (let r = 0; r < ROWS; r += 1) {
  for (let c = 0; c < COLS; c += 1) {
    const k = r * COLS + c;
    values[k] =
      Math.sin(c / 90) * Math.cos(r / 70) +
      2 * Math.exp(-((c - 400) ** 2 + (r - 300) ** 2) / 8000) +
      1.5 * Math.exp(-((c - 1000) ** 2 + (r - 600) ** 2) / 20000) +
      0.05 * (uniform() - 0.5);
    q[k] = Math.cos(c / 50) + 0.1 * (uniform() - 0.5);
    u[k] = Math.sin(r / 40) + 0.1 * (uniform() - 0.5);
  }
}
// A hole, as where a map ends.
for (let r = 700; r < 800; r += 1) values.fill(NaN, r * COLS + 100, r * COLS + 300);

function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function time(label, run) {
  run();
  const samples = [];
  const cpuSamples = [];
  let result;
  for (let i = 0; i < RUNS; i += 1) {
    const start = performance.now();
    const cpuStart = cpuUsage();
    result = run();
    const cpu = cpuUsage(cpuStart);
    samples.push(performance.now() - start);
    cpuSamples.push((cpu.user + cpu.system) / 1000);
  }
  console.log(
    `${label}: wall median ${median(samples).toFixed(1)} ms (min ${Math.min(...samples).toFixed(1)}), ` +
      `CPU median ${median(cpuSamples).toFixed(1)} ms (min ${Math.min(...cpuSamples).toFixed(1)})`,
  );
  return result;
}

console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} on this machine`);
const grid = { values, rows: ROWS, cols: COLS };
const levels = linearLevels(10, -1, 2.5);
const result = time(`contours ${COLS}x${ROWS}, 10 levels`, () => contours(grid, levels));
const lineCount = result.reduce((n, level) => n + level.lines.length, 0);
const pointCount = result.reduce((n, level) => n + level.lines.reduce((m, line) => m + line.points.length / 2, 0), 0);
console.log(`  ${lineCount} polylines, ${pointCount} points`);
for (const bin of [16, 32]) {
  const segments = time(`binVectors ${COLS}x${ROWS}, bin ${bin}`, () =>
    binVectors({ q, u, rows: ROWS, cols: COLS, bin, flip: true }),
  );
  console.log(`  ${segments.length} vectors`);
}
