// Linked panels (issue 14 section 3): 1, 2 (side by side) or 4 (2 x 2) maps
// in #map-area, each with its own layer and colour settings, all sharing the
// main map's ol.View, so a pan or zoom in one moves every panel in the same
// frame. The cursor in any panel is mirrored as a crosshair in the others and
// the readout lists every panel's value there. The sidebar's Colour panel
// edits the active panel (click a panel to make it active); the panel lock
// applies the active panel's scale to all.
//
// Panel 0 is the viewer's own SkyMap (#map), whose layer main.js keeps; the
// others are SkyMaps made here. Overlays (catalogues, boxes, marker,
// aperture) are drawn in every panel, as DS9 frames and CARTA panels do: the
// same vector sources under one more layer per panel; clicking them, drawing
// and popups stay on the main panel.

import { apiPath, getJson } from "./api.js";
import { el } from "./dom.js";
import { concerns, goneMessage, replacementFor, rewrittenEvent } from "./live.js";
import { SkyMap } from "./mapview.js";
import { valueText, blockNote } from "./planes.js";
import { DEFAULT_ASINH_A, DEFAULT_GAMMA, STRETCHES, withHisteq } from "./stretch.js";

const ol = window.ol;

export const PANEL_COUNTS = [1, 2, 4];
const CROSSHAIR_COLOUR = "#00ffff";
// Where panel k of n sits in #map-area: [left, top, width, height] in percent.
const LAYOUTS = {
  1: [[0, 0, 100, 100]],
  2: [
    [0, 0, 50, 100],
    [50, 0, 50, 100],
  ],
  4: [
    [0, 0, 50, 50],
    [50, 0, 50, 50],
    [0, 50, 50, 50],
    [50, 50, 50, 50],
  ],
};

function crosshairLayer() {
  const source = new ol.source.Vector();
  const layer = new ol.layer.Vector({
    source,
    zIndex: 40,
    style: new ol.style.Style({
      image: new ol.style.RegularShape({
        points: 4,
        radius: 12,
        radius2: 0,
        angle: 0,
        stroke: new ol.style.Stroke({ color: CROSSHAIR_COLOUR, width: 2 }),
      }),
    }),
  });
  return layer;
}

export class Panels {
  constructor(viewer, area, { gl, exact }) {
    this.viewer = viewer;
    this.area = area;
    this.options = { gl, exact };
    this.count = 1;
    this.active = 0;
    this.lock = false;
    // Layer and colour of panels taken away, so cycling back restores them.
    this.remembered = [];
    this.position = null;
    this.pointerPanel = null;
    const main = viewer.sky;
    main.map.getTargetElement().dataset.panel = "0";
    this.panels = [this.makePanel(0, main, main.map.getTargetElement())];
    this.lockBox = document.querySelector("#panel-lock");
    this.lockBox.addEventListener("change", () => this.setLock(this.lockBox.checked));
    document.querySelector("#panels-button").addEventListener("click", () => this.cycle());
    document.querySelector("#graticule").addEventListener("change", (event) => {
      for (const panel of this.others()) panel.sky.setGraticuleVisible(event.target.checked);
    });
    main.addEventListener("flipchange", () => {
      for (const panel of this.others()) panel.sky.setFlip(main.flip);
      this.drawCrosshairs();
    });
    // The main map gets a new view when its layer's grid changes: every panel follows.
    main.map.on("change:view", () => {
      for (const panel of this.others()) panel.sky.map.setView(main.view);
    });
    // "Limits from this view" read the active panel's data tiles.
    if (viewer.colour.viewData) viewer.colour.viewData = () => this.activePanel().sky.visibleData();
    new ResizeObserver(() => this.updateSize()).observe(area);
    this.valuesRoot = document.querySelector("#readout-panels");
  }

