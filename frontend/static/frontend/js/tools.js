// The cursor readout (position and data value), go-to a position or a
// name with a marker, and the aperture tool.

import { apiFetch, apiPath, getJson, layerPath, layerQuery } from "./api.js";
import { el } from "./dom.js";
import { readFitsImage } from "./fits.js";
import { drawnPixelKey, gridPixelDeg } from "./placement.js";
import { blockNote, planeTexts, readoutPlanes, valueText } from "./planes.js";
import {
  angularDistanceDeg,
  formatDecDms,
  formatDeg,
  formatNumber,
  formatRaHms,
  mayBeName,
  parseGotoPosition,
  raToX,
  skyCircleRing,
  wrap360,
  xToRa,
} from "./sky.js";

const ol = window.ol;

// The value under the cursor comes from a FITS cut-out a few native pixels
// wide, fetched once the pointer rests this long.
const VALUE_DELAY_MS = 120;
const VALUE_HALF_WIDTH_PIXELS = 1.5;
const MARKER_COLOUR = "#ff4fd8";
// Catalogue names matching the go-to box are asked for once typing pauses
// this long, so a quick typist sends one request, not one per key.
const SUGGEST_DELAY_MS = 150;
const SUGGEST_LIMIT = 20;
// The server gives the resolver 5 s by default (TILEMAKER_NAME_RESOLVER_TIMEOUT_SECONDS).
const RESOLVE_TIMEOUT_MS = 10_000;
const RESOLVER_UNREACHABLE = "name resolver unreachable: enter coordinates";
const APERTURE_COLOUR = "#9dff6a";

const nativePixelDeg = gridPixelDeg;

// At native level the file's float32 value exactly; coarser levels hold
// block means, and say so.
function loadedValueText(hit, units) {
  if (Number.isNaN(hit.value)) return "no data";
  return [valueText(hit), units, blockNote(hit.blockSize)].filter(Boolean).join(" ");
}

