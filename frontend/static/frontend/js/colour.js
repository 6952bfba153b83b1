// Colour controls: the layer's histogram drawn with the colour map, a
// two-handle vmin/vmax slider, numeric entry, colour map, stretch, limits,
// log and abs; each layer's settings remembered, and a lock sharing them
// between the layers of one map.

import { apiPath, apiUrl, errorFrom, getJson, layerPath, layerQuery } from "./api.js";
import { colourBarTicks } from "./colourbar.js";
import { computeLimits, PERCENT_PRESETS } from "./limits.js";
import { formatNumber } from "./sky.js";
import {
  colourIndex,
  DEFAULT_ASINH_A,
  DEFAULT_GAMMA,
  lutColour,
  STRETCHES,
  TRANSPARENT_INDEX,
  withHisteq,
} from "./stretch.js";

// Keyboard steps as fractions of the current vmin..vmax range.
const SHIFT_FRACTION = 0.1;
const WIDEN_FACTOR = 1.25;
const ARROW_FRACTION = 0.01;
// While a handle is dragged, PNG tiles follow at most this often (WebGL
// tiles follow every move: liveDrag).
const DRAG_UPDATE_MS = 300;
const AXIS_MARGIN = 0.08;
// The histogram's value axis: about this many labelled ticks.
const AXIS_TICK_COUNT = 5;
const AXIS_TICK_PX = 4;
const NO_COLOUR = [128, 128, 128];

const STRETCH_DEFAULTS = { stretch: "linear", asinh_a: DEFAULT_ASINH_A, gamma: DEFAULT_GAMMA };

const COMMON_CMAPS = [
  "RdBu_r", "viridis", "magma", "inferno", "plasma", "cividis", "gray", "Greys_r",
  "coolwarm", "seismic", "bwr", "Spectral_r", "RdYlBu_r", "PuOr_r", "turbo", "twilight",
  "hot", "afmhot", "gist_heat", "cubehelix", "YlGnBu_r", "bone", "ocean", "jet",
];

// The limits menu: value "method" or "percentile:percent".
const LIMIT_CHOICES = [
  ["minmax", "min / max"],
  ...PERCENT_PRESETS.map((percent) => [`percentile:${percent}`, `${percent}%`]),
  ["zscale", "zscale"],
];

const colourCache = new Map();

// The API's 256 x 8 colour bar, read back as 256 RGB triples.
export async function loadColourMap(name) {
  if (colourCache.has(name)) return colourCache.get(name);
  const url = apiUrl(apiPath("histograms", `${name}.png`));
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw await errorFrom(response, url);
  const bitmap = await createImageBitmap(await response.blob());
  const canvas = document.createElement("canvas");
  canvas.width = 256;
  canvas.height = 1;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0, bitmap.width, bitmap.height, 0, 0, 256, 1);
  const data = context.getImageData(0, 0, 256, 1).data;
  const colours = [];
  for (let i = 0; i < 256; i += 1) colours.push([data[4 * i], data[4 * i + 1], data[4 * i + 2]]);
  colourCache.set(name, colours);
  return colours;
}

export class ColourPanel extends EventTarget {
  constructor(root, messages) {
    super();
    this.root = root;
    this.messages = messages;
    this.canvas = root.querySelector("#histogram-canvas");
    this.track = root.querySelector("#histogram");
    this.handles = { vmin: root.querySelector("#handle-vmin"), vmax: root.querySelector("#handle-vmax") };
    this.inputs = { vmin: root.querySelector("#vmin"), vmax: root.querySelector("#vmax") };
    this.cmapInput = root.querySelector("#cmap");
    this.logBox = root.querySelector("#log");
    this.absBox = root.querySelector("#abs");
    this.stretchSelect = root.querySelector("#stretch");
    this.stretchInputs = { asinh_a: root.querySelector("#asinh-a"), gamma: root.querySelector("#gamma") };
    this.stretchRows = { asinh_a: root.querySelector("#asinh-a-label"), gamma: root.querySelector("#gamma-label") };
    this.limitsSelect = root.querySelector("#limits");
    this.limitsScope = root.querySelector("#limits-scope");
    this.lockBox = root.querySelector("#colour-lock");
    this.unitsLabel = root.querySelector("#units");
    this.histogram = null;
    this.layer = null;
    this.defaults = null;
    this.colour = { vmin: 0, vmax: 1, cmap: "RdBu_r", log: false, abs: false, ...STRETCH_DEFAULTS };
    this.colours = null;
    this.dragTimer = null;
    this.liveDrag = false;
    // A function giving the data on screen ({chunks, tiles}, mapview.js
    // visibleData), set by the viewer when it draws data tiles; PNG tiles
    // leave no values in the browser, so without it there are no limits from
    // the view (the server's /limits covers the whole map only).
    this.viewData = null;
    // Settings by layer id, as last shown in this page; locked settings by map id.
    this.memory = new Map();
    this.locks = new Map();
    // Whole-map limits by layer, method and percent: they only change with the file.
    this.limitsCache = new Map();
    const list = root.querySelector("#cmap-list");
    for (const name of COMMON_CMAPS) {
      const option = document.createElement("option");
      option.value = name;
      list.append(option);
    }
    for (const name of STRETCHES) this.stretchSelect.append(new Option(name, name));
    for (const [value, label] of LIMIT_CHOICES) this.limitsSelect.append(new Option(label, value));
    this.bind();
  }