  makePanel(index, sky, element) {
    const label = el("div", { className: "panel-label" });
    element.append(label);
    const crosshair = crosshairLayer();
    sky.map.addLayer(crosshair);
    const panel = { index, sky, element, label, crosshair, layer: null, histogram: null, colour: null };
    element.addEventListener("pointerdown", () => this.setActive(panel.index));
    sky.map.on("pointermove", (event) => {
      if (event.dragging) return;
      this.pointerAt(panel, sky.skyAtPixel(event.pixel));
    });
    sky.map.getViewport().addEventListener("pointerleave", () => this.pointerAt(panel, null));
    sky.addEventListener("rendercomplete", () => this.showValues());
    return panel;
  }

  others() {
    return this.panels.slice(1);
  }

  activePanel() {
    return this.panels[this.active];
  }

  // --- layout -------------------------------------------------------------

  cycle() {
    const next = PANEL_COUNTS[(PANEL_COUNTS.indexOf(this.count) + 1) % PANEL_COUNTS.length];
    this.setCount(next);
  }

  // `restore`: [{layer, colour}] for panels 1.. (from a link).
  async setCount(count, restore = []) {
    if (!PANEL_COUNTS.includes(count) || count === this.count) return;
    const before = this.count;
    if (this.active >= count) await this.setActive(0);
    while (this.panels.length > count) this.removePanel();
    this.count = count;
    this.layout();
    const loads = [];
    for (let k = before; k < count; k += 1) {
      const saved = restore[k - 1] || this.remembered[k] || {};
      const layerId = saved.layer || (this.viewer.layer && this.viewer.layer.layer_id);
      this.panels.push(this.addPanel(k));
      if (layerId) loads.push(this.loadLayer(k, layerId, saved.colour || null));
    }
    this.layout();
    await Promise.all(loads);
    // A new panel is where the next layer chosen in the menu goes.
    if (count > before && !restore.length) await this.setActive(before);
    this.viewer.saveUrl();
  }

  addPanel(index) {
    const main = this.viewer.sky;
    const element = el("div", { className: "sky-map", tabIndex: 0, dataset: { panel: String(index) } });
    element.setAttribute("aria-label", `Sky map, panel ${index + 1}`);
    const after = this.panels[this.panels.length - 1].element;
    after.after(element);
    const sky = new SkyMap(element, { ...this.options, view: main.view });
    sky.setFlip(main.flip);
    sky.setGraticuleVisible(main.graticuleVisible);
    sky.addEventListener("tileerror", (event) => {
      const error = event.detail;
      this.viewer.messages.error(`Tiles (panel ${index + 1}): ${error.detail || error.message}`);
    });
    const panel = this.makePanel(index, sky, element);
    this.mirrorOverlays(sky);
    return panel;
  }

  removePanel() {
    const panel = this.panels.pop();
    this.remembered[panel.index] = { layer: panel.layer && panel.layer.layer_id, colour: panel.colour };
    panel.sky.map.setTarget(null);
    panel.sky.map.dispose();
    panel.element.remove();
  }

  // The main panel's overlays, drawn again in `sky` from the same sources.
  mirrorOverlays(sky) {
    const mirrors = new Map();
    const mirror = (layer) => {
      if (!(layer instanceof ol.layer.Vector)) return;
      const copy = new ol.layer.Vector({
        source: layer.getSource(),
        style: layer.getStyle(),
        zIndex: layer.getZIndex(),
        visible: layer.getVisible(),
      });
      layer.on("change:visible", () => copy.setVisible(layer.getVisible()));
      mirrors.set(layer, copy);
      sky.addOverlay(copy);
    };
    const layers = this.viewer.sky.overlayGroup.getLayers();
    layers.forEach(mirror);
    layers.on("add", (event) => mirror(event.element));
    layers.on("remove", (event) => {
      const copy = mirrors.get(event.element);
      if (copy) sky.overlayGroup.getLayers().remove(copy);
      mirrors.delete(event.element);
    });
  }

  layout() {
    const boxes = LAYOUTS[this.count];
    document.body.classList.toggle("multi-panel", this.count > 1);
    this.panels.forEach((panel, k) => {
      const [left, top, width, height] = boxes[k];
      Object.assign(panel.element.style, {
        left: `${left}%`,
        top: `${top}%`,
        width: `${width}%`,
        height: `${height}%`,
        right: "auto",
        bottom: "auto",
      });
      panel.element.classList.toggle("panel-active", this.count > 1 && k === this.active);
    });
    if (this.count === 1) {
      for (const name of ["left", "top", "width", "height", "right", "bottom"]) this.panels[0].element.style[name] = "";
    }
    this.lockBox.disabled = this.count === 1;
    this.showLabels();
    this.updateSize();
  }

