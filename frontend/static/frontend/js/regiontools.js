// Sky regions (README "Saved regions"): drawn and edited on the map, measured
// on the layer shown (POST /regions/stats), saved, imported, exported and cut
// out through the regions API, and kept in the view URL while short.
//
// A region is the server's JSON in ICRS degrees (maps/engine/region_stats.py):
// the map only draws it. Circles and annuli are true circles on the sphere;
// ellipses and boxes are outlined in the gnomonic plane at their centre, where
// the server tests them, so what is drawn is what is measured.

import { apiPath, apiUrl, csrfToken, errorFrom, getJson } from "./api.js";
import { el } from "./dom.js";
import { angularDistanceDeg, formatNumber, raToX, raToXNear, skyCircleRing, wrap360, xToRa } from "./sky.js";

const ol = window.ol;
const RAD = Math.PI / 180;

export const KINDS = ["circle", "ellipse", "box", "polygon", "annulus", "point", "line"];
// Longer region lists (counted URL-encoded) stay out of links: browsers and
// proxies cut URLs at a few thousand characters, and the view needs room too.
export const URL_MAX_CHARS = 1500;
const COLOUR = "#ffd54f";
const SELECTED_COLOUR = "#ff6e40";
// Outline points of an ellipse, and per edge of a box (its edges are great
// circles, curved in the CAR view).
const ELLIPSE_POINTS = 96;
const EDGE_POINTS = 16;
// An annulus drawn by dragging gets an inner radius of this fraction of the outer.
const ANNULUS_INNER_FRACTION = 0.5;
// The default background annulus of a circle, in circle radii.
const BACKGROUND_INNER = 1.5;
const BACKGROUND_OUTER = 2.5;
const STATS = ["n_pixels", "sum", "mean", "median", "std", "min", "max"];
const PLOT_WIDTH = 300;
const PLOT_HEIGHT = 170;

// --- geometry ----------------------------------------------------------------

// The sky position of gnomonic coordinates (xi east, eta north, tan units) at (ra0, dec0).
export function tangentToSky(ra0Deg, dec0Deg, xi, eta) {
  const dec0 = dec0Deg * RAD;
  const denominator = Math.cos(dec0) - eta * Math.sin(dec0);
  const ra = ra0Deg + Math.atan2(xi, denominator) / RAD;
  const dec = Math.atan2(Math.sin(dec0) + eta * Math.cos(dec0), Math.hypot(xi, denominator)) / RAD;
  return [ra, dec];
}

// Ellipse or box outline as [ra, dec] points: the width axis at angle_deg
// counter-clockwise from west through north, as the server reads it.
export function outlineSky(shape) {
  const angle = shape.angle_deg * RAD;
  const u = [-Math.cos(angle), Math.sin(angle)];
  const v = [Math.sin(angle), Math.cos(angle)];
  const a = Math.tan((shape.width_deg / 2) * RAD);
  const b = Math.tan((shape.height_deg / 2) * RAD);
  const plane = [];
  if (shape.kind === "ellipse") {
    for (let i = 0; i <= ELLIPSE_POINTS; i += 1) {
      const phi = (2 * Math.PI * i) / ELLIPSE_POINTS;
      plane.push([a * Math.cos(phi), b * Math.sin(phi)]);
    }
  } else {
    const corners = [
      [-a, -b],
      [a, -b],
      [a, b],
      [-a, b],
      [-a, -b],
    ];
    for (let c = 0; c < 4; c += 1) {
      for (let i = 0; i < EDGE_POINTS; i += 1) {
        const t = i / EDGE_POINTS;
        plane.push([0, 1].map((k) => corners[c][k] + t * (corners[c + 1][k] - corners[c][k])));
      }
    }
    plane.push(corners[0]);
  }
  return plane.map(([p, q]) => tangentToSky(shape.ra_deg, shape.dec_deg, p * u[0] + q * v[0], p * u[1] + q * v[1]));
}

// A point of the shape, for placing it in the world copy nearest the view.
function anchor(shape) {
  if (shape.kind === "polygon") return shape.vertices_deg[0];
  if (shape.kind === "line") return shape.start_deg;
  return [shape.ra_deg, shape.dec_deg];
}

