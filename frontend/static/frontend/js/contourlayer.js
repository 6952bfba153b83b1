// Contour lines of a layer over the view, as an OpenLayers vector layer:
// marching squares (contours.js) over the mosaic of the data tiles on
// screen (viewmosaic.js), one label per line with its level.

import { contours, linearLevels, logLevels, parseLevels } from "./contours.js";
import { formatNumber } from "./sky.js";

const ol = window.ol;

export const LEVEL_MODES = ["list", "linear", "log"];
// A line shorter than this on screen gets no label: it would hide it.
const LABEL_MIN_PX = 60;
// Past this many points the lines are noise, not structure, and drawing them
// would freeze the page: a noise-dominated 1100 x 834 view at 10 levels gave
// 200 000 lines and took 2.5 s without smoothing (bench/bench_overlays.py).
export const MAX_CONTOUR_POINTS = 200_000;

// The levels of `spec` ({mode, list, n, low, high}); throws a RangeError
// with a message for the user when they make no sense.
export function levelsOf(spec) {
  if (spec.mode === "list") {
    const levels = parseLevels(spec.list);
    if (!levels.length) throw new RangeError("type one or more levels, e.g. 1, 2, 5");
    return levels;
  }
  const make = spec.mode === "log" ? logLevels : linearLevels;
  return make(spec.n, spec.low, spec.high);
}

export function levelText(level) {
  return formatNumber(level, 4);
}

// The midpoint (by length) of a polyline in screen pixels: where its label goes.
function midpoint(points, viewRes) {
  let total = 0;
  for (let i = 2; i < points.length; i += 2) total += Math.hypot(points[i] - points[i - 2], points[i + 1] - points[i - 1]);
  if (total / viewRes < LABEL_MIN_PX) return null;
  let walked = 0;
  for (let i = 2; i < points.length; i += 2) {
    const step = Math.hypot(points[i] - points[i - 2], points[i + 1] - points[i - 1]);
    if (walked + step >= total / 2) {
      const t = step > 0 ? (total / 2 - walked) / step : 0;
      return [points[i - 2] + t * (points[i] - points[i - 2]), points[i - 1] + t * (points[i + 1] - points[i - 1])];
    }
    walked += step;
  }
  return null;
}

export class ContourLayer {
  constructor() {
    this.colour = "#ff40ff";
    this.source = new ol.source.Vector({ wrapX: false });
    this.layer = new ol.layer.Vector({
      source: this.source,
      zIndex: 2,
      visible: false,
      style: (feature) => this.style(feature),
      updateWhileAnimating: true,
      updateWhileInteracting: true,
    });
    this.labels = [];
    this.lineCount = 0;
  }

  style(feature) {
    const text = feature.get("label");
    if (text === undefined) return new ol.style.Style({ stroke: new ol.style.Stroke({ color: this.colour, width: 1.5 }) });
    return new ol.style.Style({
      zIndex: 1,
      text: new ol.style.Text({
        text,
        font: "bold 11px system-ui, sans-serif",
        fill: new ol.style.Fill({ color: this.colour }),
        stroke: new ol.style.Stroke({ color: "rgba(10, 12, 16, 0.85)", width: 3 }),
        overflow: true,
      }),
    });
  }

  setColour(colour) {
    this.colour = colour;
    this.layer.changed();
  }

  clear() {
    this.source.clear();
    this.labels = [];
    this.lineCount = 0;
  }

  // Contour `grid` (a mosaic over viewGrid `g`, smoothed: `scale` mosaic
  // pixels per grid pixel, smoothForContours) at `levels` and replace the
  // features. Points go from mosaic pixels (centre of pixel c at c + 0.5)
  // to view coordinates; the mosaic is already mirrored for flip and
  // shifted by the pixel offset, so nothing else is needed here. Throws
  // TooManyPoints (features untouched) past MAX_CONTOUR_POINTS.
  draw(grid, g, levels, scale = 1) {
    const features = [];
    const labels = [];
    let lineCount = 0;
    const res = g.res * scale;
    for (const { level, lines } of contours(grid, levels, { maxPoints: MAX_CONTOUR_POINTS })) {
      const coordinates = [];
      const text = levelText(level);
      for (const { points } of lines) {
        const view = new Array(points.length / 2);
        for (let i = 0; i < points.length; i += 2) view[i / 2] = [g.x0 + points[i] * res, g.y0 - points[i + 1] * res];
        coordinates.push(view);
        for (let i = 0; i < points.length; i += 1) points[i] = i % 2 ? g.y0 - points[i] * res : g.x0 + points[i] * res;
        const at = midpoint(points, g.viewRes);
        if (at) {
          labels.push({ level, text, coordinate: at });
          features.push(new ol.Feature({ geometry: new ol.geom.Point(at), label: text }));
        }
      }
      lineCount += lines.length;
      if (coordinates.length) features.push(new ol.Feature({ geometry: new ol.geom.MultiLineString(coordinates), level }));
    }
    this.source.clear(true);
    this.source.addFeatures(features);
    this.labels = labels;
    this.lineCount = lineCount;
  }
}
