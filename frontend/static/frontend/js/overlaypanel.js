// The Overlays panel: contours of a layer of the same grid and polarisation
// vectors, both computed in the browser from the data tiles on screen and
// recomputed when the view settles or tiles land; their settings in the URL.

import { apiPath, getJson } from "./api.js";
import { el } from "./dom.js";
import { ContourLayer, LEVEL_MODES, levelsOf } from "./contourlayer.js";
import { SMOOTHING_MODES, smoothForContours, smoothingBlock, TooManyPoints } from "./contours.js";
import { CONVENTIONS, DEBIAS_METHODS, sigmaFromIvar } from "./polarisation.js";
import { VectorLayer } from "./vectorlayer.js";
import { layerMosaic, viewGrid } from "./viewmosaic.js";

const $ = (selector) => document.querySelector(selector);
// Tile events come in bursts: recompute once the burst is over.
const RECOMPUTE_DELAY_MS = 60;
const COLOUR = /^#[0-9a-f]{6}$/i;
// Smoothing factors allowed, in pixels of the data tiles on screen.
const MAX_SMOOTHING_PX = 32;

export const DEFAULT_OVERLAYS = {
  contours: false,
  contourLayer: null,
  mode: "list",
  list: "",
  n: 5,
  low: null,
  high: null,
  contourColour: "#ff40ff",
  // DS9's contour defaults (method block, smoothness 4): pixel noise averages
  // down by 4 and the grid to contour shrinks 16-fold, which takes a
  // noise-dominated view from 2.5 s to 178 ms median (bench_overlays.py
  // --noise, README); smooth structure wider than a few pixels keeps its
  // contours.
  smoothing: "block",
  smoothPx: 4,
  vectors: false,
  binPx: 24,
  fixed: false,
  scale: null,
  threshold: 0,
  convention: "IAU",
  vectorColour: "#ffffff",
  // An inverse-variance layer of the same grid giving the noise of Q and U,
  // sigma = 1 / sqrt(ivar): the threshold is then on P / sigma of each bin,
  // and the vector length may be debiased.
  noiseLayer: null,
  debias: "none",
};
// Layers whose name or quantity says they are inverse variance: offered
// first as the noise of Q and U.
const IVAR = /ivar|inverse[ _-]?var/i;