  updateSize() {
    for (const panel of this.panels) panel.sky.map.updateSize();
  }

  showLabels() {
    for (const panel of this.panels) {
      const layer = panel.index === 0 ? this.viewer.layer : panel.layer;
      panel.label.hidden = this.count === 1;
      panel.label.textContent = `${panel.index + 1}${layer ? ` \u00b7 ${layer.name}` : ""}`;
    }
  }

  // --- layers and colours -------------------------------------------------

  // The layer menu's choice goes to the active panel.
  selectLayer(layerId) {
    if (this.active === 0) return this.viewer.selectLayer(layerId);
    return this.loadLayer(this.active, layerId, null);
  }

  // Panel `index` shows `layerId` with `colour` (from a link), else the
  // locked scale, else the layer's settings as last shown in this page, else its defaults.
  async loadLayer(index, layerId, colour) {
    const panel = this.panels[index];
    const messages = this.viewer.messages;
    const colourPanel = this.viewer.colour;
    let layer;
    let histogram = null;
    try {
      layer = await getJson(apiPath("layers", layerId));
    } catch (error) {
      messages.error(`Layer \u201c${layerId}\u201d (panel ${index + 1}): ${error.detail || error.message}`);
      return false;
    }
    try {
      histogram = await getJson(apiPath("histograms", "data", layerId));
    } catch (error) {
      messages.error(`Histogram of ${layer.name}: ${error.detail || error.message}`);
    }
    if (this.panels[index] !== panel) return false;
    const locked = this.lock ? this.rawColour(this.activePanel()) : null;
    const chosen = colour || locked || colourPanel.memory.get(layer.layer_id) || {};
    panel.layer = layer;
    panel.histogram = histogram;
    panel.colour = { ...colourPanel.defaultsFor(layer, histogram), ...chosen };
    panel.sky.setLayer(layer, withHisteq({ ...panel.colour }, histogram));
    if (this.active === index) {
      await colourPanel.setLayer(layer, histogram, panel.colour);
      this.viewer.colourBar.draw();
      this.viewer.menu.setActive(layer.layer_id);
    }
    this.showLabels();
    this.viewer.saveUrl();
    return true;
  }

  // --- live events (live.js) ------------------------------------------------

  // A batch of ws/events (`full`: read everything again): each other panel
  // whose layer they may concern reads it again, as the main panel does.
  async liveUpdate(messages, full) {
    const due = this.others().filter((panel) => panel.layer && (full || messages.some((m) => concerns(m, panel.layer))));
    await Promise.all(due.map((panel) => this.recheckPanel(panel, rewrittenEvent(messages, panel.layer))));
  }

  // Gone -> the panel moves to another layer with the main panel's message;
  // a rewritten file -> its tiles fetched again (a new v=) in the same view.
  async recheckPanel(panel, rewritten) {
    const layer = panel.layer;
    const current = () => this.panels[panel.index] === panel && panel.layer === layer;
    let fresh;
    try {
      fresh = await getJson(apiPath("layers", layer.layer_id));
    } catch (error) {
      if (error.status !== 404) return;
      const next = await replacementFor(layer);
      if (!current()) return;
      this.viewer.messages.add(`Panel ${panel.index + 1}: ${goneMessage(layer, next)}`, "info", { sticky: true });
      if (next) await this.loadLayer(panel.index, next.layer_id, this.rawColour(panel));
      else this.clearPanel(panel);
      return;
    }
    if (rewritten && fresh.file_version === undefined && rewritten.version !== undefined) {
      fresh.file_version = rewritten.version;
    }
    const newFile = Boolean(rewritten) || fresh.file_version !== layer.file_version;
    if (!current() || (!newFile && JSON.stringify(fresh) === JSON.stringify(layer))) return;
    let histogram = panel.histogram;
    if (newFile) {
      try {
        histogram = await getJson(apiPath("histograms", "data", fresh.layer_id));
      } catch {
        // The old histogram still serves this panel's histeq stretch.
      }
      if (!current()) return;
    }
    const colour = this.rawColour(panel);
    panel.layer = fresh;
    panel.histogram = histogram;
    if (newFile) panel.sky.setLayer(fresh, withHisteq({ ...colour }, histogram));
    if (newFile && this.active === panel.index) {
      await this.viewer.colour.setLayer(fresh, histogram, colour);
      this.viewer.colourBar.draw();
    }
    this.showLabels();
    this.viewer.saveUrl();
  }

