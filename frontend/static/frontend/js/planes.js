// The value readout's text: one value, or every Stokes plane of an I/Q/U
// map the caller may see plus P = sqrt(Q^2 + U^2), from loaded data tiles.

import { formatBound, formatFloat32 } from "./datatile.js";

const STOKES = ["I", "Q", "U"];
export const PENDING = "\u2026";

// The planes to read out for `layer` (GET /layers/{id}): [{plane, layerId,
// active}] in I, Q, U order; [] when its band shows the caller no plane
// beside the layer itself, and one value is all there is.
export function readoutPlanes(layer) {
  const visible = (layer && layer.stokes_layers) || {};
  const planes = STOKES.filter((plane) => visible[plane]).map((plane) => ({
    plane,
    layerId: visible[plane],
    active: visible[plane] === layer.layer_id,
  }));
  return planes.length > 1 && planes.some((p) => p.active) ? planes : [];
}

// A tile value as text: the file's float32 exactly (or the block mean), with
// the tile's worst error when its encoding is lossy (rounded up, so the
// bound shown is never tighter than the true one).
export function valueText({ value, maxError }) {
  if (Number.isNaN(value)) return "no data";
  const text = formatFloat32(value);
  return maxError > 0 ? `${text} \u00b1 ${formatBound(maxError)}` : text;
}

export function blockNote(blockSize) {
  return blockSize > 1 ? `(mean of ${blockSize}\u00d7${blockSize})` : "";
}

// P from float32 Q and U: computed in double, shown as the nearest float32
// so it reads like the planes. Its error is at most hypot of theirs
// (|dP| <= |(dQ, dU)| by the triangle inequality).
function polarisedValue(q, u) {
  const value = Math.fround(Math.hypot(q.value, u.value));
  return { value, maxError: Math.hypot(q.maxError || 0, u.maxError || 0) };
}

// `values`: by plane, {status: "ok", value, maxError} or {status: "loading"}
// or {status: "missing"} (hidden, 404, failed). Returns [{plane, text,
// active}] for the planes that exist, P last when Q and U both do.
export function planeTexts(planes, values) {
  const parts = [];
  for (const { plane, active } of planes) {
    const entry = values[plane] || { status: "missing" };
    if (entry.status === "missing") continue;
    parts.push({ plane, active, text: entry.status === "ok" ? valueText(entry) : PENDING });
  }
  const [q, u] = [values.Q, values.U];
  const shown = (entry) => entry && entry.status !== "missing";
  if (shown(q) && shown(u)) {
    const ready = q.status === "ok" && u.status === "ok";
    parts.push({ plane: "P", active: false, text: ready ? valueText(polarisedValue(q, u)) : PENDING });
  }
  return parts;
}
