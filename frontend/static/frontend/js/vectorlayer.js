// Polarisation vectors over the view, as an OpenLayers vector layer:
// headless segments from the mean Q and U of bins of a fixed size on
// screen (polarisation.js binVectors over the mosaics of the Q and U data
// tiles on screen, viewmosaic.js).

import { binVectors } from "./polarisation.js";

const ol = window.ol;

// Auto scale: the 95th percentile of P in the view spans one bin, so most
// vectors fit their bin and a few bright ones reach into the next.
const AUTO_SCALE_QUANTILE = 0.95;
// A fixed-length vector fills this much of its bin.
const FIXED_FILL = 0.8;

export class VectorLayer {
  constructor() {
    this.colour = "#ffffff";
    this.source = new ol.source.Vector({ wrapX: false });
    this.layer = new ol.layer.Vector({
      source: this.source,
      zIndex: 3,
      visible: false,
      style: () => this.lineStyle,
      updateWhileAnimating: true,
      updateWhileInteracting: true,
    });
    this.setColour(this.colour);
    this.segments = [];
    this.scalePxPerUnit = null;
  }

  setColour(colour) {
    this.colour = colour;
    this.lineStyle = new ol.style.Style({ stroke: new ol.style.Stroke({ color: colour, width: 1.5 }) });
    this.layer.changed();
  }

  clear() {
    this.source.clear();
    this.segments = [];
  }

  /**
   * Vectors from mosaics `q` and `u` over viewGrid `g` (aligned to `bin`
   * tile pixels) and replace the features. options: {binPx, bin,
   * convention, flip, threshold (on P in layer units, or on P / sigma of
   * the bin with `sigma`), fixed (one length for all), scale (screen px per
   * unit of P; null: auto), sigma (per-pixel noise of Q and U over `g`, or
   * null), debias ("none", "mas", "asymptotic": the length's P, with
   * `sigma`)}.
   * Keeps `segments`: [{start, end (view coordinates), p, angleDeg, dx, dy,
   * sigma (of the bin, with `sigma`)}], (dx, dy) the direction on screen
   * (x right, y down).
   */
  draw(q, u, g, { binPx, bin, convention, flip, threshold, fixed, scale, sigma = null, debias = "none" }) {
    const found = binVectors({
      q: q.values,
      u: u.values,
      rows: g.rows,
      cols: g.cols,
      bin,
      convention,
      flip,
      threshold,
      sigma,
      debias: sigma ? debias : "none",
    });
    let pxPerUnit = scale;
    if (!fixed && !(pxPerUnit > 0)) {
      const sorted = found.map((s) => s.p).sort((a, b) => a - b);
      const reference = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(AUTO_SCALE_QUANTILE * sorted.length))] : 0;
      pxPerUnit = reference > 0 ? binPx / reference : 0;
    }
    this.scalePxPerUnit = fixed ? null : pxPerUnit;
    const segments = [];
    const lines = [];
    for (const s of found) {
      const lengthPx = fixed ? FIXED_FILL * binPx : pxPerUnit * s.p;
      if (!(lengthPx > 0)) continue;
      const half = (lengthPx / 2) * g.viewRes;
      const cx = g.x0 + s.x * g.res;
      const cy = g.y0 - s.y * g.res;
      // Screen y points down, view y up.
      const start = [cx - s.dx * half, cy + s.dy * half];
      const end = [cx + s.dx * half, cy - s.dy * half];
      segments.push({ start, end, p: s.p, angleDeg: s.angleDeg, dx: s.dx, dy: s.dy, sigma: s.sigma ?? null });
      lines.push([start, end]);
    }
    this.source.clear(true);
    if (lines.length) this.source.addFeature(new ol.Feature(new ol.geom.MultiLineString(lines)));
    this.segments = segments;
  }
}