// The OpenLayers geometry of a region in view coordinates, in one piece next to `nearX`.
export function regionGeometry(shape, flip, nearX) {
  const x0 = raToXNear(anchor(shape)[0], flip, nearX);
  const near = ([ra, dec]) => [raToXNear(ra, flip, x0), dec];
  const shift = (ring) => {
    const dx = x0 - raToX(anchor(shape)[0], flip);
    return ring.map(([x, y]) => [x + dx, y]);
  };
  switch (shape.kind) {
    case "circle":
      return new ol.geom.Polygon([shift(skyCircleRing(shape.ra_deg, shape.dec_deg, shape.radius_deg, flip))]);
    case "annulus":
      return new ol.geom.Polygon([
        shift(skyCircleRing(shape.ra_deg, shape.dec_deg, shape.outer_radius_deg, flip)),
        shift(skyCircleRing(shape.ra_deg, shape.dec_deg, shape.inner_radius_deg, flip)),
      ]);
    case "ellipse":
    case "box":
      return new ol.geom.Polygon([outlineSky(shape).map(near)]);
    case "polygon": {
      const ring = shape.vertices_deg.map(near);
      return new ol.geom.Polygon([[...ring, ring[0]]]);
    }
    case "point":
      return new ol.geom.Point(near([shape.ra_deg, shape.dec_deg]));
    case "line":
      return new ol.geom.LineString([near(shape.start_deg), near(shape.end_deg)]);
    default:
      throw new Error(`unknown region kind ${shape.kind}`);
  }
}

const skyOf = ([x, y], flip) => [wrap360(xToRa(x, flip)), y];

// The region a drag from `centre` to `edge` (view coordinates) draws.
export function draggedShape(kind, centre, edge, flip) {
  const [ra, dec] = skyOf(centre, flip);
  const [edgeRa, edgeDec] = skyOf(edge, flip);
  const radius = Math.max(angularDistanceDeg(ra, dec, edgeRa, edgeDec), 1e-6);
  if (kind === "circle") return { kind, ra_deg: ra, dec_deg: dec, radius_deg: radius };
  if (kind === "annulus") {
    return { kind, ra_deg: ra, dec_deg: dec, inner_radius_deg: radius * ANNULUS_INNER_FRACTION, outer_radius_deg: radius };
  }
  // The drag's corner sets the half-width along RA and the half-height along Dec.
  const halfWidth = Math.max(angularDistanceDeg(ra, dec, edgeRa, dec), 1e-6);
  const halfHeight = Math.max(Math.abs(edgeDec - dec), 1e-6);
  return { kind, ra_deg: ra, dec_deg: dec, width_deg: 2 * halfWidth, height_deg: 2 * halfHeight, angle_deg: 0 };
}

// The region of an edited polygon, line or point geometry.
function shapeOfGeometry(kind, geometry, flip) {
  if (kind === "polygon") return { kind, vertices_deg: geometry.getCoordinates()[0].slice(0, -1).map((c) => skyOf(c, flip)) };
  if (kind === "line") {
    const [start, end] = geometry.getCoordinates();
    return { kind, start_deg: skyOf(start, flip), end_deg: skyOf(end, flip) };
  }
  const [ra, dec] = skyOf(geometry.getCoordinates(), flip);
  return { kind: "point", ra_deg: ra, dec_deg: dec };
}

// The region moved on screen by (dx, dy) view units: its centre (or
// vertices) move, its sizes on the sky stay.
function movedShape(shape, dx, dy, flip) {
  const move = ([ra, dec]) => {
    const [x, y] = [raToX(ra, flip) + dx, Math.max(-90, Math.min(90, dec + dy))];
    return skyOf([x, y], flip);
  };
  if (shape.kind === "polygon") return { ...shape, vertices_deg: shape.vertices_deg.map(move) };
  if (shape.kind === "line") return { ...shape, start_deg: move(shape.start_deg), end_deg: move(shape.end_deg) };
  const [ra, dec] = move([shape.ra_deg, shape.dec_deg]);
  return { ...shape, ra_deg: ra, dec_deg: dec };
}

// --- DS9 text: written for links and anonymous exports, read back from them --

const deg = (value) => Number(value.toFixed(7)).toString();
const arcsec = (valueDeg) => `${Number((valueDeg * 3600).toFixed(4))}"`;

