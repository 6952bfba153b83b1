// Derived maps in the viewer (issue 14): a difference, ratio or sum of two
// layers on one pixel grid, or P and the polarisation angle of a Stokes
// band. With WebGL the value is computed on the GPU from both inputs' data
// tiles (the same tiles the layers themselves use, from the shared
// TileValues cache), so a new scale factor is a uniform and fetches nothing;
// the readout computes the same value in JS from those tiles. In PNG mode
// (gl=0) the server's /derived/{op}/{a}/{b} tiles are drawn. Histogram and
// limits always come from the server's /derived endpoints.

import { apiPath, getJson } from "./api.js";
import { replacementFor } from "./live.js";
import { loadDataTile, loadedValueAt, tilePixel } from "./gltiles.js";
import { debiasedIntensity, polarisationAngleDeg } from "./polarisation.js";

export const TWO_INPUT_OPS = ["difference", "ratio", "sum"];
export const STOKES_OPS = ["p", "angle"];
const DEBIAS = ["none", "mas", "asymptotic"];
// The fields of /layers/{id} that fix a layer's pixel grid (the server's
// DERIVED_LAYER_FIELDS): inputs must agree on all of them.
const GRID_FIELDS = [
  "tile_size", "number_of_levels", "pixel_scale_ra_deg", "pixel_scale_dec_deg",
  "pixel_offset_ra_deg", "pixel_offset_dec_deg",
  "bounding_left", "bounding_right", "bounding_top", "bounding_bottom",
];
const DEG_PER_RAD = 180 / Math.PI;
// Menu levels below a map group, as layers.js loads them.
const CHILDREN = ["maps", "bands", "layers"];

// --- the spec: {op, a, b, scaleA, scaleB, debias, sigma} --------------------

export function derivedPath(spec) {
  return apiPath("derived", spec.op, spec.a, spec.b);
}

// The query every /derived URL of `spec` carries; defaults left out.
export function derivedQuery(spec) {
  const query = {};
  if (spec.scaleA !== 1) query.scale_a = spec.scaleA;
  if (spec.scaleB !== 1) query.scale_b = spec.scaleB;
  if (spec.op === "p" && spec.debias !== "none") Object.assign(query, { debias: spec.debias, sigma: spec.sigma });
  return query;
}

