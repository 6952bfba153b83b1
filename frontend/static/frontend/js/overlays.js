// Catalogue and box overlays, box drawing, and cut-out downloads.

import { apiFetch, apiPath, getJson } from "./api.js";
import { el } from "./dom.js";
import { colourParams } from "./mapview.js";
import { formatDecDms, formatDeg, formatRaHms, raToX, raToXNear, wrap360, xToRa } from "./sky.js";

const ol = window.ol;

const CATALOGUE_COLOURS = [
  "#ffd166", "#06d6a0", "#ff5d8f", "#4cc9f0", "#f78c6b", "#c3a6ff", "#b5e853", "#ffffff",
];
const BOX_COLOUR = "#7fd1ff";
const DRAWN_BOX_COLOUR = "#ffb86b";
const CUTOUT_FORMATS = ["fits", "png", "jpg", "webp"];
// Catalogues larger than this are fetched per view (at most VIEW_LIMIT
// sources, brightest first) and drawn as a bitmap per settled view.
const PER_VIEW_THRESHOLD = 20000;
// Whole catalogues with more markers than this are drawn as a bitmap per
// settled view too: 20,000 vector markers redrawn on every frame panned the
// whole sky at 6-7 frames per second here (bench/bench_million.py).
const BITMAP_MARKERS_MIN = 2000;
const VIEW_LIMIT = 5000;
const VIEW_DEBOUNCE_MS = 150;

function row(heading, ...cells) {
  return el("tr", {}, el("th", {}, heading), el("td", {}, ...cells));
}

function positionRows(raDeg, decDeg) {
  return [
    row("RA", `${formatDeg(wrap360(raDeg), 5)}\u00b0 `, el("span", { className: "dim" }, formatRaHms(raDeg))),
    row("Dec", `${formatDeg(decDeg, 5)}\u00b0 `, el("span", { className: "dim" }, formatDecDms(decDeg))),
  ];
}

export class Catalogues {
  constructor(skyMap, listRoot, messages, onChange) {
    this.sky = skyMap;
    this.root = listRoot;
    this.messages = messages;
    this.onChange = onChange;
    this.groups = [];
    this.layers = new Map();
    this.visible = new Set();
    // Hooks for the table (catalogue_table.js): which sources are drawn and how.
    this.filters = new Map();
    this.stylers = new Map();
    this.styleCache = new Map();
    // A per-view catalogue's filter goes to the server (filter=), and the
    // table hears when its rows for the view change: onView(id).
    this.serverFilters = new Map();
    this.onView = null;
    skyMap.addEventListener("flipchange", () => this.reposition());
  }

  // predicate(source) -> bool, or null for every source.
  setFilter(id, predicate) {
    if (predicate) this.filters.set(id, predicate);
    else this.filters.delete(id);
    if (this.layers.has(id)) this.fill(id);
  }

  // The table's filter text for a per-view catalogue: the view is fetched again with it.
  setServerFilter(id, text) {
    if (text) this.serverFilters.set(id, text);
    else this.serverFilters.delete(id);
    const group = this.groups.find((g) => g.source_group_id === id);
    if (group && group.perView && this.layers.has(id) && this.layers.get(id).getVisible()) this.fetchView(group);
  }

  // styler(source) -> {radius, colour} (either may be undefined: the default), or null.
  setStyle(id, styler) {
    if (styler) this.stylers.set(id, styler);
    else this.stylers.delete(id);
    if (this.layers.has(id)) this.layers.get(id).changed();
  }

  async load(initiallyVisible = []) {
    try {
      this.groups = await getJson("/sources");
    } catch (error) {
      this.messages.error(`Catalogues: ${error.detail || error.message}`);
      this.groups = [];
    }
    this.groups.forEach((group, i) => {
      group.colour = CATALOGUE_COLOURS[i % CATALOGUE_COLOURS.length];
    });
    this.render();
    await Promise.all(
      initiallyVisible
        .filter((id) => this.groups.some((g) => g.source_group_id === id))
        .map((id) => this.setVisible(id, true, { notify: false })),
    );
  }