export function toDs9(shapes) {
  const lines = ["icrs"];
  for (const s of shapes) {
    const centre = () => `${deg(s.ra_deg)},${deg(s.dec_deg)}`;
    if (s.kind === "circle") lines.push(`circle(${centre()},${arcsec(s.radius_deg)})`);
    else if (s.kind === "annulus") lines.push(`annulus(${centre()},${arcsec(s.inner_radius_deg)},${arcsec(s.outer_radius_deg)})`);
    // DS9's ellipse takes semi-axes, its box full sides.
    else if (s.kind === "ellipse") lines.push(`ellipse(${centre()},${arcsec(s.width_deg / 2)},${arcsec(s.height_deg / 2)},${deg(s.angle_deg)})`);
    else if (s.kind === "box") lines.push(`box(${centre()},${arcsec(s.width_deg)},${arcsec(s.height_deg)},${deg(s.angle_deg)})`);
    else if (s.kind === "polygon") lines.push(`polygon(${s.vertices_deg.map(([r, d]) => `${deg(r)},${deg(d)}`).join(",")})`);
    else if (s.kind === "point") lines.push(`point(${centre()})`);
    else if (s.kind === "line") lines.push(`line(${[...s.start_deg, ...s.end_deg].map(deg).join(",")})`);
  }
  return lines.join("\n");
}

// Degrees of a DS9 size: 12" arcsec, 3' arcmin, 1d or bare degrees.
function sizeDeg(text) {
  const match = /^([-+]?[\d.]+(?:e[-+]?\d+)?)\s*(["'d]?)$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${text}`);
  const value = Number(match[1]);
  return match[2] === '"' ? value / 3600 : match[2] === "'" ? value / 60 : value;
}

function coordinate(text) {
  const value = Number(text.trim().replace(/d$/i, ""));
  if (!Number.isFinite(value)) throw new Error(`not a coordinate in degrees: ${text}`);
  return value;
}

// Regions of DS9 text in ICRS or FK5 degrees (the dialect toDs9 writes and
// most tools export); anything else is refused with the reason.
export function parseDs9(text) {
  const shapes = [];
  for (const raw of text.split(/[\n;]/)) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line || /^(global|icrs|fk5|j2000)\b/i.test(line)) continue;
    const match = /^(circle|ellipse|box|polygon|annulus|point|line)\s*\(([^)]*)\)/i.exec(line);
    if (!match) throw new Error(`cannot read \u201c${line.slice(0, 60)}\u201d: only ICRS/FK5 degrees are read here`);
    const kind = match[1].toLowerCase();
    const args = match[2].split(",");
    const centre = { ra_deg: coordinate(args[0]), dec_deg: coordinate(args[1]) };
    if (kind === "circle") shapes.push({ kind, ...centre, radius_deg: sizeDeg(args[2]) });
    else if (kind === "annulus") {
      shapes.push({ kind, ...centre, inner_radius_deg: sizeDeg(args[2]), outer_radius_deg: sizeDeg(args[3]) });
    } else if (kind === "ellipse" || kind === "box") {
      const factor = kind === "ellipse" ? 2 : 1;
      shapes.push({
        kind,
        ...centre,
        width_deg: factor * sizeDeg(args[2]),
        height_deg: factor * sizeDeg(args[3]),
        angle_deg: args[4] === undefined ? 0 : coordinate(args[4]),
      });
    } else if (kind === "polygon") {
      const vertices = [];
      for (let i = 0; i + 1 < args.length; i += 2) vertices.push([coordinate(args[i]), coordinate(args[i + 1])]);
      shapes.push({ kind, vertices_deg: vertices });
    } else if (kind === "point") shapes.push({ kind, ...centre });
    else shapes.push({ kind, start_deg: [centre.ra_deg, centre.dec_deg], end_deg: [coordinate(args[2]), coordinate(args[3])] });
  }
  return shapes;
}

// --- the server --------------------------------------------------------------

async function send(method, path, { json, text, params, accept = "application/json" } = {}) {
  const url = apiUrl(path, params);
  const headers = { Accept: accept, "X-CSRFToken": csrfToken() };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (text !== undefined) {
    headers["Content-Type"] = "text/plain";
    body = text;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body, credentials: "same-origin" });
  } catch (error) {
    throw new Error(`The server did not answer (${error.message}).`, { cause: error });
  }
  if (!response.ok) throw await errorFrom(response, url);
  return response;
}