  // Nothing left for `panel` to show.
  clearPanel(panel) {
    panel.layer = null;
    if (panel.sky.tileLayer) panel.sky.map.removeLayer(panel.sky.tileLayer);
    panel.sky.tileLayer = null;
    if (this.active === panel.index) this.viewer.menu.setActive(null);
    this.showLabels();
    this.viewer.saveUrl();
  }

  // The settings a panel shows: the Colour panel's while it is active.
  rawColour(panel) {
    if (panel.index === this.active) return { ...this.viewer.colour.colour };
    return panel.colour ? { ...panel.colour } : null;
  }

  // With the panel lock, the scale a newly loaded main layer takes: the other panels'.
  lockedColour() {
    if (!this.lock || this.count === 1) return null;
    return this.rawColour(this.panels[1]);
  }

  // The main panel's colour, for the URL and cut-outs whichever panel is active.
  mainColour() {
    if (this.active === 0) return this.viewer.colour.getColour();
    const main = this.panels[0];
    return withHisteq({ ...main.colour }, main.histogram);
  }

  // The Colour panel changed the active panel's settings (and, locked, every panel's).
  setColour(colour) {
    const active = this.activePanel();
    active.sky.setColour(colour);
    if (!this.lock) return;
    const raw = { ...this.viewer.colour.colour };
    for (const panel of this.panels) {
      if (panel === active) continue;
      panel.colour = { ...raw };
      panel.sky.setColour(withHisteq({ ...raw }, panel.histogram));
    }
  }

  setLock(on) {
    this.lock = on;
    this.lockBox.checked = on;
    if (on) this.setColour(this.viewer.colour.getColour());
    this.viewer.saveUrl();
  }

  // Make panel `index` the one the Colour panel and the layer menu act on.
  async setActive(index) {
    if (index === this.active || index >= this.panels.length) return;
    const colourPanel = this.viewer.colour;
    const leaving = this.activePanel();
    leaving.layer = colourPanel.layer;
    leaving.histogram = colourPanel.histogram;
    leaving.colour = { ...colourPanel.colour };
    this.active = index;
    this.layout();
    const panel = this.activePanel();
    if (panel.layer) {
      await colourPanel.setLayer(panel.layer, panel.histogram, panel.colour);
      this.viewer.colourBar.draw();
    }
    this.viewer.menu.setActive(panel.layer ? panel.layer.layer_id : null);
  }

  // The main panel is about to load a layer (menu, history, link).
  activateMain() {
    if (this.active !== 0) this.setActive(0);
  }

  // --- cursor: crosshairs and values ---------------------------------------

  pointerAt(panel, position) {
    this.position = position;
    this.pointerPanel = position ? panel : null;
    if (panel.index !== 0) this.viewer.readout.show(position);
    this.drawCrosshairs();
    this.showValues();
  }

  drawCrosshairs() {
    for (const panel of this.panels) {
      const source = panel.crosshair.getSource();
      source.clear();
      if (!this.position || panel === this.pointerPanel || this.count === 1) continue;
      const { raDeg, decDeg } = this.position;
      source.addFeature(new ol.Feature(new ol.geom.Point([panel.sky.xNearView(raDeg), decDeg])));
    }
  }