  // Read the list again (live.js). Catalogues still listed keep their
  // colour, visibility and loaded sources, except those in `changedIds`,
  // whose sources are read again; a shown one that went away is taken off the map.
  async refresh(changedIds = []) {
    let groups;
    try {
      groups = await getJson("/sources");
    } catch (error) {
      this.messages.error(`Catalogues: ${error.detail || error.message}`);
      return;
    }
    const old = new Map(this.groups.map((g) => [g.source_group_id, g]));
    const used = new Set(this.groups.map((g) => g.colour));
    const spare = CATALOGUE_COLOURS.filter((c) => !used.has(c));
    for (const group of groups) {
      const before = old.get(group.source_group_id);
      if (before && !changedIds.includes(group.source_group_id)) {
        for (const key of ["sources", "columns", "perView", "view"]) group[key] = before[key];
      }
      group.colour = before ? before.colour : spare.shift() || CATALOGUE_COLOURS[old.size % CATALOGUE_COLOURS.length];
    }
    this.groups = groups;
    const present = new Set(groups.map((g) => g.source_group_id));
    const reload = [];
    for (const [id, layer] of [...this.layers]) {
      if (present.has(id) && !changedIds.includes(id)) continue;
      this.sky.map.removeLayer(layer);
      this.layers.delete(id);
      if (!present.has(id) && this.visible.has(id)) {
        this.messages.add(`Catalogue \u201c${old.get(id).name}\u201d was removed or is no longer available to you.`, "info", { sticky: true });
      }
      if (present.has(id) && this.visible.has(id)) reload.push(id);
      this.visible.delete(id);
    }
    this.render();
    await Promise.all(reload.map((id) => this.setVisible(id, true, { notify: false })));
    this.onChange();
  }

  render() {
    this.root.replaceChildren();
    if (!this.groups.length) {
      const none = document.createElement("p");
      none.className = "empty";
      none.textContent = "No catalogues.";
      this.root.append(none);
      return;
    }
    for (const group of this.groups) {
      const label = document.createElement("label");
      label.className = "legend-entry";
      label.title = group.description || group.name;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.dataset.catalogue = group.source_group_id;
      box.checked = this.visible.has(group.source_group_id);
      box.addEventListener("change", () => this.setVisible(group.source_group_id, box.checked));
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.borderColor = group.colour;
      const name = document.createElement("span");
      name.textContent = group.name;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = this.countText(group);
      label.append(box, swatch, name, count);
      this.root.append(label);
    }
  }

  countText(group) {
    if (group.view) {
      const { shown, total, estimated, order } = group.view;
      if (shown === total && !estimated) return String(total);
      const by = order === "random" ? "random subsample" : "brightest";
      return `showing ${shown} of ${estimated ? "about " : ""}${total} (${by})`;
    }
    return group.sources ? String(group.sources.length) : "";
  }

  style(colour, radius = 6) {
    const key = `${colour} ${radius}`;
    if (!this.styleCache.has(key)) {
      this.styleCache.set(
        key,
        new ol.style.Style({
          image: new ol.style.Circle({
            radius,
            stroke: new ol.style.Stroke({ color: colour, width: 1.8 }),
            fill: new ol.style.Fill({ color: "rgba(0,0,0,0.01)" }),
          }),
        }),
      );
    }
    return this.styleCache.get(key);
  }

  markerStyle(id, colour, feature) {
    const styler = this.stylers.get(id);
    if (!styler) return this.style(colour);
    const chosen = styler(feature.get("item"));
    return this.style(chosen.colour || colour, chosen.radius || 6);
  }