  bind() {
    for (const which of ["vmin", "vmax"]) {
      const input = this.inputs[which];
      input.addEventListener("change", () => this.typed(which));
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") input.blur();
      });
      const handle = this.handles[which];
      handle.addEventListener("pointerdown", (event) => this.startDrag(event, which));
      handle.addEventListener("keydown", (event) => this.handleKey(event, which));
    }
    this.track.addEventListener("pointerdown", (event) => {
      if (event.target !== this.canvas) return;
      const value = this.valueAtClientX(event.clientX);
      const which =
        Math.abs(value - this.colour.vmin) <= Math.abs(value - this.colour.vmax) ? "vmin" : "vmax";
      this.moveHandle(which, value);
      this.startDrag(event, which);
    });
    this.cmapInput.addEventListener("change", () => this.chooseCmap(this.cmapInput.value.trim()));
    this.cmapInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter") this.cmapInput.blur();
    });
    this.logBox.addEventListener("change", () => this.setLog(this.logBox.checked));
    this.absBox.addEventListener("change", () => this.update({ abs: this.absBox.checked }));
    this.stretchSelect.addEventListener("change", () => this.chooseStretch(this.stretchSelect.value));
    for (const name of ["asinh_a", "gamma"]) {
      const input = this.stretchInputs[name];
      input.addEventListener("change", () => this.typedParameter(name));
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") input.blur();
      });
    }
    this.limitsSelect.addEventListener("change", () => this.applyLimits());
    this.limitsScope.addEventListener("change", () => this.applyLimits());
    this.root.querySelector("#limits-apply").addEventListener("click", () => this.applyLimits());
    this.lockBox.addEventListener("change", () => this.setLock(this.lockBox.checked));
    this.root.querySelector("#reset-colour").addEventListener("click", () => this.reset());
    new ResizeObserver(() => this.draw()).observe(this.track);
  }

  // Settings a layer opens with: its own vmin/vmax, or the histogram's
  // automatic ones when the layer says "auto".
  defaultsFor(layer, histogram) {
    const pick = (value, fallback) => (typeof value === "number" ? value : fallback);
    return {
      vmin: pick(layer.vmin, histogram ? histogram.vmin : 0),
      vmax: pick(layer.vmax, histogram ? histogram.vmax : 1),
      cmap: layer.cmap || "RdBu_r",
      log: false,
      abs: false,
      ...STRETCH_DEFAULTS,
    };
  }

  // The settings a layer opens with: `colour` (from a link) if given, else
  // those locked for its map, else its own as last shown in this page, else
  // its defaults. What is not usable is reported and replaced by the default.
  async setLayer(layer, histogram, colour) {
    this.messages.state("log", null);
    this.layer = layer;
    this.histogram = histogram;
    this.defaults = this.defaultsFor(layer, histogram);
    const chosen = colour || this.locks.get(layer.map_id) || this.memory.get(layer.layer_id);
    this.colour = { ...this.defaults, ...(chosen || {}) };
    if (this.colour.stretch === "histeq" && !histogram) {
      this.messages.error("The histeq stretch needs the layer's histogram: showing a linear stretch.");
      this.colour.stretch = "linear";
    }
    if (this.colour.log && this.colour.vmin <= 0) {
      const wanted = { ...this.colour };
      this.colour.log = false;
      this.askLog(wanted, "A log scale needs vmin > 0: showing a linear scale.");
    }
    this.unitsLabel.textContent = layer.units || "";
    try {
      this.colours = await loadColourMap(this.colour.cmap);
    } catch (error) {
      if (this.colour.cmap !== this.defaults.cmap) {
        this.messages.error(`Colour map \u201c${this.colour.cmap}\u201d: ${error.detail || error.message}`);
        this.colour.cmap = this.defaults.cmap;
      }
      await this.refreshColours();
    }
    this.remember();
    this.sync();
  }

  async refreshColours() {
    try {
      this.colours = await loadColourMap(this.colour.cmap);
    } catch {
      this.colours = null;
    }
  }

  // The settings, plus what the tiles need to draw them: the histeq curve
  // of the layer's histogram within the range (stretch.js withHisteq).
  getColour() {
    return withHisteq({ ...this.colour }, this.histogram);
  }

  isLocked() {
    return Boolean(this.layer && this.locks.has(this.layer.map_id));
  }

  remember() {
    if (!this.layer) return;
    this.memory.set(this.layer.layer_id, { ...this.colour });
    if (this.isLocked()) this.locks.set(this.layer.map_id, { ...this.colour });
  }

  // Locked: every layer of this map opens with the current settings.
  setLock(on) {
    if (!this.layer) return;
    if (on) this.locks.set(this.layer.map_id, { ...this.colour });
    else this.locks.delete(this.layer.map_id);
    this.sync();
    this.dispatchEvent(new Event("lockchange"));
  }

  emit(final = true) {
    // A pending log question was about the settings before this change.
    this.messages.state("log", null);
    this.remember();
    this.dispatchEvent(new CustomEvent("change", { detail: { colour: this.getColour(), final } }));
  }

  update(partial, { emit = true } = {}) {
    const next = { ...this.colour, ...partial };
    if (!(next.vmin < next.vmax)) return false;
    this.colour = next;
    this.sync();
    if (emit) this.emit();
    return true;
  }

  reset() {
    if (!this.defaults) return;
    const cmapChanged = this.defaults.cmap !== this.colour.cmap;
    this.colour = { ...this.defaults };
    (cmapChanged ? this.refreshColours() : Promise.resolve()).then(() => {
      this.sync();
      this.emit();
    });
  }

  setLog(on) {
    if (on && this.colour.vmin <= 0) {
      this.askLog({ ...this.colour, log: true }, `A log scale needs vmin > 0 (vmin is ${formatNumber(this.colour.vmin)}).`);
      return;
    }
    this.messages.state("log", null);
    this.update({ log: on });
  }

  // `wanted` asks for a log scale with vmin <= 0. Nothing changes until the
  // user picks a way out: a vmin above 0, or asinh (defined for every value).
  askLog(wanted, text) {
    const choose = (next) => () => {
      this.messages.state("log", null);
      this.update(next);
    };
    const choices = [];
    // Read when picked, not when asked: a link asks before its tiles arrive.
    if (this.viewData) {
      const fromView = () => {
        const positive = this.smallestPositiveInView();
        if (positive === null || !(positive < wanted.vmax)) {
          this.messages.error(`No value on screen is above 0 and below vmax ${formatNumber(wanted.vmax)}.`);
          return;
        }
        choose({ ...wanted, vmin: positive })();
      };
      choices.push({ label: "vmin = smallest > 0 in view", run: fromView });
    }
    if (wanted.vmax > 0) {
      choices.push({ label: `vmin = vmax/1000 = ${formatNumber(wanted.vmax / 1000)}`, run: choose({ ...wanted, vmin: wanted.vmax / 1000 }) });
    }
    choices.push({ label: "asinh instead", run: choose({ ...wanted, log: false, stretch: "asinh" }) });
    choices.push({ label: "cancel", run: () => this.messages.state("log", null) });
    // Replaced, not kept: the previous question's choices were for other settings.
    this.messages.state("log", null);
    this.messages.state("log", `${text} Choose:`, choices);
    this.sync();
  }

  smallestPositiveInView() {
    const data = this.viewData && this.viewData();
    if (!data) return null;
    let smallest = Infinity;
    for (const chunk of data.chunks) {
      for (let i = 0; i < chunk.length; i += 1) {
        if (chunk[i] > 0 && chunk[i] < smallest) smallest = chunk[i];
      }
    }
    return Number.isFinite(smallest) ? smallest : null;
  }

  chooseStretch(stretch) {
    if (stretch === "histeq" && !this.histogram) {
      this.messages.error("The histeq stretch needs the layer's histogram, which did not load.");
      this.sync();
      return;
    }
    this.update({ stretch });
  }

  // asinh_a and gamma: numbers above 0, as the server takes them.
  typedParameter(name) {
    const text = this.stretchInputs[name].value.trim();
    const value = Number(text);
    if (text === "" || !(value > 0) || !Number.isFinite(value)) {
      this.messages.error(`${name}: \u201c${text}\u201d is not a number above 0.`);
      this.sync();
      return;
    }
    this.update({ [name]: value });
  }

  // Limits from the limits menu over the whole map (the server's, once per
  // layer, method and percent) or over the data on screen (limits.js).
  async applyLimits() {
    const choice = this.limitsSelect.value;
    const layer = this.layer;
    if (!choice || !layer) return;
    const [method, percentText] = choice.split(":");
    const percent = percentText === undefined ? undefined : Number(percentText);
    let limits;
    if (this.limitsScope.value === "view") {
      const data = this.viewData && this.viewData();
      if (!data) return;
      limits = computeLimits(data.chunks, method, percent);
      if (!limits) {
        this.messages.error("No data on screen to take limits from.");
        return;
      }
    } else {
      try {
        limits = await this.mapLimits(layer, method, percent);
      } catch (error) {
        this.messages.error(`Limits of ${layer.name}: ${error.detail || error.message}`);
        return;
      }
      if (layer !== this.layer) return;
    }
    this.setLimits(limits);
  }

  async mapLimits(layer, method, percent) {
    const key = JSON.stringify([layerPath(layer), layerQuery(layer), method, percent ?? null]);
    if (!this.limitsCache.has(key)) {
      const params = percent === undefined ? { method } : { method, percent };
      const answer = await getJson(layerPath(layer, "limits"), { ...layerQuery(layer), ...params });
      this.limitsCache.set(key, { vmin: answer.vmin, vmax: answer.vmax });
    }
    return this.limitsCache.get(key);
  }

  setLimits({ vmin, vmax }) {
    if (!(vmin < vmax)) {
      this.messages.error(`The limits are ${formatNumber(vmin)} and ${formatNumber(vmax)}: no range to colour.`);
      return;
    }
    if (this.colour.log && vmin <= 0) {
      this.askLog({ ...this.colour, vmin, vmax }, `These limits put vmin at ${formatNumber(vmin)}; a log scale needs vmin > 0.`);
      return;
    }
    this.update({ vmin, vmax });
  }

  async chooseCmap(name) {
    if (!name || name === this.colour.cmap) {
      this.cmapInput.value = this.colour.cmap;
      return;
    }
    try {
      this.colours = await loadColourMap(name);
    } catch (error) {
      this.messages.error(`Colour map \u201c${name}\u201d: ${error.detail || error.message}`);
      this.cmapInput.value = this.colour.cmap;
      return;
    }
    this.update({ cmap: name });
  }

  typed(which) {
    const text = this.inputs[which].value.trim().replace("\u2212", "-");
    const value = Number(text);
    if (text === "" || !Number.isFinite(value)) {
      this.messages.error(`${which}: \u201c${text}\u201d is not a number.`);
      this.sync();
      return;
    }
    const next = { ...this.colour, [which]: value };
    if (!(next.vmin < next.vmax)) {
      this.messages.error("vmin must be less than vmax.");
      this.sync();
      return;
    }
    if (next.log && next.vmin <= 0) {
      this.messages.error("With a log scale vmin must be above 0.");
      this.sync();
      return;
    }
    this.update({ [which]: value });
  }

  // A/D: move the range down/up by a tenth of its width.
  shift(direction) {
    const width = this.colour.vmax - this.colour.vmin;
    const delta = direction * SHIFT_FRACTION * width;
    if (this.colour.log && this.colour.vmin + delta <= 0) return;
    this.update({ vmin: this.colour.vmin + delta, vmax: this.colour.vmax + delta });
  }

  // W/S: widen or narrow the range about its middle.
  scale(widen) {
    const middle = (this.colour.vmin + this.colour.vmax) / 2;
    const half = ((this.colour.vmax - this.colour.vmin) / 2) * (widen ? WIDEN_FACTOR : 1 / WIDEN_FACTOR);
    if (this.colour.log && middle - half <= 0) return;
    this.update({ vmin: middle - half, vmax: middle + half });
  }

  // The slider's value axis: the populated part of the histogram and the
  // current range, with a margin, so neither is squeezed into a corner.
  axis() {
    if (this.frozenAxis) return this.frozenAxis;
    let low = this.colour.vmin;
    let high = this.colour.vmax;
    const h = this.histogram;
    if (h) {
      const filled = h.histogram.map((count, i) => (count > 0 ? i : -1)).filter((i) => i >= 0);
      if (filled.length) {
        low = Math.min(low, h.edges[filled[0]]);
        high = Math.max(high, h.edges[filled[filled.length - 1] + 1]);
      }
    }
    const margin = AXIS_MARGIN * (high - low);
    return [low - margin, high + margin];
  }

  valueAtClientX(clientX) {
    const rect = this.canvas.getBoundingClientRect();
    const [low, high] = this.axis();
    const t = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
    return low + t * (high - low);
  }

  moveHandle(which, value) {
    const other = which === "vmin" ? this.colour.vmax : this.colour.vmin;
    const [low, high] = this.axis();
    const gap = (high - low) / 1000;
    let v = which === "vmin" ? Math.min(value, other - gap) : Math.max(value, other + gap);
    if (this.colour.log && which === "vmin" && v <= 0) v = Math.min(other / 1000, other - gap);
    this.colour = { ...this.colour, [which]: v };
    this.sync();
  }

  startDrag(event, which) {
    event.preventDefault();
    const handle = this.handles[which];
    handle.focus();
    // The axis stays put while dragging, so the handle follows the pointer.
    this.frozenAxis = this.axis();
    const target = event.currentTarget;
    target.setPointerCapture(event.pointerId);
    const move = (e) => {
      this.moveHandle(which, this.valueAtClientX(e.clientX));
      if (this.liveDrag) {
        this.emit(false);
      } else if (!this.dragTimer) {
        this.dragTimer = setTimeout(() => {
          this.dragTimer = null;
          this.emit(false);
        }, DRAG_UPDATE_MS);
      }
    };
    const end = () => {
      target.removeEventListener("pointermove", move);
      target.removeEventListener("pointerup", end);
      target.removeEventListener("pointercancel", end);
      clearTimeout(this.dragTimer);
      this.dragTimer = null;
      this.frozenAxis = null;
      this.sync();
      this.emit();
    };
    target.addEventListener("pointermove", move);
    target.addEventListener("pointerup", end);
    target.addEventListener("pointercancel", end);
  }

  handleKey(event, which) {
    const steps = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 };
    if (!(event.key in steps)) return;
    event.preventDefault();
    event.stopPropagation();
    const [low, high] = this.axis();
    const step = (high - low) * ARROW_FRACTION * (event.shiftKey ? 10 : 1);
    this.moveHandle(which, this.colour[which] + steps[event.key] * step);
    this.emit();
  }

  sync() {
    const [low, high] = this.axis();
    this.cmapInput.value = this.colour.cmap;
    this.logBox.checked = this.colour.log;
    this.absBox.checked = this.colour.abs;
    this.stretchSelect.value = this.colour.stretch;
    for (const name of ["asinh_a", "gamma"]) {
      if (document.activeElement !== this.stretchInputs[name]) {
        this.stretchInputs[name].value = String(this.colour[name]);
      }
    }
    this.stretchRows.asinh_a.hidden = this.colour.stretch !== "asinh";
    this.stretchRows.gamma.hidden = this.colour.stretch !== "power";
    this.lockBox.checked = this.isLocked();
    this.lockBox.disabled = !this.layer;
    const viewOption = this.limitsScope.querySelector("option[value=view]");
    viewOption.disabled = !this.viewData;
    this.limitsScope.title = this.viewData
      ? "Limits over the whole map (the server's) or over the data on screen"
      : "PNG tiles (no WebGL): limits over the whole map only, the browser has no values of the view";
    for (const which of ["vmin", "vmax"]) {
      if (document.activeElement !== this.inputs[which]) {
        this.inputs[which].value = Number(this.colour[which].toPrecision(6)).toString();
      }
      const handle = this.handles[which];
      handle.setAttribute("aria-valuenow", String(this.colour[which]));
      handle.setAttribute("aria-valuemin", String(low));
      handle.setAttribute("aria-valuemax", String(high));
    }
    this.draw();
  }

  // The colour state with what stretch.js needs to colour as the map does
  // (the histeq curve from the layer's histogram); kept while neither
  // changes, as draw() asks it for every column and bin.
  stretchedColour() {
    const memo = this.stretchMemo;
    if (memo && memo.colour === this.colour && memo.histogram === this.histogram) return memo.stretched;
    const stretched = withHisteq(this.colour, this.histogram);
    this.stretchMemo = { colour: this.colour, histogram: this.histogram, stretched };
    return stretched;
  }

  // The colour the map gives `value` (LUT entry of stretch.js colourIndex);
  // grey where it has none (a log scale's values <= 0, drawn transparent).
  colourAt(value) {
    const colour = this.stretchedColour();
    if (!this.colours || (colour.stretch === "histeq" && !colour.histeq)) return NO_COLOUR;
    const index = colourIndex(value, colour);
    return index === TRANSPARENT_INDEX ? NO_COLOUR : lutColour(this.colours, index);
  }

  draw() {
    const canvas = this.canvas;
    const width = Math.max(1, Math.round(canvas.clientWidth));
    const height = Math.max(1, Math.round(canvas.clientHeight));
    const ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const [low, high] = this.axis();
    const toX = (v) => ((v - low) / (high - low)) * width;
    const barHeight = 10;
    const plotHeight = height - barHeight - 2;
    for (let px = 0; px < width; px += 1) {
      const [r, g, b] = this.colourAt(low + ((px + 0.5) / width) * (high - low));
      context.fillStyle = `rgb(${r},${g},${b})`;
      context.fillRect(px, height - barHeight, 1, barHeight);
    }
    const h = this.histogram;
    if (h) {
      const peak = Math.max(1, ...h.histogram);
      for (let i = 0; i < h.histogram.length; i += 1) {
        const x0 = toX(h.edges[i]);
        const x1 = toX(h.edges[i + 1]);
        const barTop = (Math.log1p(h.histogram[i]) / Math.log1p(peak)) * plotHeight;
        const [r, g, b] = this.colourAt((h.edges[i] + h.edges[i + 1]) / 2);
        context.fillStyle = `rgba(${r},${g},${b},0.9)`;
        context.fillRect(x0, plotHeight - barTop, Math.max(1, x1 - x0 - 0.5), barTop);
      }
    }
    this.drawAxisTicks(context, low, high, width, height - barHeight);
    context.fillStyle = "rgba(255,255,255,0.65)";
    for (const which of ["vmin", "vmax"]) {
      const x = toX(this.colour[which]);
      context.fillRect(Math.round(x), 0, 1, height);
      this.handles[which].style.left = `${(x / width) * 100}%`;
    }
  }

  // Tick marks above the colour strip at round values of the (linear) value
  // axis, and their labels as elements under the histogram (#histogram-ticks).
  drawAxisTicks(context, low, high, width, stripTop) {
    if (!this.axisTicks) {
      this.axisTicks = document.createElement("div");
      this.axisTicks.id = "histogram-ticks";
      this.axisTicks.className = "axis-ticks";
      this.axisTicks.setAttribute("aria-hidden", "true");
      this.track.after(this.axisTicks);
    }
    const ticks = colourBarTicks(low, high, "linear", { count: AXIS_TICK_COUNT });
    context.fillStyle = "rgba(255,255,255,0.5)";
    for (const tick of ticks) context.fillRect(Math.round(tick.position * width), stripTop - AXIS_TICK_PX, 1, AXIS_TICK_PX);
    this.axisTicks.replaceChildren(
      ...ticks.map((tick) => {
        const label = document.createElement("span");
        label.className = "axis-tick";
        label.style.left = `${tick.position * 100}%`;
        label.dataset.value = String(tick.value);
        label.textContent = tick.label;
        return label;
      }),
    );
  }
}
