// Bias and RMS error of the polarised-intensity estimators of
// frontend/static/frontend/js/polarisation.js on simulated noisy Q, U
// (sigma = 1, true P along Q), the numbers quoted in its comments.
// Run: node bench/bench_debias.mjs
import console from "node:console";

import { debiasedIntensity, DEBIAS_METHODS } from "../frontend/static/frontend/js/polarisation.js";

const DRAWS = 200000;
let state = 12345;
// A fixed-seed generator, so the printed table is the same on every run.
function uniform() {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return (state + 0.5) / 4294967296;
}
function gaussian() {
  return Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

console.log("true_p  method      mean_bias  rms_error  exact_zeros");
for (const trueP of [0, 0.5, 1, 2, 3, 5]) {
  const draws = Array.from({ length: DRAWS }, () => Math.hypot(trueP + gaussian(), gaussian()));
  for (const method of DEBIAS_METHODS) {
    let sum = 0;
    let sumSq = 0;
    let zeros = 0;
    for (const p of draws) {
      const estimate = debiasedIntensity(p, 1, method);
      sum += estimate - trueP;
      sumSq += (estimate - trueP) ** 2;
      if (estimate === 0) zeros += 1;
    }
    const row = [
      trueP.toFixed(1).padStart(6),
      method.padEnd(10),
      (sum / DRAWS).toFixed(3).padStart(9),
      Math.sqrt(sumSq / DRAWS).toFixed(3).padStart(9),
      (zeros / DRAWS).toFixed(3).padStart(11),
    ];
    console.log(row.join("  "));
  }
}