export class Readout {
  constructor(skyMap, elements, messages, onMarker) {
    this.sky = skyMap;
    this.el = elements;
    this.messages = messages;
    this.onMarker = onMarker;
    this.layer = null;
    this.planes = [];
    this.timer = null;
    this.controller = null;
    this.pixelKey = null;
    this.valueText = "";
    this.marker = null;
    this.markerSource = new ol.source.Vector();
    this.markerLayer = new ol.layer.Vector({
      source: this.markerSource,
      zIndex: 30,
      style: new ol.style.Style({
        image: new ol.style.RegularShape({
          points: 4,
          radius: 11,
          radius2: 0,
          angle: 0,
          stroke: new ol.style.Stroke({ color: MARKER_COLOUR, width: 2 }),
        }),
      }),
    });
    skyMap.addOverlay(this.markerLayer);
    skyMap.addEventListener("flipchange", () => this.drawMarker());
    // Another plane's tile has landed: fill in its value.
    skyMap.addEventListener("planetile", () => {
      if (this.position) this.requestValue(this.position);
    });
    skyMap.map.on("pointermove", (event) => {
      if (event.dragging) return;
      this.show(skyMap.skyAtPixel(event.pixel));
    });
    skyMap.map.getViewport().addEventListener("pointerleave", () => this.show(null));
    elements.button.addEventListener("click", () => this.openGoto());
    elements.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.goto(elements.input.value);
    });
    elements.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.closeGoto();
      if (event.key === "ArrowDown" && !elements.suggestions.hidden) {
        event.preventDefault();
        elements.suggestions.querySelector("button")?.focus();
      }
    });
    elements.input.addEventListener("input", () => this.scheduleSuggestions());
    elements.suggestions.addEventListener("keydown", (event) => this.moveInSuggestions(event));
    this.suggestTimer = null;
    this.suggestController = null;
    elements.cancel.addEventListener("click", () => this.closeGoto());
    this.show(null);
  }

  setLayer(layer) {
    this.layer = layer;
    this.planes = readoutPlanes(layer);
    this.pixelKey = null;
    this.valueText = "";
  }

  show(position) {
    const { ra, dec, value } = this.el;
    if (!position) {
      ra.textContent = "RA \u2014";
      dec.textContent = "Dec \u2014";
      value.textContent = "";
      this.position = null;
      clearTimeout(this.timer);
      return;
    }
    this.position = position;
    ra.replaceChildren(
      "RA ", el("b", {}, `${formatDeg(position.raDeg, 4)}\u00b0`), " ",
      el("span", { className: "dim" }, formatRaHms(position.raDeg)),
    );
    dec.replaceChildren(
      "Dec ", el("b", {}, `${formatDeg(position.decDeg, 4)}\u00b0`), " ",
      el("span", { className: "dim" }, formatDecDms(position.decDeg)),
    );
    this.requestValue(position);
  }

  requestValue(position) {
    if (!this.layer) return;
    // From the data tile on screen: no request, no delay.
    const loaded = this.sky.loadedValueAt(position.raDeg, position.decDeg);
    if (loaded) {
      clearTimeout(this.timer);
      this.showLoaded(loaded);
      return;
    }
    // Map pixels as drawn: same key, same value.
    const key = drawnPixelKey(this.layer, position.raDeg, position.decDeg);
    if (key === this.pixelKey) {
      this.el.value.textContent = this.valueText;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fetchValue(position, key), VALUE_DELAY_MS);
  }

  // Every Stokes plane of the band at the pixel of `hit`, the active one in
  // bold; the others from their tiles at the same tile coordinate, "\u2026"
  // until those have arrived.
  showLoaded(hit) {
    if (!this.planes.length) {
      this.el.value.textContent = loadedValueText(hit, this.layer.units);
      return;
    }
    const values = {};
    for (const { plane, layerId, active } of this.planes) {
      values[plane] = active ? { status: "ok", ...hit } : this.sky.planeValueAt(layerId, hit);
    }
    const parts = planeTexts(this.planes, values).flatMap(({ plane, text, active }, i) => [
      i ? " \u00b7 " : "",
      el(active ? "b" : "span", { className: "plane", dataset: { plane } }, `${plane} `, el("span", {}, text)),
    ]);
    const suffix = [this.layer.units, blockNote(hit.blockSize)].filter(Boolean).join(" ");
    this.el.value.replaceChildren(...parts, suffix ? ` ${suffix}` : "");
  }

  async fetchValue(position, key) {
    const layer = this.layer;
    if (this.controller) this.controller.abort();
    this.controller = new AbortController();
    const half = VALUE_HALF_WIDTH_PIXELS * nativePixelDeg(layer);
    const ra = wrap360(position.raDeg);
    const top = Math.min(90, position.decDeg + half);
    const bottom = Math.max(-90, position.decDeg - half);
    const path = layerPath(layer, "submap", ra + half, ra - half, top, bottom, "image.fits");
    let text;
    try {
      const response = await apiFetch(path, layerQuery(layer), { signal: this.controller.signal, accept: "*/*" });
      const image = readFitsImage(await response.arrayBuffer());
      const value = image.valueAt(position.raDeg, position.decDeg);
      const units = layer.units || image.header.BUNIT || "";
      text = value === null || Number.isNaN(value) ? "no data" : `${formatNumber(value, 5)} ${units}`.trim();
    } catch (error) {
      if (error.name === "AbortError") return;
      text = error.status === 404 ? "no data" : "";
      if (error.status && error.status !== 404) this.messages.error(`Value under cursor: ${error.detail}`);
    }
    if (layer !== this.layer) return;
    this.pixelKey = key;
    this.valueText = text;
    if (this.position === position) this.el.value.textContent = text;
  }

  openGoto() {
    this.el.form.hidden = false;
    this.el.button.hidden = true;
    const centre = this.sky.getCentreSky();
    if (!this.el.input.value) {
      this.el.input.value = `${formatDeg(centre.raDeg, 4)} ${formatDeg(centre.decDeg, 4)}`.replaceAll("\u2212", "-");
    }
    this.el.input.focus();
    this.el.input.select();
  }

  closeGoto() {
    this.el.form.hidden = true;
    this.el.button.hidden = false;
    this.hideSuggestions();
  }

  // A position ("RA Dec", "G l b"), else a name: a catalogue source's
  // (exact, any case), else the name resolver's through the server.
  async goto(text) {
    const trimmed = String(text).trim();
    let position;
    try {
      position = parseGotoPosition(trimmed);
    } catch (error) {
      if (!mayBeName(trimmed)) {
        this.messages.error(`Position \u201c${text}\u201d: ${error.message}.`);
        return;
      }
      position = await this.lookUpName(trimmed);
      if (!position) return;
    }
    this.goTo(position);
  }

  async lookUpName(name) {
    const key = name.toLowerCase();
    try {
      const rows = await getJson("/source-names", { q: name, limit: SUGGEST_LIMIT });
      const exact = rows.find((row) => row.name.toLowerCase() === key);
      if (exact) return { raDeg: exact.ra, decDeg: exact.dec };
    } catch (error) {
      this.messages.error(`Name \u201c${name}\u201d: ${error.detail}`);
      return null;
    }
    const unknown = `\u201c${name}\u201d: no catalogue source of that name`;
    if (navigator.onLine === false) {
      this.messages.error(`${unknown}; ${RESOLVER_UNREACHABLE} (the browser is offline).`);
      return null;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), RESOLVE_TIMEOUT_MS);
    try {
      const found = await getJson("/resolve-name", { name }, { signal: controller.signal });
      return { raDeg: found.ra, decDeg: found.dec };
    } catch (error) {
      const detail = error.name === "AbortError" || !error.status ? RESOLVER_UNREACHABLE : error.detail;
      this.messages.error(`${unknown}; ${detail}.`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  scheduleSuggestions() {
    clearTimeout(this.suggestTimer);
    this.suggestTimer = setTimeout(() => this.suggest(this.el.input.value.trim()), SUGGEST_DELAY_MS);
  }

  // Catalogue sources whose name starts with what is typed; none while it
  // reads as a position.
  async suggest(text) {
    if (this.suggestController) this.suggestController.abort();
    let isPosition = true;
    try {
      parseGotoPosition(text);
    } catch {
      isPosition = false;
    }
    if (!text || isPosition || !mayBeName(text)) {
      this.hideSuggestions();
      return;
    }
    this.suggestController = new AbortController();
    let rows;
    try {
      rows = await getJson("/source-names", { q: text, limit: SUGGEST_LIMIT }, { signal: this.suggestController.signal });
    } catch (error) {
      if (error.name !== "AbortError") this.hideSuggestions();
      return;
    }
    if (this.el.form.hidden || this.el.input.value.trim() !== text) return;
    this.showSuggestions(rows);
  }

  showSuggestions(rows) {
    const list = this.el.suggestions;
    list.replaceChildren(
      ...rows.map((row) => {
        const button = el(
          "button",
          { type: "button", title: `${formatDeg(row.ra, 4)} ${formatDeg(row.dec, 4)}` },
          el("span", {}, row.name),
          el("span", { className: "dim" }, row.source_group_id),
        );
        button.dataset.name = row.name;
        button.addEventListener("click", () => this.goTo({ raDeg: row.ra, decDeg: row.dec }));
        return el("li", { role: "option" }, button);
      }),
    );
    list.hidden = rows.length === 0;
  }

  hideSuggestions() {
    clearTimeout(this.suggestTimer);
    if (this.suggestController) this.suggestController.abort();
    this.el.suggestions.hidden = true;
    this.el.suggestions.replaceChildren();
  }

  moveInSuggestions(event) {
    const buttons = [...this.el.suggestions.querySelectorAll("button")];
    const at = buttons.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      this.hideSuggestions();
      this.el.input.focus();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = at + (event.key === "ArrowDown" ? 1 : -1);
      (next < 0 ? this.el.input : buttons[Math.min(next, buttons.length - 1)]).focus();
    }
  }

  goTo(position) {
    this.closeGoto();
    this.setMarker(position);
    this.sky.view.animate({ center: [this.sky.xNearView(position.raDeg), position.decDeg], duration: 250 });
    // Back to the map, so its zoom and pan keys work without a click.
    this.sky.map.getTargetElement().focus();
    this.onMarker();
  }

  setMarker(position) {
    this.marker = position;
    this.drawMarker();
  }

  clearMarker() {
    this.marker = null;
    this.drawMarker();
    this.onMarker();
  }

  drawMarker() {
    this.markerSource.clear();
    if (!this.marker) return;
    const feature = new ol.Feature(new ol.geom.Point([raToX(this.marker.raDeg, this.sky.flip), this.marker.decDeg]));
    feature.set("kind", "marker");
    this.markerSource.addFeature(feature);
  }
}