function finite(text, fallback) {
  if (text === null || text === undefined || String(text).trim() === "") return fallback;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

// URL state: derived=op, da, db (input ids), dsa, dsb (scales), debias and
// sigma (P only). Null when absent or malformed (a link never half-applies).
export function readDerivedState(params) {
  const op = params.get("derived");
  const a = params.get("da");
  const b = params.get("db");
  if (![...TWO_INPUT_OPS, ...STOKES_OPS].includes(op) || !a || !b) return null;
  const scaleA = finite(params.get("dsa"), 1);
  const scaleB = finite(params.get("dsb"), 1);
  const debias = DEBIAS.includes(params.get("debias")) ? params.get("debias") : "none";
  const sigma = finite(params.get("sigma"), 0);
  if (scaleA === undefined || scaleB === undefined || sigma === undefined) return null;
  return { op, a, b, scaleA, scaleB, debias: op === "p" ? debias : "none", sigma: op === "p" ? sigma : 0 };
}

export function writeDerivedState(params, spec) {
  if (!spec) return;
  // The link reopens input A first, then the derived map over it.
  params.set("layer", spec.a);
  params.set("derived", spec.op);
  params.set("da", spec.a);
  params.set("db", spec.b);
  if (spec.scaleA !== 1) params.set("dsa", String(spec.scaleA));
  if (spec.scaleB !== 1) params.set("dsb", String(spec.scaleB));
  if (spec.op === "p" && spec.debias !== "none") {
    params.set("debias", spec.debias);
    params.set("sigma", String(spec.sigma));
  }
}

// Why layers `a` and `b` (from /layers/{id}) cannot be combined, in the
// words of the server's 400, or null when they share one pixel grid.
export function gridMismatch(a, b) {
  const differ = GRID_FIELDS.filter((field) => a[field] !== b[field]);
  if (!differ.length) return null;
  const extent = (layer) =>
    `${layer.pixel_scale_ra_deg * 60} arcmin pixels at RA ${layer.bounding_left}..${layer.bounding_right}, ` +
    `Dec ${layer.bounding_bottom}..${layer.bounding_top}`;
  return (
    `layers ${a.layer_id} and ${b.layer_id} are not on one pixel grid (they differ in ${differ.join(", ")}): ` +
    `${a.layer_id} is ${extent(a)}, ${b.layer_id} is ${extent(b)}`
  );
}

// --- values -----------------------------------------------------------------

// The derived value of input pixels `a` and `b`, as the server computes it
// (maps/engine/derived.py): scaled and combined in float32 steps, so a
// difference or sum is bit for bit the server's; P and the angle in float64
// rounded once (within one float32 step of the server's). NaN for no data.
export function combine(spec, a, b) {
  const f = Math.fround;
  const sa = f(f(a) * f(spec.scaleA));
  const sb = f(f(b) * f(spec.scaleB));
  let value;
  if (spec.op === "difference") value = f(sa - sb);
  else if (spec.op === "sum") value = f(sa + sb);
  else if (spec.op === "ratio") value = f(sa / sb);
  else if (spec.op === "p") value = f(debiasedIntensity(Math.hypot(sa, sb), spec.sigma, spec.debias));
  else value = f(polarisationAngleDeg(sa, sb, spec.convention || "IAU"));
  return Number.isFinite(value) ? value : NaN;
}

// A bound on the derived value's error from the inputs' bounds (quantised
// tiles), to first order for the non-linear ops.
function combinedError(spec, a, b, errorA, errorB) {
  const ea = Math.abs(spec.scaleA) * errorA;
  const eb = Math.abs(spec.scaleB) * errorB;
  if (!(ea + eb > 0)) return 0;
  const sa = a * spec.scaleA;
  const sb = b * spec.scaleB;
  if (spec.op === "difference" || spec.op === "sum") return ea + eb;
  if (spec.op === "ratio") return Math.abs(sa / sb) * (ea / Math.abs(sa) + eb / Math.abs(sb));
  // P is 1-Lipschitz in (Q, U); the angle moves by at most 0.5 * dP / P radians.
  if (spec.op === "p") return Math.hypot(ea, eb);
  return (0.5 * DEG_PER_RAD * Math.hypot(ea, eb)) / Math.hypot(sa, sb);
}

// The WebGL value expression of `spec` over bands (a, a has data, b, b has
// data); scales and noise are style variables, so changing them is a uniform.
export function valueStyleFor(spec) {
  const a = ["*", ["var", "scale_a"], ["band", 1]];
  const b = ["*", ["var", "scale_b"], ["band", 3]];
  const both = ["all", [">", ["band", 2], 0.5], [">", ["band", 4], 0.5]];
  const variables = variablesFor(spec);
  if (spec.op === "difference") return { value: ["-", a, b], hasData: both, variables };
  if (spec.op === "sum") return { value: ["+", a, b], hasData: both, variables };
  if (spec.op === "ratio") return { value: ["/", a, b], hasData: ["all", both, ["!=", b, 0]], variables };
  const p = ["sqrt", ["+", ["*", a, a], ["*", b, b]]];
  if (spec.op === "p") {
    const s2 = ["*", ["var", "sigma"], ["var", "sigma"]];
    let value = p;
    // No exp() in OpenLayers' expressions: e^x as a power.
    if (spec.debias === "mas") {
      const shrink = ["/", ["*", s2, ["-", 1, ["^", Math.E, ["/", ["-", 0, ["*", p, p]], s2]]]], ["*", 2, p]];
      value = ["case", [">", p, 0], ["-", p, shrink], 0];
    } else if (spec.debias === "asymptotic") {
      value = ["sqrt", ["clamp", ["-", ["*", p, p], s2], 0, 3.4e38]];
    }
    if (spec.debias !== "none") value = ["case", [">", ["var", "sigma"], 0], value, p];
    return { value, hasData: both, variables };
  }
  // atan with two arguments is GLSL's atan(y, x) = atan2; undefined at 0, 0,
  // where polarisation.js says 0.
  const half = ["*", 0.5 * DEG_PER_RAD, ["atan", ["*", ["var", "u_sign"], b], a]];
  const angle = ["case", ["<=", half, -90], ["+", half, 180], half];
  return { value: ["case", ["all", ["==", a, 0], ["==", b, 0]], 0, angle], hasData: both, variables };
}

function variablesFor(spec) {
  return {
    scale_a: spec.scaleA,
    scale_b: spec.scaleB,
    sigma: spec.sigma || 0,
    u_sign: spec.convention === "COSMO" ? -1 : 1,
  };
}

// makeDataLayer options of a derived map: its loader fetches (or finds in
// `tileValues`) both inputs' tiles at each coordinate and hands the GPU four
// bands. `inputUrlOf(layerId)(coord)` is an input's data tile URL.
export function derivedLayerOptions(spec, { inputUrlOf, tileValues, onTile }) {
  const urlOfA = inputUrlOf(spec.a);
  const urlOfB = inputUrlOf(spec.b);
  const bands = async (coord, { signal }) => {
    const [a, b] = await Promise.all([
      loadDataTile(urlOfA(coord), { tileValues, onTile, signal }),
      loadDataTile(urlOfB(coord), { tileValues, onTile, signal }),
    ]);
    const out = new Float32Array(a.values.length * 4);
    for (let i = 0; i < a.values.length; i += 1) {
      const va = a.values[i];
      const vb = b.values[i];
      if (va === va) [out[4 * i], out[4 * i + 1]] = [va, 1];
      if (vb === vb) [out[4 * i + 2], out[4 * i + 3]] = [vb, 1];
    }
    return out;
  };
  return { urlOf: urlOfA, bands, bandCount: 4, valueStyle: valueStyleFor(spec), urlOfB };
}

// SkyMap hooks of a derived WebGL layer: the readout's value under a view
// coordinate and a whole tile's values (limits from the view), computed in
// JS from the cached input tiles with the layer's current spec.
export function derivedHooks(tileLayer, spec, urlOfB) {
  tileLayer.set("derivedSpec", spec);
  tileLayer.set("valueAt", (layer, tileValues, urlOf, coordinate, z) => {
    const hit = loadedValueAt(layer, tileValues, urlOf, coordinate, z);
    if (!hit) return null;
    const tileB = tileValues.get(urlOfB(hit.coord));
    if (!tileB) return null;
    const current = layer.get("derivedSpec");
    const b = tilePixel(tileB, hit.row, hit.col);
    const value = combine(current, hit.value, b.value);
    return { ...hit, value, maxError: combinedError(current, hit.value, b.value, hit.maxError, b.maxError) };
  });
  tileLayer.set("tileAt", (tileValues, urlOf, coord) => {
    const a = tileValues.get(urlOf(coord));
    const b = tileValues.get(urlOfB(coord));
    if (!a || !b) return null;
    const current = tileLayer.get("derivedSpec");
    const values = a.values.map((v, i) => combine(current, v, b.values[i]));
    return { ...a, values };
  });
}

// --- the panel --------------------------------------------------------------

const $ = (selector) => document.querySelector(selector);

function option(value, text) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = text;
  return element;
}

