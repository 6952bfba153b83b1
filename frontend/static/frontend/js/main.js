// The viewer: wires the map, the layer menu, the colour panel, overlays and
// tools together, keeps the whole view in the page URL, and owns the
// keyboard shortcuts.

import { apiPath, getJson, setApiBase } from "./api.js";
import { CatalogueTable, readTableState, writeTableState } from "./catalogue_table.js";
import { ColourPanel } from "./colour.js";
import { ColourBarView } from "./colourbarview.js";
import { Follow } from "./follow.js";
import { DerivedPanel, readDerivedState, writeDerivedState } from "./derivedview.js";
import { Compare, readCompareState, writeCompareState } from "./compare.js";
import { LayerHistory, LayerMenu } from "./layers.js";
import { LiveViewer, eventsUrl } from "./live.js";
import { webglAvailable } from "./gltiles.js";
import { SkyMap } from "./mapview.js";
import { Messages } from "./messages.js";
import { Overlays, readOverlayState, writeOverlayState } from "./overlaypanel.js";
import { Boxes, Catalogues } from "./overlays.js";
import { Panels, readPanelState, writePanelState } from "./panels.js";
import { RegionTools } from "./regiontools.js";
import { raToX } from "./sky.js";
import { DEFAULT_ASINH_A, DEFAULT_GAMMA, STRETCHES } from "./stretch.js";
import { TokenPanel } from "./tokens.js";
import { ApertureTool, Readout } from "./tools.js";

const ol = window.ol;
const config = JSON.parse(document.getElementById("viewer-config").textContent);
setApiBase(config.api_base);

const $ = (selector) => document.querySelector(selector);
const URL_DELAY_MS = 200;

class Viewer {
  constructor() {
    this.messages = new Messages($("#messages"));
    const gl = glWanted();
    // Kept in links as given, so a gl=0 link stays on PNG tiles.
    this.glParam = new URLSearchParams(window.location.search).get("gl");
    // exact=1: exact float32 data tiles and readout (kept in links like gl).
    this.exactParam = new URLSearchParams(window.location.search).get("exact");
    this.sky = new SkyMap("map", { gl: gl.use, exact: flag(new URLSearchParams(window.location.search), "exact") === true });
    this.colour = new ColourPanel($("#colour-panel"), this.messages);
    // Recolouring on the GPU costs no request: follow a dragged handle continuously.
    this.colour.liveDrag = gl.use;
    this.colourBar = new ColourBarView($("#colour-bar"), this.colour);
    // Limits from the view read the data tiles on screen: WebGL mode only.
    if (gl.use) this.colour.viewData = () => this.sky.visibleData();
    this.menu = new LayerMenu($("#layer-tree"), $("#search"), this.messages);
    this.history = new LayerHistory();
    this.derived = new DerivedPanel(this);
    this.layer = null;
    this.loadSequence = 0;
    this.restoring = true;
    const context = () => ({ layer: this.layer, colour: this.panels.mainColour(), flip: this.sky.flip });
    const changed = () => this.saveUrl();
    this.catalogues = new Catalogues(this.sky, $("#catalogue-list"), this.messages, changed);
    this.boxes = new Boxes(this.sky, $("#box-list"), this.messages, context, changed);
    this.catalogueTable = new CatalogueTable($("#catalogue-table-panel"), this.catalogues, { goTo: (position) => this.readout.goTo(position), onChange: changed });
    this.overlays = new Overlays(this.sky, this.messages);
    this.overlays.addEventListener("change", changed);
    this.aperture = new ApertureTool(this.sky, $("#aperture-result"), this.messages, context);
    this.regions = new RegionTools(this.sky, $("#region-panel"), this.messages, context, { username: config.auth && config.auth.username, onChange: changed });
    this.readout = new Readout(
      this.sky,
      {
        button: $("#readout"),
        ra: $("#readout-ra"),
        dec: $("#readout-dec"),
        value: $("#readout-value"),
        form: $("#goto-form"),
        input: $("#goto-input"),
        cancel: $("#goto-cancel"),
        suggestions: $("#goto-suggestions"),
      },
      this.messages,
      changed,
    );
    this.compare = new Compare(this.sky, this.colour, this.menu, compareElements(), this.messages, changed);
    this.popup = new ol.Overlay({
      element: $("#popup"),
      autoPan: { animation: { duration: 200 } },
      positioning: "bottom-center",
      offset: [0, -10],
      stopEvent: true,
    });
    this.sky.map.addOverlay(this.popup);
    this.panels = new Panels(this, $("#map-area"), { gl: gl.use, exact: this.sky.exact });
    this.follow = new Follow(this, followElements(), this.messages);
    this.bind();
    if (gl.note) this.messages.add(gl.note, "info", { sticky: true });
  }