function finite(text) {
  if (text === null || String(text).trim() === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

// The overlay parameters of a view URL (URLSearchParams); bad ones ignored.
export function readOverlayState(params) {
  const state = { ...DEFAULT_OVERLAYS };
  if (params.has("ct")) {
    state.contours = true;
    state.contourLayer = params.get("ct") || null;
  }
  const mode = params.get("ctm");
  if (LEVEL_MODES.includes(mode)) state.mode = mode;
  if (params.has("ctl")) state.list = params.get("ctl");
  const n = finite(params.get("ctn"));
  if (Number.isInteger(n) && n >= 1 && n <= 100) state.n = n;
  state.low = finite(params.get("ctlo"));
  state.high = finite(params.get("cthi"));
  if (COLOUR.test(`#${params.get("ctc")}`)) state.contourColour = `#${params.get("ctc")}`;
  if (SMOOTHING_MODES.includes(params.get("ctsm"))) state.smoothing = params.get("ctsm");
  const smoothPx = finite(params.get("ctsf"));
  if (Number.isInteger(smoothPx) && smoothPx >= 1 && smoothPx <= MAX_SMOOTHING_PX) state.smoothPx = smoothPx;
  state.vectors = params.get("vec") === "1";
  const bin = finite(params.get("vbin"));
  if (Number.isInteger(bin) && bin >= 4 && bin <= 400) state.binPx = bin;
  state.fixed = params.get("vfix") === "1";
  const scale = finite(params.get("vsc"));
  if (scale > 0) state.scale = scale;
  const threshold = finite(params.get("vthr"));
  if (threshold !== null) state.threshold = threshold;
  if (CONVENTIONS.includes(params.get("vconv"))) state.convention = params.get("vconv");
  if (COLOUR.test(`#${params.get("vcol")}`)) state.vectorColour = `#${params.get("vcol")}`;
  state.noiseLayer = params.get("vsig") || null;
  if (state.noiseLayer && DEBIAS_METHODS.includes(params.get("vdb"))) state.debias = params.get("vdb");
  return state;
}

// Write `state` (Overlays.getState) into URLSearchParams: only what is on.
export function writeOverlayState(params, state) {
  if (!state) return;
  if (state.contours) {
    params.set("ct", state.contourLayer || "");
    params.set("ctm", state.mode);
    if (state.mode === "list") params.set("ctl", state.list);
    else {
      params.set("ctn", String(state.n));
      if (state.low !== null) params.set("ctlo", String(state.low));
      if (state.high !== null) params.set("cthi", String(state.high));
    }
    params.set("ctc", state.contourColour.slice(1));
    params.set("ctsm", state.smoothing);
    if (state.smoothing !== "none") params.set("ctsf", String(state.smoothPx));
  }
  if (state.vectors) {
    params.set("vec", "1");
    params.set("vbin", String(state.binPx));
    if (state.fixed) params.set("vfix", "1");
    if (state.scale !== null) params.set("vsc", String(state.scale));
    if (state.threshold) params.set("vthr", String(state.threshold));
    params.set("vconv", state.convention);
    params.set("vcol", state.vectorColour.slice(1));
    if (state.noiseLayer) {
      params.set("vsig", state.noiseLayer);
      if (state.debias !== "none") params.set("vdb", state.debias);
    }
  }
}

function sameGrid(a, b) {
  const keys = ["tile_size", "number_of_levels", "pixel_offset_ra_deg", "pixel_offset_dec_deg"];
  return keys.every((key) => a[key] === undefined || b[key] === undefined || a[key] === b[key]);
}

// How many map pixels one tile pixel of `g`'s level averages: 1 at the
// deepest (native) level, 4 per level above it.
function mapPixelsPerTilePixel(g) {
  const nativeRes = g.grid.getResolution(g.grid.getMaxZoom());
  return Math.max(1, Math.round((g.res / nativeRes) ** 2));
}

export class Overlays extends EventTarget {
  constructor(sky, messages) {
    super();
    this.sky = sky;
    this.messages = messages;
    this.state = { ...DEFAULT_OVERLAYS };
    this.layer = null;
    this.candidates = [];
    this.noiseCandidates = [];
    this.contourLayer = new ContourLayer();
    this.vectorLayer = new VectorLayer();
    sky.addOverlay(this.contourLayer.layer);
    sky.addOverlay(this.vectorLayer.layer);
    // What the last computation found: timings (ms) for the benchmark and
    // whether tiles were still missing, for tests waiting on a finished overlay.
    this.timer = null;
    this.last = { contoursMs: null, vectorsMs: null, waiting: 0, computed: 0 };
    this.controls = {
      contours: $("#contours-on"),
      contourLayer: $("#contour-layer"),
      mode: $("#contour-mode"),
      list: $("#contour-levels"),
      n: $("#contour-n"),
      low: $("#contour-low"),
      high: $("#contour-high"),
      contourColour: $("#contour-colour"),
      smoothing: $("#contour-smoothing"),
      smoothPx: $("#contour-smooth-px"),
      vectors: $("#vectors-on"),
      binPx: $("#vector-bin"),
      fixed: $("#vector-fixed"),
      scale: $("#vector-scale"),
      threshold: $("#vector-threshold"),
      convention: $("#vector-convention"),
      vectorColour: $("#vector-colour"),
      noiseLayer: $("#vector-noise"),
      debias: $("#vector-debias"),
    };
    for (const control of Object.values(this.controls)) {
      control.addEventListener("change", () => this.fromControls());
    }
    const schedule = () => this.schedule();
    for (const event of ["viewchange", "planetile", "flipchange"]) sky.addEventListener(event, schedule);
    sky.addEventListener("loading", (event) => {
      if (event.detail.pending === 0) schedule();
    });
    sky.map.on("rendercomplete", () => {
      if (this.last.waiting) schedule();
    });
    this.showControls();
  }

  getState() {
    return { ...this.state };
  }

  setState(state) {
    this.state = { ...DEFAULT_OVERLAYS, ...state };
    this.showControls();
    this.refresh();
  }

  toggleContours() {
    this.setState({ ...this.state, contours: !this.state.contours });
    this.dispatchEvent(new Event("change"));
  }

  toggleVectors() {
    if (!this.polarisationLayers() && !this.state.vectors) {
      this.messages.info("Polarisation vectors need a layer whose band has Q and U.");
      return;
    }
    this.setState({ ...this.state, vectors: !this.state.vectors });
    this.dispatchEvent(new Event("change"));
  }

  // A batch of ws/events (live.js): contours or vectors reading a layer
  // that was removed or hidden are turned off, saying so.
  liveUpdate(messages) {
    const removed = new Set(messages.filter((m) => m.kind === "layer" && m.event === "removed").map((m) => m.id));
    if (!removed.size) return;
    const next = { ...this.state };
    const off = [];
    if (this.state.contours && this.state.contourLayer && removed.has(this.state.contourLayer)) {
      Object.assign(next, { contours: false, contourLayer: null });
      off.push("Contours");
    }
    const stokes = this.polarisationLayers();
    if (this.state.vectors && stokes && (removed.has(stokes.q) || removed.has(stokes.u))) {
      next.vectors = false;
      off.push("Polarisation vectors");
    }
    if (!off.length) return;
    this.messages.add(`${off.join(" and ")} turned off: a layer they read was removed or is no longer available to you.`, "info", { sticky: true });
    this.setState(next);
    this.dispatchEvent(new Event("change"));
  }

  // The Q and U layer ids of the current layer's band, or null.
  polarisationLayers() {
    const planes = (this.layer && this.layer.stokes_layers) || {};
    return planes.Q && planes.U ? { q: planes.Q, u: planes.U } : null;
  }

  // The convention the layer declares, else the one chosen in the panel.
  convention() {
    const declared = this.layer && this.layer.polarisation_convention;
    return CONVENTIONS.includes(declared) ? declared : this.state.convention;
  }

  async setLayer(layer) {
    this.layer = layer;
    this.candidates = [layer];
    this.noiseCandidates = [];
    this.showControls();
    this.refresh();
    try {
      const siblings = await getJson(apiPath("bands", layer.band_id, "layers"));
      if (this.layer !== layer) return;
      this.candidates = [layer, ...siblings.filter((s) => s.layer_id !== layer.layer_id && sameGrid(s, layer))];
    } catch {
      // The current layer alone is still a valid choice.
    }
    this.noiseCandidates = this.candidates.slice(1);
    this.showControls();
    if (!this.polarisationLayers()) return;
    // The noise of Q and U may be in another band of the map (an "ivar"
    // band next to the Stokes one): offer its layers of the same grid too.
    try {
      const bands = await getJson(apiPath("maps", layer.map_id, "bands"));
      const others = bands.filter((band) => band.band_id !== layer.band_id);
      const lists = await Promise.all(others.map((band) => getJson(apiPath("bands", band.band_id, "layers")).catch(() => [])));
      if (this.layer !== layer) return;
      const known = new Set(this.candidates.map((c) => c.layer_id));
      const more = lists.flat().filter((s) => !known.has(s.layer_id) && sameGrid(s, layer));
      this.noiseCandidates = [...this.noiseCandidates, ...more];
    } catch {
      // The band's own layers are still offered.
    }
    this.showControls();
  }

  // Inverse-variance layers first (by name or quantity), then any other
  // layer of the same grid, in their order.
  orderedNoiseCandidates() {
    const isIvar = (layer) => IVAR.test(`${layer.name || ""} ${layer.quantity || ""} ${layer.layer_id}`);
    return [...this.noiseCandidates.filter(isIvar), ...this.noiseCandidates.filter((layer) => !isIvar(layer))];
  }

  fromControls() {
    const c = this.controls;
    this.state = {
      contours: c.contours.checked,
      contourLayer: c.contourLayer.value || null,
      mode: c.mode.value,
      list: c.list.value,
      n: Math.max(1, Math.min(100, Math.round(finite(c.n.value) || DEFAULT_OVERLAYS.n))),
      low: finite(c.low.value),
      high: finite(c.high.value),
      contourColour: c.contourColour.value,
      smoothing: c.smoothing.value,
      smoothPx: Math.max(1, Math.min(MAX_SMOOTHING_PX, Math.round(finite(c.smoothPx.value) || DEFAULT_OVERLAYS.smoothPx))),
      vectors: c.vectors.checked,
      binPx: Math.max(4, Math.min(400, Math.round(finite(c.binPx.value) || DEFAULT_OVERLAYS.binPx))),
      fixed: c.fixed.checked,
      scale: finite(c.scale.value) > 0 ? finite(c.scale.value) : null,
      threshold: finite(c.threshold.value) || 0,
      convention: c.convention.value,
      vectorColour: c.vectorColour.value,
      noiseLayer: c.noiseLayer.value || null,
      debias: c.noiseLayer.value && DEBIAS_METHODS.includes(c.debias.value) ? c.debias.value : "none",
    };
    this.showControls();
    this.refresh();
    this.dispatchEvent(new Event("change"));
  }

  showControls() {
    const c = this.controls;
    const s = this.state;
    const options = [el("option", { value: "" }, "this layer")];
    const ids = new Set();
    for (const candidate of this.candidates.slice(1)) {
      ids.add(candidate.layer_id);
      options.push(el("option", { value: candidate.layer_id }, candidate.name || candidate.layer_id));
    }
    if (s.contourLayer && !ids.has(s.contourLayer)) options.push(el("option", { value: s.contourLayer }, s.contourLayer));
    c.contourLayer.replaceChildren(...options);
    c.contours.checked = s.contours;
    c.contourLayer.value = s.contourLayer || "";
    c.mode.value = s.mode;
    c.list.value = s.list;
    c.n.value = String(s.n);
    c.low.value = s.low === null ? "" : String(s.low);
    c.high.value = s.high === null ? "" : String(s.high);
    c.contourColour.value = s.contourColour;
    c.smoothing.value = s.smoothing;
    c.smoothPx.value = String(s.smoothPx);
    c.smoothPx.disabled = s.smoothing === "none";
    $("#contour-list-row").hidden = s.mode !== "list";
    $("#contour-range-row").hidden = s.mode === "list";
    const polarised = Boolean(this.polarisationLayers());
    c.vectors.disabled = !polarised && !s.vectors;
    c.vectors.checked = s.vectors;
    c.binPx.value = String(s.binPx);
    c.fixed.checked = s.fixed;
    c.scale.value = s.scale === null ? "" : String(s.scale);
    c.scale.disabled = s.fixed;
    c.threshold.value = s.threshold ? String(s.threshold) : "";
    const declared = this.layer && CONVENTIONS.includes(this.layer.polarisation_convention);
    c.convention.value = this.convention();
    c.convention.disabled = declared;
    c.convention.title = declared ? "The convention the map declares (POLCCONV)" : "Q/U convention of the map: IAU or COSMO (HEALPix, Planck)";
    c.vectorColour.value = s.vectorColour;
    $("#vector-convention-note").textContent = `Q/U ${this.convention()} (${declared ? "declared by the map" : "chosen"})`;
    const noiseOptions = [el("option", { value: "" }, "none: threshold on P")];
    const noiseIds = new Set();
    for (const candidate of this.orderedNoiseCandidates()) {
      noiseIds.add(candidate.layer_id);
      noiseOptions.push(el("option", { value: candidate.layer_id }, `σ = 1/sqrt(${candidate.name || candidate.layer_id})`));
    }
    if (s.noiseLayer && !noiseIds.has(s.noiseLayer)) noiseOptions.push(el("option", { value: s.noiseLayer }, `σ = 1/sqrt(${s.noiseLayer})`));
    c.noiseLayer.replaceChildren(...noiseOptions);
    c.noiseLayer.value = s.noiseLayer || "";
    c.debias.value = s.debias;
    c.debias.disabled = !s.noiseLayer;
    $("#vector-threshold-label").textContent = s.noiseLayer ? "P/σ" : "P";
    c.threshold.title = s.noiseLayer
      ? "Leave out vectors whose P / σ is below this, σ the noise of the bin's mean Q and U"
      : "Leave out vectors whose P is below this (layer units)";
    $("#vector-note").textContent = polarised ? "" : "No Q and U in this layer's band.";
    this.contourLayer.setColour(s.contourColour);
    this.vectorLayer.setColour(s.vectorColour);
  }

  note(id, text) {
    $(id).textContent = text;
  }

  // Redraw now with the new settings (the view has not moved).
  refresh() {
    this.contourLayer.layer.setVisible(this.state.contours);
    this.vectorLayer.layer.setVisible(this.state.vectors && Boolean(this.polarisationLayers()));
    if (!this.state.contours) this.contourLayer.clear();
    if (!this.state.vectors) this.vectorLayer.clear();
    this.schedule();
  }

  schedule() {
    if (!this.state.contours && !this.state.vectors) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.compute(), RECOMPUTE_DELAY_MS);
  }

  // Whether a recomputation is due (tests wait for none).
  recomputeDue() {
    return this.timer !== null;
  }

  compute() {
    this.timer = null;
    const sky = this.sky;
    if (!this.layer || !sky.layer) return;
    let waiting = 0;
    if (this.state.contours) waiting += this.computeContours();
    if (this.state.vectors) waiting += this.computeVectors();
    this.last.waiting = waiting;
    this.last.computed += 1;
  }

  computeContours() {
    const started = performance.now();
    let levels;
    try {
      levels = levelsOf(this.state);
      this.note("#contour-error", "");
    } catch (error) {
      this.note("#contour-error", error.message);
      this.contourLayer.clear();
      return 0;
    }
    // Blocks (of block smoothing, or those a wide Gaussian works on) start on
    // multiples of their size in the tile grid, so they stay
    // on the same sky pixels while the view pans (no shimmer), and the grid
    // is padded to whole blocks so that each block's centre is where its
    // contour points are put (blockMean's geometry).
    const block = smoothingBlock(this.state.smoothing, this.state.smoothPx);
    const probe = viewGrid(this.sky, block);
    if (!probe) return 0;
    const g = { ...probe, rows: Math.ceil(probe.rows / block) * block, cols: Math.ceil(probe.cols / block) * block };
    const grid = layerMosaic(this.sky, this.state.contourLayer || this.layer.layer_id, g);
    const { grid: smooth, scale } = smoothForContours(grid, this.state.smoothing, this.state.smoothPx);
    try {
      this.contourLayer.draw(smooth, g, levels, scale);
    } catch (error) {
      if (!(error instanceof TooManyPoints)) throw error;
      this.note("#contour-error", error.message);
      this.contourLayer.clear();
    }
    this.last.contoursMs = performance.now() - started;
    return grid.waiting;
  }

  computeVectors() {
    const planes = this.polarisationLayers();
    if (!planes) {
      this.vectorLayer.clear();
      return 0;
    }
    const started = performance.now();
    const probe = viewGrid(this.sky);
    if (!probe) return 0;
    // Bins of binPx screen pixels, in whole tile pixels (at least one).
    const bin = Math.max(1, Math.round((this.state.binPx * probe.viewRes) / probe.res));
    const g = viewGrid(this.sky, bin);
    const q = layerMosaic(this.sky, planes.q, g);
    const u = layerMosaic(this.sky, planes.u, g);
    const ivar = this.state.noiseLayer ? layerMosaic(this.sky, this.state.noiseLayer, g) : null;
    this.vectorLayer.draw(q, u, g, {
      binPx: (bin * g.res) / g.viewRes,
      bin,
      convention: this.convention(),
      flip: this.sky.flip,
      threshold: this.state.threshold,
      fixed: this.state.fixed,
      scale: this.state.scale,
      sigma: ivar ? sigmaFromIvar(ivar.values, mapPixelsPerTilePixel(g)) : null,
      debias: this.state.debias,
    });
    this.last.vectorsMs = performance.now() - started;
    return q.waiting + u.waiting + (ivar ? ivar.waiting : 0);
  }
}