  async setVisible(id, visible, { notify = true } = {}) {
    const group = this.groups.find((g) => g.source_group_id === id);
    if (!group) return;
    if (visible) {
      if (!group.sources && group.perView === undefined) {
        try {
          // One source of the whole sky tells the catalogue's size.
          const probe = await getJson(apiPath("sources", id, "view"), {
            left: 360, right: 0, top: 90, bottom: -90, limit: 1,
          });
          group.perView = probe.total > PER_VIEW_THRESHOLD;
          if (!group.perView) {
            const full = await getJson(apiPath("sources", id));
            group.sources = full.sources;
            group.columns = full.columns || [];
          }
        } catch (error) {
          this.messages.error(`Catalogue ${group.name}: ${error.detail || error.message}`);
          this.render();
          return;
        }
      }
      if (!this.layers.has(id)) {
        const layer = group.perView ? this.pointsLayer(group) : this.vectorLayer(group);
        layer.set("catalogue", id);
        this.layers.set(id, layer);
        this.sky.addOverlay(layer);
        this.fill(id);
      }
      this.layers.get(id).setVisible(true);
      this.visible.add(id);
    } else {
      if (this.layers.has(id)) this.layers.get(id).setVisible(false);
      this.visible.delete(id);
    }
    this.render();
    if (notify) this.onChange();
  }

  // Markers follow the table's filter (fill) and styling (markerStyle).
  vectorLayer(group) {
    const id = group.source_group_id;
    const options = {
      source: new ol.source.Vector(),
      style: (feature) => this.markerStyle(id, group.colour, feature),
      zIndex: 20,
    };
    if ((group.sources?.length || 0) <= BITMAP_MARKERS_MIN) return new ol.layer.Vector(options);
    return new ol.layer.VectorImage({ ...options, imageRatio: 1.5 });
  }