  bind() {
    this.menu.addEventListener("select", (event) => this.panels.selectLayer(event.detail.layerId));
    this.colour.addEventListener("change", (event) => {
      this.panels.setColour(event.detail.colour);
      this.saveUrl();
    });
    this.colour.addEventListener("lockchange", () => this.saveUrl());
    this.sky.addEventListener("viewchange", () => {
      this.saveUrl();
      this.checkVisible();
      this.showScale();
    });
    this.sky.addEventListener("rendercomplete", () => this.checkVisible());
    this.sky.addEventListener("loading", (event) => {
      const pending = event.detail.pending;
      const indicator = $("#loading");
      indicator.hidden = pending === 0;
      indicator.textContent = `loading ${pending} tile${pending === 1 ? "" : "s"}\u2026`;
    });
    $("#sidebar-toggle").addEventListener("click", () => this.toggleSidebar());
    this.sky.addEventListener("tileerror", (event) => {
      const error = event.detail;
      this.messages.error(`Tiles: ${error.detail || error.message}`);
    });
    $("#flip").addEventListener("change", (event) => this.setFlip(event.target.checked));
    $("#graticule").addEventListener("change", (event) => {
      this.sky.setGraticuleVisible(event.target.checked);
      this.saveUrl();
    });
    $("#back").addEventListener("click", () => this.back());
    $("#forward").addEventListener("click", () => this.forward());
    $("#draw-box").addEventListener("click", () => this.toggleBoxDrawing());
    $("#aperture-tool").addEventListener("click", () => this.toggleAperture());
    $("#clear-marker").addEventListener("click", () => {
      this.readout.clearMarker();
      this.aperture.clear();
    });
    $("#help-button").addEventListener("click", () => this.toggleHelp());
    $("#help-close").addEventListener("click", () => this.toggleHelp(false));
    $("#popup-close").addEventListener("click", () => this.closePopup());
    this.sky.map.on("singleclick", (event) => this.clickMap(event));
    document.addEventListener("keydown", (event) => this.keydown(event));
  }

  // --- layers ---------------------------------------------------------------

  async start() {
    const saved = readUrlState();
    this.sky.setFlip(saved.flip ?? true);
    $("#flip").checked = this.sky.flip;
    if (saved.graticule === false) {
      $("#graticule").checked = false;
      this.sky.setGraticuleVisible(false);
    }
    let defaults = { layer: null, default_layer_menu: [] };
    try {
      defaults = await getJson("/layers/default");
    } catch (error) {
      this.messages.error(`Could not load the map list: ${error.detail || error.message}`);
    }
    this.menu.setTree(defaults.default_layer_menu || []);
    const layerId = saved.layer || (defaults.layer && defaults.layer.layer_id);
    const overlaysReady = Promise.all([
      this.catalogues.load(saved.catalogues).then(() => this.catalogueTable.restore(saved.table)),
      this.boxes.load(saved.boxes),
    ]);
    if (saved.marker) this.readout.setMarker(saved.marker);
    this.overlays.setState(saved.overlays);
    this.regions.restore(saved.regions);
    if (layerId) {
      const view = saved.view || { fit: true };
      const ok = await this.selectLayer(layerId, { view, colour: saved.colour });
      if (ok && saved.lock) this.colour.setLock(true);
      if (ok && saved.derived) await this.derived.show(saved.derived, { colour: saved.colour });
      if (ok) await this.compare.restore(saved.compare);
      if (!ok && saved.layer && defaults.layer) {
        await this.selectLayer(defaults.layer.layer_id, { view: { fit: true } });
      }
    } else {
      this.messages.state(
        "layers",
        config.auth && config.auth.login_url && !config.auth.username
          ? "No maps are visible to you. Log in to see restricted maps."
          : "No maps are configured on this server.",
      );
    }
    await this.panels.restore(saved.panels);
    await overlaysReady;
    this.restoring = false;
    this.saveUrl();
    this.live = new LiveViewer(this, eventsUrl(config.api_base, window.location), $("#live-status"));
    this.live.start();
    document.body.classList.add("ready");
    this.follow.begin();
  }