  // Every panel's value at the cursor, from its own loaded data tiles.
  showValues() {
    if (!this.valuesRoot) return;
    if (this.count === 1 || !this.position) {
      this.valuesRoot.replaceChildren();
      return;
    }
    const { raDeg, decDeg } = this.position;
    const parts = this.panels.map((panel) => {
      const layer = panel.index === 0 ? this.viewer.layer : panel.layer;
      const hit = panel.sky.loadedValueAt(raDeg, decDeg);
      const text = hit ? [valueText(hit), layer && layer.units, blockNote(hit.blockSize)].filter(Boolean).join(" ") : "\u2014";
      return el(
        "span",
        { className: "panel-value", dataset: { panel: String(panel.index + 1) } },
        el("b", {}, `${panel.index + 1}${layer ? ` ${layer.name}` : ""}: `),
        el("span", { className: "value" }, text),
      );
    });
    this.valuesRoot.replaceChildren(...parts);
  }

  // --- the URL -------------------------------------------------------------

  urlState() {
    return {
      count: this.count,
      lock: this.lock,
      panels: this.others().map((panel) => ({
        layer: panel.layer ? panel.layer.layer_id : null,
        colour: this.rawColour(panel),
      })),
    };
  }

  async restore(saved) {
    if (!saved || saved.count === 1) return;
    await this.setCount(saved.count, saved.panels);
    if (saved.lock) {
      this.lock = true;
      this.lockBox.checked = true;
    }
  }
}

// --- URL: panels=N, p2=layer, p2vmin=..., p2cmap=... (as the main panel's), plock=1

const COLOUR_NUMBERS = ["vmin", "vmax", "asinh_a", "gamma"];
const DEFAULTS = { asinh_a: DEFAULT_ASINH_A, gamma: DEFAULT_GAMMA };

function readColour(params, prefix) {
  const colour = {};
  for (const name of COLOUR_NUMBERS) {
    const text = params.get(`${prefix}${name}`);
    const value = text === null || text.trim() === "" ? NaN : Number(text);
    if (Number.isFinite(value)) colour[name] = value;
  }
  if (!(colour.vmin < colour.vmax)) {
    delete colour.vmin;
    delete colour.vmax;
  }
  for (const name of ["asinh_a", "gamma"]) if (!(colour[name] > 0)) delete colour[name];
  const cmap = params.get(`${prefix}cmap`);
  if (cmap) colour.cmap = cmap;
  for (const name of ["log", "abs"]) {
    const text = params.get(`${prefix}${name}`);
    if (text === "1" || text === "0") colour[name] = text === "1";
  }
  const stretch = params.get(`${prefix}stretch`);
  if (STRETCHES.includes(stretch)) colour.stretch = stretch;
  return Object.keys(colour).length ? colour : null;
}

export function readPanelState(params) {
  const count = Number(params.get("panels"));
  if (!PANEL_COUNTS.includes(count) || count === 1) return { count: 1, lock: false, panels: [] };
  const panels = [];
  for (let k = 2; k <= count; k += 1) {
    panels.push({ layer: params.get(`p${k}`) || null, colour: readColour(params, `p${k}`) });
  }
  return { count, lock: params.get("plock") === "1", panels };
}

export function writePanelState(params, state) {
  if (!state || state.count === 1) return;
  params.set("panels", String(state.count));
  state.panels.forEach((panel, i) => {
    const prefix = `p${i + 2}`;
    if (panel.layer) params.set(prefix, panel.layer);
    const colour = panel.colour;
    if (!colour) return;
    params.set(`${prefix}vmin`, String(colour.vmin));
    params.set(`${prefix}vmax`, String(colour.vmax));
    params.set(`${prefix}cmap`, colour.cmap);
    params.set(`${prefix}log`, colour.log ? "1" : "0");
    params.set(`${prefix}abs`, colour.abs ? "1" : "0");
    if (colour.stretch && colour.stretch !== "linear") params.set(`${prefix}stretch`, colour.stretch);
    for (const name of ["asinh_a", "gamma"]) {
      if (colour[name] !== undefined && colour[name] !== DEFAULTS[name]) params.set(`${prefix}${name}`, String(colour[name]));
    }
  });
  if (state.lock) params.set("plock", "1");
}