// Drag a circle on the sky; its radius is a true angle, so it is drawn as
// the sky circle it is (wider in RA away from the equator).
export class ApertureTool {
  constructor(skyMap, resultRoot, messages, context) {
    this.sky = skyMap;
    this.root = resultRoot;
    this.messages = messages;
    this.context = context;
    this.draw = null;
    this.current = null;
    this.result = null;
    this.source = new ol.source.Vector();
    this.layer = new ol.layer.Vector({
      source: this.source,
      zIndex: 25,
      style: new ol.style.Style({
        stroke: new ol.style.Stroke({ color: APERTURE_COLOUR, width: 1.6 }),
        fill: new ol.style.Fill({ color: "rgba(157,255,106,0.07)" }),
      }),
    });
    skyMap.addOverlay(this.layer);
    skyMap.addEventListener("flipchange", () => this.redraw());
  }

  isActive() {
    return this.draw !== null;
  }

  stop() {
    if (!this.draw) return;
    this.sky.map.removeInteraction(this.draw);
    this.draw = null;
    document.body.classList.remove("drawing-aperture");
  }

  start(onDone) {
    if (this.draw) return;
    const flip = () => this.sky.flip;
    this.draw = new ol.interaction.Draw({
      type: "Circle",
      // Drag from the centre out to the radius.
      freehand: true,
      geometryFunction: (coordinates, geometry) => {
        const [centre, edge] = coordinates;
        const raDeg = xToRa(centre[0], flip());
        const radiusDeg = angularDistanceDeg(raDeg, centre[1], xToRa(edge[0], flip()), edge[1]);
        this.current = { raDeg, decDeg: centre[1], radiusDeg };
        const ring = skyCircleRing(raDeg, centre[1], Math.max(radiusDeg, 1e-9), flip());
        const polygon = geometry || new ol.geom.Polygon([ring]);
        polygon.setCoordinates([ring]);
        return polygon;
      },
      style: new ol.style.Style({
        stroke: new ol.style.Stroke({ color: APERTURE_COLOUR, width: 1.5, lineDash: [4, 3] }),
        image: new ol.style.Circle({ radius: 3, fill: new ol.style.Fill({ color: APERTURE_COLOUR }) }),
      }),
    });
    this.draw.on("drawend", () => {
      const circle = this.current;
      setTimeout(() => {
        this.stop();
        if (onDone) onDone();
        if (circle) this.measure(circle);
      }, 0);
    });
    this.sky.map.addInteraction(this.draw);
    document.body.classList.add("drawing-aperture");
  }