  // Drawn once per settled view into an image that pans and zooms as a
  // bitmap: with the same 5000 markers a WebGLPoints layer drew 1.5 frames
  // per second while panning in headless Chromium's software WebGL, where
  // this keeps the map's own rate (bench/bench_million.py). Hit detection
  // works as on a vector layer, so popups are the same.
  pointsLayer(group) {
    const layer = new ol.layer.VectorImage({
      source: new ol.source.Vector(),
      style: (feature) => this.markerStyle(group.source_group_id, group.colour, feature),
      zIndex: 20,
      // Markers just past the edges are already drawn when a pan starts.
      imageRatio: 1.5,
    });
    let timer = null;
    const refetch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (layer.getVisible()) this.fetchView(group);
      }, VIEW_DEBOUNCE_MS);
    };
    this.sky.map.on("moveend", refetch);
    layer.on("change:visible", refetch);
    return layer;
  }

  // The view's box as the API takes it: RA from `right` (west) eastwards to
  // `left`, `left - right` the view's width (a full turn or more: all RA).
  viewBox() {
    const [minX, minY, maxX, maxY] = this.sky.view.calculateExtent(this.sky.map.getSize());
    const west = this.sky.flip ? xToRa(maxX, this.sky.flip) : xToRa(minX, this.sky.flip);
    return { left: west + Math.min(maxX - minX, 360), right: west, top: maxY, bottom: minY };
  }

  async fetchView(group) {
    const id = group.source_group_id;
    const request = (group.viewRequest || 0) + 1;
    group.viewRequest = request;
    const params = { ...this.viewBox(), limit: VIEW_LIMIT };
    // A filter the server refused is not sent again (it answers the same
    // 400): the view loads unfiltered, the refusal stays under the filter box.
    const filter = this.serverFilters.get(id);
    if (filter && filter !== group.refusedFilter?.text) params.filter = filter;
    let answer;
    try {
      answer = await getJson(apiPath("sources", id, "view"), params);
    } catch (error) {
      if (request !== group.viewRequest) return;
      if (params.filter && error.status === 400) {
        group.refusedFilter = { text: params.filter, detail: error.detail };
        this.fetchView(group);
        return;
      }
      this.messages.error(`Catalogue ${group.name}: ${error.detail || error.message}`);
      return;
    }
    // A slower answer for an earlier view must not replace a newer one.
    if (request !== group.viewRequest) return;
    if (params.filter) group.refusedFilter = null;
    const at = Object.fromEntries(answer.fields.map((name, i) => [name, i]));
    group.viewSources = answer.sources.map((values) => ({
      id: values[at.id], name: values[at.name], ra: values[at.ra], dec: values[at.dec], extra: values[at.extra],
    }));
    group.view = {
      shown: answer.sources.length,
      total: answer.total,
      estimated: answer.total_is_estimate,
      order: answer.order,
      filter: params.filter || "",
      truncated: Boolean(answer.truncated),
    };
    // The view answer has no column list: the extras seen so far, in order.
    const columns = group.columns || (group.columns = []);
    for (const source of group.viewSources) {
      for (const name of Object.keys(source.extra || {})) {
        if (!columns.some((column) => column.name === name)) columns.push({ name, unit: "", description: "" });
      }
    }
    this.fill(id);
    this.render();
    if (this.onView) this.onView(id);
  }

  fill(id) {
    const group = this.groups.find((g) => g.source_group_id === id);
    const source = this.layers.get(id).getSource();
    const keep = this.filters.get(id);
    const all = group.perView ? group.viewSources || [] : group.sources;
    const items = keep ? all.filter(keep) : all;
    const [minX, , maxX] = this.sky.view.calculateExtent(this.sky.map.getSize());
    const nearX = (minX + maxX) / 2;
    source.clear();
    source.addFeatures(
      items.map((item) => {
        const x = group.perView ? raToXNear(item.ra, this.sky.flip, nearX) : raToX(item.ra, this.sky.flip);
        const feature = new ol.Feature(new ol.geom.Point([x, item.dec]));
        feature.setProperties({ kind: "source", group: group.name, groupId: id, colour: group.colour, item });
        return feature;
      }),
    );
  }

  reposition() {
    for (const id of this.layers.keys()) this.fill(id);
  }

  visibleIds() {
    return [...this.visible];
  }

  popupContent(feature) {
    const { item, group, colour } = feature.getProperties();
    const extra = Object.entries(item.extra || {}).map(([key, value]) =>
      row(key, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)),
    );
    return [
      el("h3", {}, el("span", { className: "swatch", style: { borderColor: colour } }), item.name || "(unnamed)"),
      el("p", { className: "dim" }, group),
      el("table", {}, ...positionRows(item.ra, item.dec), ...extra),
    ];
  }
}

// Boxes are stored as the API gives them: "top left" is the corner at the
// higher RA (east, left in the astronomical orientation) and higher Dec.
function boxFromViewExtent(extent, flip, name) {
  const [minX, minY, maxX, maxY] = extent;
  const east = flip ? xToRa(minX, flip) : xToRa(maxX, flip);
  const west = flip ? xToRa(maxX, flip) : xToRa(minX, flip);
  return {
    name,
    description: "Drawn in this session",
    top_left_ra: east,
    top_left_dec: maxY,
    bottom_right_ra: west,
    bottom_right_dec: minY,
    drawn: true,
  };
}

// Cut-out edges: left is the east edge; right is given so that
// left - right is the box's width in RA (it may go below 0 across RA 0).
function cutoutEdges(box) {
  const left = wrap360(box.top_left_ra);
  const width = wrap360(box.top_left_ra - box.bottom_right_ra) || 360;
  return { left, right: left - width, top: box.top_left_dec, bottom: box.bottom_right_dec };
}

export class Boxes {
  constructor(skyMap, listRoot, messages, context, onChange) {
    this.sky = skyMap;
    this.root = listRoot;
    this.messages = messages;
    this.context = context;
    this.onChange = onChange;
    this.boxes = [];
    this.visible = new Set();
    this.drawnCount = 0;
    this.source = new ol.source.Vector();
    this.layer = new ol.layer.Vector({ source: this.source, style: (f) => this.style(f), zIndex: 15 });
    skyMap.addOverlay(this.layer);
    this.draw = null;
    skyMap.addEventListener("flipchange", () => this.fill());
  }