function download(blob, filename) {
  const link = el("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// --- the panel ---------------------------------------------------------------

const describe = (message, error) => `${message}: ${error.detail || error.message}`;

export class RegionTools {
  // `context()` gives the layer shown; `onChange` is called when the URL's regions change.
  constructor(skyMap, root, messages, context, { username, onChange }) {
    this.sky = skyMap;
    this.root = root;
    this.messages = messages;
    this.context = context;
    this.username = username || null;
    this.onChange = onChange;
    this.items = [];
    this.saved = [];
    this.nextKey = 1;
    this.selected = null;
    this.draw = null;
    this.source = new ol.source.Vector();
    this.layer = new ol.layer.Vector({ source: this.source, style: (f) => this.style(f), zIndex: 24 });
    skyMap.addOverlay(this.layer);
    this.editable = new ol.Collection();
    this.modify = new ol.interaction.Modify({ features: this.editable, pixelTolerance: 8 });
    this.modify.on("modifyend", (event) => event.features.forEach((f) => this.edited(f)));
    this.translate = new ol.interaction.Translate({ layers: [this.layer], hitTolerance: 4 });
    this.translate.on("translateend", (event) => this.moved(event));
    // The one added last sees a pointer first: Modify, so a polygon's
    // vertex is dragged rather than the whole polygon.
    skyMap.map.addInteraction(this.translate);
    skyMap.map.addInteraction(this.modify);
    skyMap.map.on("singleclick", (event) => this.click(event));
    skyMap.addEventListener("flipchange", () => this.redraw());
    this.build();
    this.render();
  }

  // --- panel elements ---

  build() {
    const kind = el("select", { id: "region-kind", ariaLabel: "Region shape" }, ...KINDS.map((k) => el("option", { value: k }, k)));
    this.kindSelect = kind;
    this.drawButton = el("button", { type: "button", id: "region-draw", title: "Draw the chosen shape on the map (R)" }, "Draw");
    this.drawButton.addEventListener("click", () => this.toggleDrawing());
    this.listRoot = el("div", { id: "region-list" });
    this.savedRoot = el("div", { id: "region-saved" });
    this.background = el("input", { type: "checkbox", id: "region-background" });
    this.bgInner = el("input", { type: "text", id: "region-bg-inner", inputMode: "decimal", placeholder: `${BACKGROUND_INNER} r` });
    this.bgOuter = el("input", { type: "text", id: "region-bg-outer", inputMode: "decimal", placeholder: `${BACKGROUND_OUTER} r` });
    for (const input of [this.background, this.bgInner, this.bgOuter]) {
      input.addEventListener("change", () => this.selected && this.measure(this.selected));
    }
    this.editInput = el("input", { type: "text", id: "region-edit", spellcheck: false, ariaLabel: "Selected region (DS9)" });
    this.editInput.addEventListener("change", () => this.applyEdit());
    this.resultRoot = el("div", { id: "region-result" });
    const file = el("input", { type: "file", id: "region-file", accept: ".reg,.crtf,.txt", hidden: true });
    file.addEventListener("change", () => {
      if (file.files.length) this.importFile(file.files[0]).finally(() => (file.value = ""));
    });
    const button = (id, text, title, run) => {
      const b = el("button", { type: "button", id, className: "small", title }, text);
      b.addEventListener("click", run);
      return b;
    };
    const note = this.username
      ? el("p", { className: "hint" }, "Drag circles, ellipses, boxes and annuli from their centre; click polygon vertices (double-click ends), line ends, points. Drag a region to move it.")
      : el("p", { className: "hint", id: "region-anonymous" }, "Not logged in: you can draw and measure regions, but log in to save or import them to the server.");
    this.root.replaceChildren(
      el("div", { className: "row" }, el("label", {}, "shape ", kind), this.drawButton),
      this.listRoot,
      el(
        "div",
        { className: "row" },
        button("region-import", "import\u2026", "Read a DS9 or CRTF region file", () => file.click()),
        file,
        button("region-export-ds9", "DS9", "Download the regions as a DS9 file", () => this.exportFile("ds9")),
        button("region-export-crtf", "CRTF", "Download the saved regions as a CRTF file", () => this.exportFile("crtf")),
      ),
      note,
      el("div", { className: "row" }, el("label", { className: "grow" }, "edit ", this.editInput)),
      el(
        "div",
        { className: "row" },
        el("label", { title: "Statistics of a circle with the median of an annulus around it subtracted" }, this.background, " background"),
        el("label", { title: "Inner radius of the background annulus (arcmin); empty: 1.5 radii" }, "in ", this.bgInner),
        el("label", { title: "Outer radius of the background annulus (arcmin); empty: 2.5 radii" }, "out ", this.bgOuter),
      ),
      this.resultRoot,
      this.savedRoot,
    );
  }

  style(feature) {
    const item = feature.get("region");
    const colour = item === this.selected ? SELECTED_COLOUR : COLOUR;
    const stroke = new ol.style.Stroke({ color: colour, width: item === this.selected ? 2.2 : 1.6 });
    return new ol.style.Style({
      stroke,
      fill: new ol.style.Fill({ color: "rgba(255,213,79,0.05)" }),
      image: new ol.style.Circle({ radius: 5, stroke, fill: new ol.style.Fill({ color: "rgba(0,0,0,0.2)" }) }),
      text: new ol.style.Text({
        text: item.name,
        font: "12px system-ui, sans-serif",
        offsetY: -12,
        fill: new ol.style.Fill({ color: colour }),
        stroke: new ol.style.Stroke({ color: "rgba(10,12,16,0.9)", width: 3 }),
      }),
    });
  }

  // --- drawing and editing ---

  isDrawing() {
    return this.draw !== null;
  }

  stopDrawing() {
    if (!this.draw) return;
    this.sky.map.removeInteraction(this.draw);
    this.draw = null;
    this.drawButton.classList.remove("active");
    this.translate.setActive(true);
  }

  toggleDrawing() {
    if (this.draw) this.stopDrawing();
    else this.startDrawing(this.kindSelect.value);
  }

  startDrawing(kind) {
    this.stopDrawing();
    const flip = () => this.sky.flip;
    let shape = null;
    const dragged = ["circle", "annulus", "ellipse", "box"].includes(kind);
    const options = dragged
      ? {
          type: "Circle",
          freehand: true,
          geometryFunction: (coordinates, geometry) => {
            shape = draggedShape(kind, coordinates[0], coordinates[1], flip());
            const drawn = regionGeometry(shape, flip(), coordinates[0][0]);
            if (!geometry) return drawn;
            geometry.setCoordinates(drawn.getCoordinates());
            return geometry;
          },
        }
      : { type: { polygon: "Polygon", line: "LineString", point: "Point" }[kind], maxPoints: kind === "line" ? 2 : undefined };
    this.draw = new ol.interaction.Draw({ ...options, stopClick: true });
    this.draw.on("drawend", (event) => {
      const made = dragged ? shape : shapeOfGeometry(kind, event.feature.getGeometry(), flip());
      // After the event: OpenLayers would add the sketch to no source, but
      // removing the interaction inside its own handler breaks its state.
      setTimeout(() => {
        this.stopDrawing();
        if (made) this.select(this.add(made));
      }, 0);
    });
    this.translate.setActive(false);
    this.sky.map.addInteraction(this.draw);
    this.drawButton.classList.add("active");
  }

  add(shape, { name, saved = null } = {}) {
    const key = this.nextKey;
    this.nextKey += 1;
    const item = { key, name: name || `${shape.kind} ${key}`, shape, saved };
    item.feature = new ol.Feature();
    item.feature.set("region", item);
    this.items.push(item);
    this.place(item);
    this.source.addFeature(item.feature);
    this.render();
    this.changed();
    return item;
  }

  place(item) {
    const centre = this.sky.view.getCenter();
    item.feature.setGeometry(regionGeometry(item.shape, this.sky.flip, centre ? centre[0] : 0));
    const editable = ["polygon", "line", "point"].includes(item.shape.kind);
    const listed = this.editable.getArray().includes(item.feature);
    if (editable && !listed) this.editable.push(item.feature);
    if (!editable && listed) this.editable.remove(item.feature);
  }

  redraw() {
    for (const item of this.items) this.place(item);
  }

  setShape(item, shape) {
    item.shape = shape;
    item.dirty = item.saved !== null;
    this.place(item);
    this.render();
    this.changed();
    if (item === this.selected) this.select(item);
  }

  edited(feature) {
    const item = feature.get("region");
    this.setShape(item, shapeOfGeometry(item.shape.kind, feature.getGeometry(), this.sky.flip));
  }

  moved(event) {
    const start = event.startCoordinate;
    const [dx, dy] = [event.coordinate[0] - start[0], event.coordinate[1] - start[1]];
    if (dx === 0 && dy === 0) return;
    for (const feature of event.features.getArray()) {
      const item = feature.get("region");
      this.setShape(item, movedShape(item.shape, dx, dy, this.sky.flip));
    }
  }

  applyEdit() {
    if (!this.selected) return;
    let shapes;
    try {
      shapes = parseDs9(this.editInput.value);
    } catch (error) {
      this.messages.error(describe("Region", error));
      return;
    }
    if (shapes.length !== 1) {
      this.messages.error("Region: give exactly one DS9 region to edit");
      return;
    }
    this.setShape(this.selected, shapes[0]);
  }

  remove(item) {
    this.items = this.items.filter((i) => i !== item);
    this.source.removeFeature(item.feature);
    if (this.editable.getArray().includes(item.feature)) this.editable.remove(item.feature);
    if (this.selected === item) {
      this.selected = null;
      this.resultRoot.replaceChildren();
      this.editInput.value = "";
    }
    this.render();
    this.changed();
  }

  click(event) {
    if (this.draw) return;
    const feature = this.sky.map.forEachFeatureAtPixel(event.pixel, (f) => f, {
      hitTolerance: 4,
      layerFilter: (layer) => layer === this.layer,
    });
    if (feature) this.select(feature.get("region"));
  }

  select(item) {
    this.selected = item;
    this.editInput.value = toDs9([item.shape]).split("\n")[1];
    this.layer.changed();
    this.render();
    this.measure(item);
  }

  // --- statistics and profiles ---

  backgroundOf(shape) {
    if (!this.background.checked || shape.kind !== "circle") return undefined;
    const arcmin = (input, radii) => {
      const value = Number(input.value);
      return input.value.trim() && value > 0 ? value / 60 : radii * shape.radius_deg;
    };
    return { inner_radius_deg: arcmin(this.bgInner, BACKGROUND_INNER), outer_radius_deg: arcmin(this.bgOuter, BACKGROUND_OUTER) };
  }

  async measure(item) {
    const { layer } = this.context();
    if (!layer) return;
    if (layer.api_path) {
      this.resultRoot.replaceChildren(el("p", { className: "hint" }, "Statistics are measured on map layers, not derived maps."));
      return;
    }
    const body = { layer_id: layer.layer_id, region: item.shape };
    const background = this.backgroundOf(item.shape);
    if (background) body.background = background;
    const sequence = (this.measureSequence = (this.measureSequence || 0) + 1);
    this.resultRoot.replaceChildren(el("p", { className: "dim" }, "Measuring\u2026"));
    let answer;
    try {
      answer = await (await send("POST", "/regions/stats", { json: body })).json();
    } catch (error) {
      if (sequence !== this.measureSequence) return;
      this.resultRoot.replaceChildren(el("p", { className: "hint error" }, describe("Statistics", error)));
      return;
    }
    if (sequence !== this.measureSequence) return;
    const units = layer.units || "";
    const planes = Object.entries(answer.planes);
    const title = el("p", { className: "hint" }, `${item.name} on ${layer.name}`);
    if (item.shape.kind === "line") {
      this.resultRoot.replaceChildren(title, ...planes.map(([label, plane]) => profilePlot(label, plane.profile, units, planes.length > 1)));
    } else {
      this.resultRoot.replaceChildren(title, statsTable(planes, units));
    }
    this.resultRoot.dataset.layer = layer.layer_id;
  }

  // --- the lists ---

  render() {
    const entries = this.items.map((item) => {
      const name = el("button", { type: "button", className: "region-name", title: "Select: statistics on the layer shown" }, item.name);
      name.addEventListener("click", () => this.select(item));
      const entry = el("div", { className: `region-entry${item === this.selected ? " selected" : ""}`, dataset: { key: String(item.key), kind: item.shape.kind } }, name);
      if (this.username && (!item.saved || (item.dirty && item.saved.owner === this.username))) {
        const save = el("button", { type: "button", className: "small", dataset: { action: "save" } }, item.saved ? "update" : "save");
        save.addEventListener("click", () => this.save(item));
        entry.append(save);
      }
      const cut = el("button", { type: "button", className: "small", dataset: { action: "cutout" }, title: "FITS cut-out of the region's bounding box, every plane" }, "FITS");
      cut.addEventListener("click", () => this.cutout(item));
      const drop = el("button", { type: "button", className: "small", dataset: { action: "remove" }, title: "Remove from the map" }, "\u00d7");
      drop.addEventListener("click", () => this.remove(item));
      entry.append(cut, drop);
      return entry;
    });
    this.listRoot.replaceChildren(...entries);
    this.renderSaved();
  }

  renderSaved() {
    if (!this.saved.length) {
      this.savedRoot.replaceChildren();
      return;
    }
    const rows = this.saved.map((region) => {
      const whose = region.owner === this.username ? "own" : region.public ? "public" : region.group ? `group ${region.group}` : region.owner;
      const show = el("button", { type: "button", className: "small", dataset: { action: "show" }, title: "Show on the map" }, "show");
      show.addEventListener("click", () => this.showSaved(region));
      const entry = el(
        "div",
        { className: "region-entry", dataset: { id: String(region.id) } },
        el("span", { className: "region-name", title: region.ds9 }, region.name || `${region.region.kind} #${region.id}`),
        el("span", { className: "dim" }, whose),
        show,
      );
      if (region.owner === this.username) {
        const rename = el("button", { type: "button", className: "small", dataset: { action: "rename" } }, "rename");
        rename.addEventListener("click", () => this.rename(region));
        const remove = el("button", { type: "button", className: "small", dataset: { action: "delete" } }, "delete");
        remove.addEventListener("click", () => this.deleteSaved(region));
        entry.append(rename, remove);
      }
      return entry;
    });
    this.savedRoot.replaceChildren(el("p", { className: "hint" }, "Saved regions"), ...rows);
  }

  async load() {
    try {
      this.saved = await getJson("/regions");
    } catch (error) {
      this.messages.error(describe("Regions", error));
      this.saved = [];
    }
    this.renderSaved();
  }

  showSaved(region) {
    const shown = this.items.find((i) => i.saved && i.saved.id === region.id);
    this.select(shown || this.add(region.region, { name: region.name || undefined, saved: region }));
  }

  async save(item) {
    try {
      if (item.saved) {
        const path = apiPath("regions", item.saved.id);
        item.saved = await (await send("PATCH", path, { json: { region: item.shape } })).json();
      } else {
        item.saved = await (await send("POST", "/regions", { json: { name: item.name, region: item.shape } })).json();
      }
    } catch (error) {
      this.messages.error(describe("Saving the region", error));
      return;
    }
    item.dirty = false;
    item.shape = item.saved.region;
    await this.load();
    this.render();
    this.messages.info(`Region \u201c${item.name}\u201d saved.`);
  }

  async rename(region) {
    const name = window.prompt("New name of the region", region.name);
    if (name === null) return;
    try {
      await send("PATCH", apiPath("regions", region.id), { json: { name } });
    } catch (error) {
      this.messages.error(describe("Renaming the region", error));
      return;
    }
    for (const item of this.items) if (item.saved && item.saved.id === region.id) item.name = name;
    this.layer.changed();
    await this.load();
    this.render();
  }

  async deleteSaved(region) {
    try {
      await send("DELETE", apiPath("regions", region.id));
    } catch (error) {
      this.messages.error(describe("Deleting the region", error));
      return;
    }
    for (const item of this.items) {
      if (item.saved && item.saved.id === region.id) item.saved = null;
    }
    await this.load();
    this.render();
  }

  // --- files ---

  async importFile(file) {
    const text = await file.text();
    const type = /\.crtf$/i.test(file.name) || /^\s*#CRTF/i.test(text) ? "crtf" : "ds9";
    if (!this.username) {
      // Without a login nothing is saved: DS9 text is read here instead.
      let shapes;
      try {
        if (type !== "ds9") throw new Error("log in to import CRTF files");
        shapes = parseDs9(text);
      } catch (error) {
        this.messages.error(describe(`Importing ${file.name}`, error));
        return;
      }
      shapes.forEach((shape) => this.add(shape));
      this.messages.info(`${shapes.length} region(s) of ${file.name} drawn (not saved: log in to save).`);
      return;
    }
    let created;
    try {
      created = await (await send("POST", "/regions/import", { text, params: { type } })).json();
    } catch (error) {
      this.messages.error(describe(`Importing ${file.name}`, error));
      return;
    }
    created.forEach((region) => this.add(region.region, { saved: region }));
    await this.load();
    this.render();
    this.messages.info(`${created.length} region(s) of ${file.name} imported and saved.`);
  }

  // The saved regions on the map from the server; with none saved, DS9 text
  // of those drawn, written here (an anonymous user's export).
  async exportFile(type) {
    const ids = this.items.filter((i) => i.saved).map((i) => i.saved.id);
    const extension = type === "ds9" ? "reg" : "crtf";
    if (!ids.length) {
      if (!this.items.length) {
        this.messages.error("Export: no region on the map");
      } else if (type !== "ds9") {
        this.messages.error("Export: CRTF files are written by the server for saved regions; save them first");
      } else {
        download(new Blob([`${toDs9(this.items.map((i) => i.shape))}\n`], { type: "text/plain" }), `regions.${extension}`);
      }
      return;
    }
    try {
      const response = await send("GET", "/regions/export", { params: { type, ids: ids.join(",") }, accept: "*/*" });
      download(await response.blob(), `regions.${extension}`);
    } catch (error) {
      this.messages.error(describe("Export", error));
    }
  }

  async cutout(item) {
    const { layer } = this.context();
    if (!layer || layer.api_path) {
      this.messages.error("Cut-out: show a map layer first");
      return;
    }
    try {
      const response = await send("POST", "/regions/cutout", { json: { layer_id: layer.layer_id, region: item.shape }, accept: "*/*" });
      download(await response.blob(), `${layer.layer_id}_${item.name.replace(/[^\w.-]+/g, "_")}.fits`);
    } catch (error) {
      this.messages.error(describe("Cut-out", error));
    }
  }

  // --- the URL ---

  // DS9 text of the regions on the map, or null when none or too long for a link.
  urlText() {
    if (!this.items.length) return null;
    const text = toDs9(this.items.map((i) => i.shape));
    return encodeURIComponent(text).length < URL_MAX_CHARS ? text : null;
  }

  restore(text) {
    this.load();
    if (!text) return;
    try {
      parseDs9(text).forEach((shape) => this.add(shape));
    } catch (error) {
      this.messages.error(describe("Regions in the link", error));
    }
  }

  changed() {
    if (this.onChange) this.onChange();
  }
}

function statsTable(planes, units) {
  const multi = planes.length > 1;
  const head = el("tr", {}, el("th", {}, ""), ...planes.map(([label]) => el("th", {}, multi ? label : units)));
  const rows = [head];
  const names = [...STATS];
  if (planes.some(([, p]) => p.background)) names.push("bg_median", "bg_subtracted_sum");
  for (const name of names) {
    const value = (plane) =>
      name === "bg_median" ? plane.background && plane.background.median : name === "bg_subtracted_sum" ? plane.background_subtracted_sum : plane[name];
    rows.push(
      el(
        "tr",
        {},
        el("th", {}, name),
        ...planes.map(([label, plane]) =>
          el("td", { dataset: { plane: label, stat: name, value: String(value(plane)) } }, name === "n_pixels" ? String(value(plane)) : formatNumber(value(plane), 6)),
        ),
      ),
    );
  }
  const table = el("table", { className: "stats region-stats" }, ...rows);
  if (multi) table.append(el("caption", { className: "dim" }, units));
  return table;
}

// A line's profile: value against distance along the line.
function profilePlot(label, profile, units, labelled) {
  const ratio = window.devicePixelRatio || 1;
  const canvas = el("canvas", { className: "region-profile", width: PLOT_WIDTH * ratio, height: PLOT_HEIGHT * ratio });
  canvas.style.width = `${PLOT_WIDTH}px`;
  canvas.style.height = `${PLOT_HEIGHT}px`;
  canvas.dataset.plane = label;
  canvas.dataset.samples = String(profile.value.length);
  const context = canvas.getContext("2d");
  context.scale(ratio, ratio);
  const distance = profile.offset_deg.map((d) => d * 60);
  const finite = profile.value.filter((v) => v !== null && Number.isFinite(v));
  const margin = { left: 52, right: 8, top: 14, bottom: 30 };
  const width = PLOT_WIDTH - margin.left - margin.right;
  const height = PLOT_HEIGHT - margin.top - margin.bottom;
  const xMax = distance[distance.length - 1] || 1;
  let yMin = finite.length ? Math.min(...finite) : 0;
  let yMax = finite.length ? Math.max(...finite) : 1;
  if (yMin === yMax) [yMin, yMax] = [yMin - 1, yMax + 1];
  const px = (d) => margin.left + (d / xMax) * width;
  const py = (v) => margin.top + (1 - (v - yMin) / (yMax - yMin)) * height;
  context.fillStyle = "#0e1116";
  context.fillRect(0, 0, PLOT_WIDTH, PLOT_HEIGHT);
  context.strokeStyle = "#8a93a3";
  context.fillStyle = "#c8cfda";
  context.font = "10px system-ui, sans-serif";
  context.strokeRect(margin.left, margin.top, width, height);
  context.textAlign = "center";
  for (const d of [0, xMax / 2, xMax]) context.fillText(formatNumber(d, 3), px(d), margin.top + height + 11);
  context.fillText("distance (arcmin)", margin.left + width / 2, PLOT_HEIGHT - 3);
  context.textAlign = "right";
  for (const v of [yMin, (yMin + yMax) / 2, yMax]) context.fillText(formatNumber(v, 3), margin.left - 3, py(v) + 3);
  context.save();
  context.translate(10, margin.top + height / 2);
  context.rotate(-Math.PI / 2);
  context.textAlign = "center";
  context.fillText(`${labelled ? `${label} ` : ""}value${units ? ` (${units})` : ""}`, 0, 0);
  context.restore();
  context.strokeStyle = COLOUR;
  context.beginPath();
  let drawing = false;
  profile.value.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      drawing = false;
      return;
    }
    if (drawing) context.lineTo(px(distance[i]), py(v));
    else context.moveTo(px(distance[i]), py(v));
    drawing = true;
  });
  context.stroke();
  return canvas;
}