  // The shown layer read again by live.js: a new name or new colour
  // defaults, or (newFile) a rewritten file whose tiles are fetched again
  // in the same view. Colour settings the user changed stay as they are;
  // those still at the old defaults follow the new ones.
  async refreshLayer(fresh, { newFile = false } = {}) {
    const old = this.layer;
    const defaultsChanged = ["vmin", "vmax", "cmap"].some((key) => fresh[key] !== old[key]);
    let histogram = this.colour.histogram;
    if (newFile || defaultsChanged) {
      try {
        histogram = await getJson(apiPath("histograms", "data", fresh.layer_id));
      } catch {
        // The old histogram still serves the colour panel until the next read.
      }
    }
    if (this.layer !== old) return;
    const mainActive = this.panels.active === 0;
    let colour = this.sky.colour;
    if (mainActive) {
      const before = this.colour.defaults;
      const after = this.colour.defaultsFor(fresh, histogram);
      const kept = { ...this.colour.colour };
      for (const key of Object.keys(after)) if (kept[key] === before[key]) kept[key] = after[key];
      await this.colour.setLayer(fresh, histogram, kept);
      if (this.layer !== old) return;
      this.colourBar.draw();
      colour = this.colour.getColour();
    }
    this.layer = fresh;
    if (newFile) {
      this.sky.setLayer(fresh, colour);
      this.readout.setLayer(fresh);
      this.overlays.setLayer(fresh);
    } else {
      this.sky.setColour(colour);
    }
    this.showTitle();
    this.saveUrl();
  }

  // Nothing left to show (live.js: the last visible layer went away).
  clearLayer() {
    this.layer = null;
    if (this.sky.tileLayer) this.sky.map.removeLayer(this.sky.tileLayer);
    this.sky.tileLayer = null;
    this.menu.setActive(null);
    $("#layer-title").textContent = "";
    this.messages.state("layers", "No maps are visible to you.");
  }

  async selectLayer(layerId, { view = null, colour = null, fromHistory = false } = {}) {
    this.panels.activateMain();
    const sequence = ++this.loadSequence;
    let layer;
    let histogram = null;
    try {
      layer = await getJson(apiPath("layers", layerId));
    } catch (error) {
      this.messages.error(`Layer \u201c${layerId}\u201d: ${error.detail || error.message}`);
      return false;
    }
    try {
      histogram = await getJson(apiPath("histograms", "data", layerId));
    } catch (error) {
      this.messages.error(`Histogram of ${layer.name}: ${error.detail || error.message}`);
    }
    if (sequence !== this.loadSequence) return false;
    await this.colour.setLayer(layer, histogram, colour || this.panels.lockedColour());
    if (sequence !== this.loadSequence) return false;
    this.colourBar.draw();
    this.compare.layerShown(layer, this.layer && this.layer.layer_id);
    this.layer = layer;
    this.sky.setLayer(layer, this.colour.getColour(), { view });
    this.readout.setLayer(layer);
    this.overlays.setLayer(layer);
    this.derived.layerShown(layer);
    this.panels.showLabels();
    if (!fromHistory) this.history.visit(layerId);
    this.menu.setActive(layerId);
    this.menu.reveal(layer).then(() => this.showTitle());
    this.showTitle();
    this.updateHistoryButtons();
    this.messages.state("layers", null);
    this.saveUrl();
    return true;
  }