  async load(initiallyVisible = []) {
    try {
      this.boxes = await getJson("/highlights/boxes");
    } catch (error) {
      this.messages.error(`Boxes: ${error.detail || error.message}`);
      this.boxes = [];
    }
    for (const name of initiallyVisible) {
      if (this.boxes.some((b) => b.name === name)) this.visible.add(name);
    }
    this.fill();
    this.render();
  }

  // Read the list again (live.js); boxes drawn in this page stay.
  async refresh() {
    let boxes;
    try {
      boxes = await getJson("/highlights/boxes");
    } catch (error) {
      this.messages.error(`Boxes: ${error.detail || error.message}`);
      return;
    }
    const drawn = this.boxes.filter((b) => b.drawn);
    const names = new Set([...boxes, ...drawn].map((b) => b.name));
    for (const name of [...this.visible]) if (!names.has(name)) this.visible.delete(name);
    this.boxes = [...boxes, ...drawn];
    this.fill();
    this.render();
    this.onChange();
  }

  style(feature) {
    const box = feature.get("box");
    const colour = box.drawn ? DRAWN_BOX_COLOUR : BOX_COLOUR;
    return [
      new ol.style.Style({
        stroke: new ol.style.Stroke({ color: colour, width: 1.6 }),
        fill: new ol.style.Fill({ color: "rgba(127, 209, 255, 0.06)" }),
      }),
      // The name sits on the box's top-left corner, outside it.
      new ol.style.Style({
        geometry: (f) => {
          const [minX, , , maxY] = f.getGeometry().getExtent();
          return new ol.geom.Point([minX, maxY]);
        },
        text: new ol.style.Text({
          text: box.name,
          font: "12px system-ui, sans-serif",
          textAlign: "left",
          textBaseline: "bottom",
          offsetY: -3,
          fill: new ol.style.Fill({ color: colour }),
          stroke: new ol.style.Stroke({ color: "rgba(10,12,16,0.9)", width: 3 }),
        }),
      }),
    ];
  }

  polygon(box) {
    const flip = this.sky.flip;
    const xEast = raToX(box.top_left_ra, flip);
    const xWest = raToXNear(box.bottom_right_ra, flip, xEast);
    const [x1, x2] = [Math.min(xEast, xWest), Math.max(xEast, xWest)];
    const [y1, y2] = [box.bottom_right_dec, box.top_left_dec];
    return new ol.geom.Polygon([[[x1, y2], [x2, y2], [x2, y1], [x1, y1], [x1, y2]]]);
  }

  fill() {
    this.source.clear();
    for (const box of this.boxes) {
      if (!this.visible.has(box.name)) continue;
      const feature = new ol.Feature(this.polygon(box));
      feature.setProperties({ kind: "box", box });
      this.source.addFeature(feature);
    }
  }

  setVisible(name, visible) {
    if (visible) this.visible.add(name);
    else this.visible.delete(name);
    this.fill();
    this.render();
    this.onChange();
  }

  visibleNames() {
    return this.boxes.filter((b) => !b.drawn && this.visible.has(b.name)).map((b) => b.name);
  }