  redraw() {
    this.source.clear();
    if (!this.result) return;
    const { raDeg, decDeg, radiusDeg } = this.result.circle;
    this.source.addFeature(new ol.Feature(new ol.geom.Polygon([skyCircleRing(raDeg, decDeg, radiusDeg, this.sky.flip)])));
  }

  async measure(circle) {
    const { layer } = this.context();
    if (!layer) return;
    const radiusArcmin = circle.radiusDeg * 60;
    this.result = { circle, stats: null };
    this.redraw();
    this.root.replaceChildren(el("p", { className: "dim" }, "Measuring\u2026"));
    let stats;
    try {
      stats = await getJson(apiPath("analysis", "aperture", layer.layer_id), {
        ra: wrap360(circle.raDeg).toFixed(7),
        dec: circle.decDeg.toFixed(7),
        radius: radiusArcmin.toFixed(5),
      });
    } catch (error) {
      this.root.replaceChildren();
      this.messages.error(`Aperture: ${error.detail || error.message}`);
      return;
    }
    this.result.stats = stats;
    const units = layer.units ? ` ${layer.units}` : "";
    const row = (name, text, dataset = {}) => el("tr", {}, el("th", {}, name), el("td", { dataset }, text));
    const stat = (name) =>
      row(name, `${formatNumber(stats[name], 6)}${units}`, { stat: name, value: String(stats[name]) });
    this.root.replaceChildren(
      el(
        "table",
        { className: "stats" },
        row("centre", `${formatDeg(wrap360(stats.ra), 4)}\u00b0, ${formatDeg(stats.dec, 4)}\u00b0`),
        row("radius", `${formatNumber(stats.radius, 5)}\u2032`),
        ...["mean", "std", "min", "max"].map(stat),
      ),
    );
  }

  clear() {
    this.result = null;
    this.redraw();
    this.root.replaceChildren();
  }
}