  showTitle() {
    const layer = this.layer;
    if (!layer) return;
    const names = [];
    let entries = this.menu.tree;
    const path = [
      ["map_group_id", "maps", layer.map_group_id],
      ["map_id", "bands", layer.map_id],
      ["band_id", "layers", layer.band_id],
    ];
    for (const [idKey, childKey, id] of path) {
      const entry = (entries || []).find((e) => e[idKey] === id);
      names.push(entry ? entry.name : id);
      entries = entry ? entry[childKey] : [];
    }
    names.push(layer.name);
    $("#layer-title").textContent = names.join(" \u203a ");
    $("#layer-title").title = layer.description || "";
    document.title = `${layer.name} \u2014 TileMaker`;
  }

  showScale() {
    const resolution = this.sky.view.getResolution();
    if (!resolution) return;
    const arcmin = resolution * 60;
    const scale = arcmin >= 1 ? `${Number(arcmin.toPrecision(3))}\u2032` : `${Number((arcmin * 60).toPrecision(3))}\u2033`;
    $("#scale").textContent = `zoom ${this.sky.getZoomLevel()} \u00b7 ${scale}/px`;
  }

  updateHistoryButtons() {
    $("#back").disabled = !this.history.canGoBack();
    $("#forward").disabled = !this.history.canGoForward();
  }

  back() {
    const id = this.history.back();
    if (id) this.selectLayer(id, { fromHistory: true });
    this.updateHistoryButtons();
  }

  forward() {
    const id = this.history.forward();
    if (id) this.selectLayer(id, { fromHistory: true });
    this.updateHistoryButtons();
  }

  setFlip(flip) {
    this.sky.setFlip(flip);
    $("#flip").checked = flip;
    this.closePopup();
    this.saveUrl();
  }

  // --- messages about what is (not) on screen ------------------------------

  checkVisible() {
    if (!this.layer) return;
    const status = this.sky.visibleTileStatus();
    if (status && status.ok === 0 && status.missing > 0 && status.pending === 0) {
      this.messages.state("visible", `No data in this view. ${this.layer.name} covers ${this.sky.describeExtent(this.layer)}.`, [
        { label: "Show the map", run: () => this.sky.fitLayer(this.layer) },
      ]);
    } else if (status && status.ok > 0) {
      this.messages.state("visible", null);
    }
  }

  // --- map clicks, popups, tools -------------------------------------------

  clickMap(event) {
    if (this.boxes.isDrawing() || this.aperture.isActive() || this.regions.isDrawing()) return;
    const feature = this.sky.map.forEachFeatureAtPixel(event.pixel, (f) => f, {
      hitTolerance: 4,
      layerFilter: (layer) => layer.get("catalogue") !== undefined || layer === this.boxes.layer,
    });
    if (!feature) {
      this.closePopup();
      return;
    }
    const body = $("#popup-body");
    if (feature.get("kind") === "source") {
      body.replaceChildren(...this.catalogues.popupContent(feature));
      this.catalogueTable.selectFeature(feature);
      this.popup.setPosition(feature.getGeometry().getCoordinates());
    } else if (feature.get("kind") === "box") {
      body.replaceChildren(...this.boxes.popupContent(feature));
      this.popup.setPosition(event.coordinate);
    }
    $("#popup").hidden = false;
  }

  closePopup() {
    this.popup.setPosition(undefined);
    $("#popup").hidden = true;
  }

  toggleBoxDrawing() {
    if (this.boxes.isDrawing()) {
      this.boxes.stopDrawing();
    } else {
      this.aperture.stop();
      this.boxes.startDrawing((box) => {
        this.syncToolButtons();
        this.messages.info(`Box \u201c${box.name}\u201d added: download its cut-out from the Boxes list.`);
      });
    }
    this.syncToolButtons();
  }

  toggleAperture() {
    if (this.aperture.isActive()) {
      this.aperture.stop();
    } else {
      this.boxes.stopDrawing();
      this.aperture.start(() => this.syncToolButtons());
    }
    this.syncToolButtons();
  }

  syncToolButtons() {
    $("#draw-box").classList.toggle("active", this.boxes.isDrawing());
    $("#aperture-tool").classList.toggle("active", this.aperture.isActive());
  }

  // Hide the sidebar to give the map the whole window; the map keeps its
  // centre and resolution and fills the freed space.
  toggleSidebar() {
    const hidden = document.body.classList.toggle("sidebar-hidden");
    $("#sidebar-toggle").setAttribute("aria-expanded", String(!hidden));
    this.sky.map.updateSize();
  }