  downloadButtons(box) {
    const group = document.createElement("span");
    group.className = "downloads";
    for (const format of CUTOUT_FORMATS) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small";
      button.dataset.format = format;
      button.textContent = format.toUpperCase();
      button.title = `Download the cut-out of ${box.name} as ${format.toUpperCase()}`;
      button.addEventListener("click", () => this.download(box, format));
      group.append(button);
    }
    return group;
  }

  render() {
    this.root.replaceChildren();
    if (!this.boxes.length) {
      const none = document.createElement("p");
      none.className = "empty";
      none.textContent = "No boxes. Draw one with B.";
      this.root.append(none);
      return;
    }
    for (const box of this.boxes) {
      const row = document.createElement("div");
      row.className = "box-entry";
      const label = document.createElement("label");
      label.title = box.description || box.name;
      const check = document.createElement("input");
      check.type = "checkbox";
      check.dataset.box = box.name;
      check.checked = this.visible.has(box.name);
      check.addEventListener("change", () => this.setVisible(box.name, check.checked));
      const name = document.createElement("span");
      name.textContent = box.name;
      if (box.drawn) name.className = "drawn";
      label.append(check, name);
      row.append(label, this.downloadButtons(box));
      this.root.append(row);
    }
  }

  cutoutUrl(box, format) {
    const { layer, colour, flip } = this.context();
    const edges = cutoutEdges(box);
    const path = apiPath(
      "layers", layer.layer_id, "submap",
      edges.left, edges.right, edges.top, edges.bottom, `image.${format}`,
    );
    return { path, params: format === "fits" ? {} : colourParams(colour, flip), layer };
  }

  // Fetched rather than linked, so an error (too large, no data) is shown
  // as a message instead of being saved as a file.
  async download(box, format) {
    const { layer } = this.context();
    if (!layer) return;
    const { path, params } = this.cutoutUrl(box, format);
    const note = this.messages.info(`Preparing ${format.toUpperCase()} cut-out of ${box.name}\u2026`);
    try {
      const response = await apiFetch(path, params, { accept: "*/*" });
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      const safeName = box.name.replace(/[^A-Za-z0-9._-]+/g, "_");
      link.download = `${layer.layer_id}_${safeName}.${format}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (error) {
      this.messages.error(`Cut-out of ${box.name}: ${error.detail || error.message}`);
    } finally {
      note.remove();
    }
  }

  popupContent(feature) {
    const box = feature.get("box");
    const corner = (raDeg, decDeg) => `${formatDeg(wrap360(raDeg), 4)}\u00b0, ${formatDeg(decDeg, 4)}\u00b0`;
    return [
      el("h3", {}, box.name),
      ...(box.description ? [el("p", { className: "dim" }, box.description)] : []),
      el(
        "table",
        {},
        row("top left", corner(box.top_left_ra, box.top_left_dec)),
        row("bottom right", corner(box.bottom_right_ra, box.bottom_right_dec)),
      ),
      el("p", {}, "Cut-out: ", this.downloadButtons(box)),
    ];
  }

  isDrawing() {
    return this.draw !== null;
  }

  stopDrawing() {
    if (!this.draw) return;
    this.sky.map.removeInteraction(this.draw);
    this.draw = null;
    document.body.classList.remove("drawing-box");
  }

  startDrawing(onDone) {
    if (this.draw) return;
    this.draw = new ol.interaction.Draw({
      type: "Circle",
      // Drag to draw: press at one corner, release at the other.
      freehand: true,
      geometryFunction: ol.interaction.Draw.createBox(),
      style: new ol.style.Style({
        stroke: new ol.style.Stroke({ color: DRAWN_BOX_COLOUR, width: 1.5, lineDash: [4, 3] }),
        fill: new ol.style.Fill({ color: "rgba(255,184,107,0.08)" }),
      }),
    });
    this.draw.on("drawend", (event) => {
      const extent = event.feature.getGeometry().getExtent();
      this.drawnCount += 1;
      const box = boxFromViewExtent(extent, this.sky.flip, `drawn ${this.drawnCount}`);
      this.boxes.push(box);
      this.visible.add(box.name);
      // Leave the drawing interaction after this event has been handled.
      setTimeout(() => {
        this.stopDrawing();
        this.fill();
        this.render();
        if (onDone) onDone(box);
      }, 0);
    });
    this.sky.map.addInteraction(this.draw);
    document.body.classList.add("drawing-box");
  }
}