// The sidebar's "Derived map" panel. `viewer` is main.js's Viewer: its
// colour panel, map, readout and layer menu show the derived map like a layer.
export class DerivedPanel {
  constructor(viewer) {
    this.viewer = viewer;
    this.base = null;
    this.layer = null;
    this.layers = [];
    this.el = {
      panel: $("#derived-panel"),
      op: $("#derived-op"),
      a: $("#derived-a"),
      b: $("#derived-b"),
      scaleA: $("#derived-scale-a"),
      scaleB: $("#derived-scale-b"),
      debiasRow: $("#derived-debias-row"),
      debias: $("#derived-debias"),
      sigma: $("#derived-sigma"),
      show: $("#derived-show"),
      off: $("#derived-off"),
      note: $("#derived-note"),
    };
    for (const op of [...TWO_INPUT_OPS, ...STOKES_OPS]) {
      this.el.op.append(option(op, op === "p" ? "P (polarised intensity)" : op === "angle" ? "polarisation angle" : op));
    }
    for (const method of DEBIAS) this.el.debias.append(option(method, method));
    this.el.op.addEventListener("change", () => this.opChanged());
    this.el.panel.addEventListener("toggle", () => this.el.panel.open && this.loadLayers());
    this.el.show.addEventListener("click", () => this.show(this.formSpec()));
    this.el.off.addEventListener("click", () => this.off());
    for (const input of [this.el.scaleA, this.el.scaleB, this.el.sigma]) {
      input.addEventListener("change", () => this.optionsChanged());
    }
    this.el.debias.addEventListener("change", () => this.optionsChanged());
  }

  // The derived map on screen, or null (another layer was chosen since).
  spec() {
    return this.layer && this.viewer.layer === this.layer ? this.layer.derived : null;
  }

  note(text) {
    this.el.note.textContent = text || "";
  }