  toggleHelp(show) {
    const help = $("#help");
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  // --- keyboard ---------------------------------------------------------------

  keydown(event) {
    const target = event.target;
    const typing =
      target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target.isContentEditable;
    if (event.key === "Escape") {
      this.boxes.stopDrawing();
      this.aperture.stop();
      this.regions.stopDrawing();
      this.syncToolButtons();
      this.closePopup();
      this.toggleHelp(false);
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const actions = {
      h: () => this.back(),
      l: () => this.forward(),
      a: () => this.colour.shift(-1),
      d: () => this.colour.shift(1),
      w: () => this.colour.scale(true),
      s: () => this.colour.scale(false),
      f: () => this.setFlip(!this.sky.flip),
      g: () => this.readout.openGoto(),
      b: () => this.toggleBoxDrawing(),
      c: () => this.toggleAperture(),
      r: () => this.regions.toggleDrawing(),
      k: () => this.overlays.toggleContours(),
      v: () => this.overlays.toggleVectors(),
      "/": () => $("#search").focus(),
      0: () => this.layer && this.sky.fitLayer(this.layer),
      p: () => this.toggleSidebar(),
      n: () => this.panels.cycle(),
      x: () => this.compare.toggleBlink(),
      z: () => this.compare.toggleSwipe(),
      "?": () => this.toggleHelp(),
    };
    const action = actions[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!action) return;
    event.preventDefault();
    action();
  }

  // --- the URL ------------------------------------------------------------

  saveUrl() {
    if (this.restoring) return;
    this.follow.changed();
    clearTimeout(this.urlTimer);
    this.urlTimer = setTimeout(() => {
      const params = new URLSearchParams(this.viewQuery());
      if (this.follow.urlParam()) params.set("follow", this.follow.urlParam());
      const query = params.toString();
      if (query !== window.location.search.slice(1)) {
        window.history.replaceState(null, "", `${window.location.pathname}?${query}`);
      }
    }, URL_DELAY_MS);
  }

  // The whole view as a URL query (what links and presenting share); null while restoring.
  viewQuery() {
    if (this.restoring) return null;
    return writeUrlState({
      layer: this.layer ? this.layer.layer_id : null,
      centre: this.sky.getCentreSky(),
      zoom: this.sky.getZoomLevel(),
      flip: this.sky.flip,
      colour: this.panels.mainColour(),
      lock: this.colour.isLocked(),
      catalogues: this.catalogues.visibleIds(),
      boxes: this.boxes.visibleNames(),
      graticule: this.sky.graticuleVisible,
      marker: this.readout.marker,
      overlays: this.overlays.getState(),
      gl: this.glParam,
      exact: this.exactParam,
      derived: this.derived.spec(),
      panels: this.panels.urlState(),
      compare: this.compare.getState(),
      table: this.catalogueTable.getState(),
      regions: this.regions.urlText(),
    });
  }

  // Show the view of a URL query (a presenter's, follow.js) over the current
  // one, changing only what differs from the last view shown this way
  // (everything when `whole`: the user may have changed anything since).
  async applyViewQuery(query, { whole = false } = {}) {
    const saved = readUrlState(`?${query}`);
    const before = (!whole && this.followed) || {};
    this.followed = saved;
    const changed = (name) => JSON.stringify(saved[name]) !== JSON.stringify(before[name]);
    if (saved.flip !== undefined && saved.flip !== this.sky.flip) this.setFlip(saved.flip);
    const grid = saved.graticule !== false;
    if (grid !== this.sky.graticuleVisible) {
      $("#graticule").checked = grid;
      this.sky.setGraticuleVisible(grid);
    }
    if (saved.layer && (!this.layer || this.layer.layer_id !== saved.layer || changed("colour"))) {
      await this.selectLayer(saved.layer, { view: saved.view, colour: saved.colour });
    } else if (saved.view) {
      this.showView(saved.view);
    }
    if (changed("derived")) {
      if (saved.derived) await this.derived.show(saved.derived, { colour: saved.colour });
      else if (before.derived) this.derived.off();
    }
    if (changed("panels")) await this.panels.setCount(saved.panels.count, saved.panels.panels);
    if (changed("compare")) await this.compare.restore(saved.compare);
    if (changed("overlays")) this.overlays.setState(saved.overlays);
    const shown = this.catalogues.visibleIds();
    for (const group of this.catalogues.groups) {
      const id = group.source_group_id;
      if (saved.catalogues.includes(id) !== shown.includes(id)) await this.catalogues.setVisible(id, !shown.includes(id));
    }
    const boxes = this.boxes.visibleNames();
    for (const box of this.boxes.boxes) {
      if (saved.boxes.includes(box.name) !== boxes.includes(box.name)) this.boxes.setVisible(box.name, !boxes.includes(box.name));
    }
    if (changed("marker")) {
      if (saved.marker) this.readout.setMarker(saved.marker);
      else this.readout.clearMarker();
    }
  }

  // Centre and zoom as in a URL, on the layer shown.
  showView({ raDeg, decDeg, zoom }) {
    const view = this.sky.view;
    const offset = view.getZoom() - this.sky.getZoomLevel();
    view.setCenter([raToX(raDeg, this.sky.flip), decDeg]);
    view.setZoom(zoom + offset);
  }
}

// --- URL state: every parameter optional, bad ones ignored ------------------

function number(params, name) {
  const text = params.get(name);
  if (text === null || text.trim() === "") return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

// The yes/no words of tilemaker_site/booleans.py: settings and the API take the same.
const TRUE_WORDS = ["1", "true", "yes", "on"];
const FALSE_WORDS = ["0", "false", "no", "off"];

function flag(params, name) {
  const text = params.get(name);
  if (text === null) return undefined;
  const lowered = text.toLowerCase();
  if (TRUE_WORDS.includes(lowered)) return true;
  if (FALSE_WORDS.includes(lowered)) return false;
  return undefined;
}

// Data tiles coloured on the GPU, unless the link says gl=0 or the browser
// has no WebGL: then the server's PNG tiles, with a note saying why.
function glWanted(search = window.location.search) {
  const asked = flag(new URLSearchParams(search), "gl");
  if (asked === false) return { use: false, note: "PNG tiles (gl=0): colour changes are drawn by the server." };
  if (!webglAvailable()) return { use: false, note: "No WebGL in this browser: PNG tiles, colour changes are drawn by the server." };
  return { use: true, note: null };
}

function readUrlState(search = window.location.search) {
  const params = new URLSearchParams(search);
  const state = {
    layer: params.get("layer") || null,
    flip: flag(params, "flip"),
    graticule: flag(params, "grid"),
    lock: flag(params, "lock") === true,
    catalogues: params.getAll("cat"),
    boxes: params.getAll("box"),
    compare: readCompareState(params),
    regions: params.get("reg"),
  };
  const ra = number(params, "ra");
  const dec = number(params, "dec");
  const zoom = number(params, "zoom");
  if (ra !== undefined && dec !== undefined && zoom !== undefined) {
    state.view = { raDeg: ra, decDeg: dec, zoom };
  }
  const colour = {};
  const vmin = number(params, "vmin");
  const vmax = number(params, "vmax");
  if (vmin !== undefined && vmax !== undefined && vmin < vmax) Object.assign(colour, { vmin, vmax });
  if (params.get("cmap")) colour.cmap = params.get("cmap");
  if (flag(params, "log") !== undefined) colour.log = flag(params, "log");
  if (flag(params, "abs") !== undefined) colour.abs = flag(params, "abs");
  if (STRETCHES.includes(params.get("stretch"))) colour.stretch = params.get("stretch");
  for (const name of ["asinh_a", "gamma"]) {
    const value = number(params, name);
    if (value > 0) colour[name] = value;
  }
  state.colour = Object.keys(colour).length ? colour : null;
  state.derived = readDerivedState(params);
  state.panels = readPanelState(params);
  const mark = (params.get("mark") || "").split(",").map(Number);
  if (mark.length === 2 && mark.every(Number.isFinite)) state.marker = { raDeg: mark[0], decDeg: mark[1] };
  state.overlays = readOverlayState(params);
  state.table = readTableState(params);
  return state;
}

function writeUrlState(state) {
  const params = new URLSearchParams();
  if (state.layer) params.set("layer", state.layer);
  params.set("ra", state.centre.raDeg.toFixed(7));
  params.set("dec", state.centre.decDeg.toFixed(7));
  params.set("zoom", String(state.zoom));
  params.set("flip", state.flip ? "1" : "0");
  // String() of a double reads back as the same double.
  params.set("vmin", String(state.colour.vmin));
  params.set("vmax", String(state.colour.vmax));
  params.set("cmap", state.colour.cmap);
  params.set("log", state.colour.log ? "1" : "0");
  params.set("abs", state.colour.abs ? "1" : "0");
  // The stretch only when not the default, so links stay short and old ones read the same.
  if (state.colour.stretch && state.colour.stretch !== "linear") params.set("stretch", state.colour.stretch);
  if (state.colour.asinh_a !== undefined && state.colour.asinh_a !== DEFAULT_ASINH_A) {
    params.set("asinh_a", String(state.colour.asinh_a));
  }
  if (state.colour.gamma !== undefined && state.colour.gamma !== DEFAULT_GAMMA) params.set("gamma", String(state.colour.gamma));
  if (state.lock) params.set("lock", "1");
  for (const id of state.catalogues) params.append("cat", id);
  for (const name of state.boxes) params.append("box", name);
  if (!state.graticule) params.set("grid", "0");
  if (state.gl) params.set("gl", state.gl);
  if (state.exact) params.set("exact", state.exact);
  writeOverlayState(params, state.overlays);
  writeDerivedState(params, state.derived);
  writePanelState(params, state.panels);
  writeCompareState(params, state.compare);
  writeTableState(params, state.table);
  if (state.regions) params.set("reg", state.regions);
  if (state.marker) params.set("mark", `${state.marker.raDeg.toFixed(7)},${state.marker.decDeg.toFixed(7)}`);
  return params.toString();
}

function followElements() {
  return {
    present: $("#present"),
    box: $("#present-box"),
    link: $("#present-link"),
    copy: $("#present-copy"),
    stop: $("#present-stop"),
    status: $("#follow-status"),
    statusText: $("#follow-text"),
    again: $("#follow-again"),
  };
}

function compareElements() {
  const ids = ["panel", "mode", "layers", "rate", "rate-label", "opacity", "opacity-label", "now", "split"];
  return Object.fromEntries(ids.map((id) => [id.replace(/-(\w)/, (_, c) => c.toUpperCase()), $(`#compare-${id}`)]));
}

// --- login ------------------------------------------------------------------

// `tokens`: where a logged-in user manages API tokens (null for visitors).
function renderAuth(auth, tokens) {
  const root = $("#auth");
  if (!auth || auth.type === "mock") {
    root.hidden = true;
    return;
  }
  root.replaceChildren();
  if (auth.username) {
    const who = document.createElement("span");
    who.className = "user";
    who.textContent = auth.username;
    who.title = "Logged in";
    root.append(who);
    if (tokens) {
      const panel = new TokenPanel($("#token-panel"), tokens);
      const button = document.createElement("button");
      button.type = "button";
      button.id = "tokens-button";
      button.textContent = "API tokens";
      button.title = "Personal tokens for scripts";
      button.setAttribute("aria-haspopup", "dialog");
      button.setAttribute("aria-controls", "token-panel");
      button.addEventListener("click", () => panel.toggle());
      root.append(button);
    }
    if (auth.logout_url) {
      const form = $("#logout-form");
      form.action = auth.logout_url;
      form.querySelector("[name=next]").value = window.location.pathname;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Log out";
      button.addEventListener("click", () => {
        form.querySelector("[name=next]").value = window.location.pathname + window.location.search;
        form.submit();
      });
      root.append(button);
    }
  } else if (auth.login_url) {
    const link = document.createElement("a");
    link.className = "button";
    link.textContent = "Log in";
    link.title = "Log in to see restricted maps";
    link.addEventListener("click", () => {
      link.href = `${auth.login_url}?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
    });
    link.href = auth.login_url;
    root.append(link);
  }
}

renderAuth(config.auth, config.api_tokens);
const viewer = new Viewer();
window.tilemakerViewer = viewer;
viewer.start();