  // The viewer shows a stored layer: the default A, and P/angle offered when
  // it is a Stokes plane of a band with Q and U.
  layerShown(layer) {
    if (layer.derived) return;
    this.base = layer;
    const stokes = layer.stokes_layers || {};
    const polar = Boolean(stokes.Q && stokes.U);
    for (const element of this.el.op.options) {
      if (STOKES_OPS.includes(element.value)) element.disabled = !polar;
    }
    if (!polar && STOKES_OPS.includes(this.el.op.value)) this.el.op.value = "difference";
    this.selectInput(this.el.a, layer.layer_id);
    this.opChanged();
  }

  selectInput(select, layerId) {
    if (![...select.options].some((o) => o.value === layerId)) select.append(option(layerId, layerId));
    select.value = layerId;
  }

  opChanged() {
    const op = this.el.op.value;
    this.el.debiasRow.hidden = op !== "p";
    const stokes = (this.base && this.base.stokes_layers) || {};
    if (STOKES_OPS.includes(op) && stokes.Q && stokes.U) {
      this.selectInput(this.el.a, stokes.Q);
      this.selectInput(this.el.b, stokes.U);
    } else if (this.base) {
      this.selectInput(this.el.a, this.base.layer_id);
    }
  }

  // Every layer the menu can show (loading the levels not opened yet), as
  // the choices for A and B.
  async loadLayers() {
    const found = [];
    const walk = async (entries, depth, names) => {
      for (const entry of entries) {
        const path = [...names, entry.name];
        if (depth === CHILDREN.length) {
          found.push({ id: entry.layer_id, name: path.join(" \u203a ") });
          continue;
        }
        await this.viewer.menu.loadChildren(entry, depth);
        await walk(entry[CHILDREN[depth]] || [], depth + 1, path);
      }
    };
    await walk(this.viewer.menu.tree || [], 0, []);
    this.viewer.menu.render();
    this.layers = found;
    for (const select of [this.el.a, this.el.b]) {
      const chosen = select.value;
      select.replaceChildren(...found.map((layer) => option(layer.id, layer.name)));
      if (chosen) this.selectInput(select, chosen);
    }
  }

  formSpec() {
    const op = this.el.op.value;
    const debias = op === "p" ? this.el.debias.value : "none";
    return {
      op,
      a: this.el.a.value,
      b: this.el.b.value,
      scaleA: finite(this.el.scaleA.value, 1),
      scaleB: finite(this.el.scaleB.value, 1),
      debias,
      sigma: debias === "none" ? 0 : finite(this.el.sigma.value, 0),
    };
  }

  setForm(spec) {
    this.el.op.value = spec.op;
    this.selectInput(this.el.a, spec.a);
    this.selectInput(this.el.b, spec.b);
    this.el.scaleA.value = String(spec.scaleA);
    this.el.scaleB.value = String(spec.scaleB);
    this.el.debias.value = spec.debias;
    this.el.sigma.value = spec.sigma ? String(spec.sigma) : "";
    this.el.debiasRow.hidden = spec.op !== "p";
  }

  // A new scale, debias or sigma for the map on screen. On the GPU only the
  // style variables change (no request; a new debias method is a new
  // expression over the same tiles); in PNG mode new server tiles.
  optionsChanged() {
    const current = this.spec();
    if (!current) return;
    const spec = { ...this.formSpec(), op: current.op, a: current.a, b: current.b, convention: current.convention };
    if ([spec.scaleA, spec.scaleB, spec.sigma].some((v) => v === undefined)) {
      this.note("Scales and \u03c3 are numbers.");
      return;
    }
    if (spec.op === "p" && spec.debias !== "none" && !(spec.sigma > 0)) {
      this.note("Debiasing needs the noise \u03c3 of Q and U (> 0).");
      return;
    }
    this.note("");
    Object.assign(this.layer, { derived: spec, api_query: derivedQuery(spec) });
    const sky = this.viewer.sky;
    const tileLayer = sky.tileLayer;
    if (sky.gl && tileLayer && tileLayer.get("derivedSpec")) {
      Object.assign(tileLayer.get("derivedSpec"), spec);
      if (spec.debias !== current.debias) {
        tileLayer.set("valueStyle", valueStyleFor(spec));
        tileLayer.set("paletteKey", null);
        sky.recolour();
      } else {
        tileLayer.updateStyleVariables(variablesFor(spec));
      }
    } else {
      sky.setLayer(this.layer, this.viewer.colour.getColour());
    }
    this.viewer.saveUrl();
  }

  // Check `spec` and show its map; false (with a message saying why) when
  // an input is hidden or missing, or the grids differ.
  async show(spec, { colour = null } = {}) {
    if (!spec.a || !spec.b) {
      this.note("Choose both inputs.");
      return false;
    }
    if ([spec.scaleA, spec.scaleB, spec.sigma].some((v) => v === undefined)) {
      this.note("Scales and \u03c3 are numbers.");
      return false;
    }
    const inputs = [];
    for (const id of [spec.a, spec.b]) {
      try {
        inputs.push(await getJson(apiPath("layers", id)));
      } catch (error) {
        const why = error.status === 404 ? "does not exist or is not visible to you" : error.detail || error.message;
        return this.refuse(`Layer \u201c${id}\u201d ${why}: no derived map.`);
      }
    }
    const mismatch = gridMismatch(...inputs);
    if (mismatch) return this.refuse(`Cannot combine: ${mismatch}.`);
    const query = derivedQuery(spec);
    let described;
    try {
      described = await getJson(derivedPath(spec), query);
    } catch (error) {
      return this.refuse(`Derived map: ${error.detail || error.message}`);
    }
    let histogram = null;
    try {
      histogram = await getJson(`${derivedPath(spec)}/histogram`, query);
    } catch (error) {
      this.viewer.messages.error(`Histogram of ${described.name}: ${error.detail || error.message}`);
    }
    const full = { ...spec, convention: described.polarisation_convention || "IAU" };
    // The inputs' file versions: a rewritten input gives new tile URLs (v=).
    const fileVersion = inputs.map((input) => input.file_version).join("+");
    const inputVersions = Object.fromEntries(inputs.map((input) => [input.layer_id, input.file_version]));
    const layer = { ...described, file_version: fileVersion, input_versions: inputVersions, derived: full, api_path: derivedPath(spec), api_query: query };
    const viewer = this.viewer;
    await viewer.colour.setLayer(layer, histogram, colour);
    viewer.colourBar.draw();
    this.layer = layer;
    viewer.layer = layer;
    viewer.sky.setLayer(layer, viewer.colour.getColour());
    viewer.readout.setLayer(layer);
    viewer.menu.setActive(null);
    this.setForm(full);
    this.note(described.polarisation_convention ? `Convention ${described.polarisation_convention} (${described.polarisation_convention_from}).` : "");
    $("#layer-title").textContent = `${described.name}${described.units ? ` [${described.units}]` : ""}`;
    document.title = `${described.name} \u2014 TileMaker`;
    viewer.messages.state("derived", null);
    viewer.saveUrl();
    return true;
  }

  // A batch of ws/events (live.js; `full`: read everything again) while a
  // derived map is shown: an input removed or hidden closes it, saying so,
  // and shows the other input (else another layer); a rewritten input file
  // makes the map again (its version is in the tile URLs' v=).
  async liveUpdate(messages, full) {
    const spec = this.spec();
    if (!spec) return;
    const derived = this.layer;
    const ids = [spec.a, spec.b];
    const relevant = (m) => m.event !== "added" && (m.kind === "layer" ? ids.includes(m.id) : ["group", "map", "band"].includes(m.kind));
    if (!full && !messages.some(relevant)) return;
    const inputs = [];
    const gone = [];
    for (const id of ids) {
      try {
        inputs.push(await getJson(apiPath("layers", id)));
      } catch (error) {
        if (error.status !== 404) return;
        gone.push(id);
      }
    }
    if (this.layer !== derived || this.viewer.layer !== derived) return;
    if (gone.length) {
      const names = gone.map((id) => (this.base && this.base.layer_id === id ? this.base.name : id));
      this.viewer.messages.add(
        `Derived map \u201c${derived.name}\u201d closed: layer \u201c${names.join("\u201d, \u201c")}\u201d was removed or is no longer available to you.`,
        "info",
        { sticky: true },
      );
      this.layer = null;
      this.note("");
      const next = inputs[0] || (this.base ? await replacementFor(this.base) : null);
      if (next) await this.viewer.selectLayer(next.layer_id);
      else this.viewer.clearLayer();
      return;
    }
    const version = inputs.map((input) => input.file_version).join("+");
    const rewritten = messages.some((m) => m.kind === "layer" && ids.includes(m.id) && m.event === "rewritten");
    if (rewritten || version !== derived.file_version) await this.show(spec, { colour: { ...this.viewer.colour.colour } });
  }

  refuse(text) {
    this.note(text);
    this.viewer.messages.state("derived", text);
    return false;
  }

  // Back to input A (or the layer the map was made from).
  off() {
    const spec = this.spec();
    this.layer = null;
    this.note("");
    this.viewer.messages.state("derived", null);
    if (spec) this.viewer.selectLayer(this.base ? this.base.layer_id : spec.a);
  }
}
