// Compare the layer on show with others over the same view: blink between
// them, blend one over it at an opacity, or swipe a vertical split across
// the map (the main layer left of it, the other right). Each compared layer
// is its own OpenLayers layer (mapview.js addSecondaryLayer) coloured with
// its own remembered settings, so blinking only changes opacities: no tile
// request once all are loaded. While tiles load (at the start, after a pan
// or zoom) the hidden layers get opacity 0, not visible = false, because
// OpenLayers neither draws nor loads tiles for an invisible layer and the
// next frame would start empty; once the map has rendered completely they
// are made invisible, since drawing them at opacity 0 costs every frame
// (bench/bench_compare.py on a loaded machine: 286 ms per WebGL switch with
// both drawn, 90-116 ms with one).

import { apiPath, getJson } from "./api.js";
import { concerns, rewrittenEvent } from "./live.js";
import { withHisteq } from "./stretch.js";

const ol = window.ol;

export const MODES = ["off", "blink", "blend", "swipe"];
export const RATE_RANGE_S = [0.25, 5];
const DEFAULTS = { mode: "off", layers: [], rateS: 1, opacity: 0.5, split: 0.5 };
// Arrow keys on the split handle move it by this fraction of the map width.
const SPLIT_KEY_STEP = 0.02;

function numberIn(params, name, low, high) {
  const text = params.get(name);
  if (text === null || text.trim() === "") return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= low && value <= high ? value : undefined;
}

// The compare settings in a page URL (cmp, cmpl, rate, opacity, split); bad values ignored.
export function readCompareState(params) {
  const mode = params.get("cmp");
  return {
    mode: MODES.includes(mode) ? mode : DEFAULTS.mode,
    layers: params.getAll("cmpl").filter(Boolean),
    rateS: numberIn(params, "rate", ...RATE_RANGE_S) ?? DEFAULTS.rateS,
    opacity: numberIn(params, "opacity", 0, 1) ?? DEFAULTS.opacity,
    split: numberIn(params, "split", 0, 1) ?? DEFAULTS.split,
  };
}

// Only what the mode uses, and nothing when comparing is off, so links stay short.
export function writeCompareState(params, state) {
  if (!state || state.mode === "off") return;
  params.set("cmp", state.mode);
  for (const id of state.layers) params.append("cmpl", id);
  if (state.mode === "blink") params.set("rate", String(state.rateS));
  if (state.mode === "blend") params.set("opacity", String(state.opacity));
  if (state.mode === "swipe") params.set("split", state.split.toFixed(4));
}

// Every layer entry the menu has loaded: [{id, label}].
function menuLayers(tree) {
  const out = [];
  for (const group of tree || []) {
    for (const map of group.maps || []) {
      for (const band of map.bands || []) {
        for (const layer of band.layers || []) {
          out.push({ id: layer.layer_id, label: `${map.name} \u203a ${band.name} \u203a ${layer.name}` });
        }
      }
    }
  }
  return out;
}

export class Compare {
  // `elements`: {panel, mode, layers (a <select multiple>), rate, rateLabel,
  // opacity, opacityLabel, now, split}; `changed()` is called when the
  // settings in the URL change.
  constructor(sky, colourPanel, menu, elements, messages, changed) {
    this.sky = sky;
    this.colourPanel = colourPanel;
    this.menu = menu;
    this.el = elements;
    this.messages = messages;
    this.changed = changed;
    this.mode = DEFAULTS.mode;
    this.layerIds = [];
    this.rateS = DEFAULTS.rateS;
    this.opacity = DEFAULTS.opacity;
    this.split = DEFAULTS.split;
    this.mainLayer = null;
    this.previousId = null;
    // Compared layers by id: {layer, histogram, colour, tileLayer}.
    this.entries = new Map();
    this.frame = 0;
    this.timer = null;
    // Blinking: the hidden layers are still loading tiles for this view.
    this.preloading = true;
    this.clipKeys = [];
    this.syncSequence = 0;
    this.bind();
    this.syncControls();
  }

  bind() {
    const el = this.el;
    el.mode.addEventListener("change", () => this.setMode(el.mode.value));
    el.layers.addEventListener("change", () => {
      this.layerIds = [...el.layers.selectedOptions].map((option) => option.value);
      this.sync();
      this.changed();
    });
    // The menu loads its levels as they are opened: list what it has now.
    el.layers.addEventListener("pointerdown", () => this.fillLayers());
    el.panel.addEventListener("toggle", () => this.fillLayers());
    el.rate.addEventListener("input", () => this.setRate(Number(el.rate.value)));
    el.opacity.addEventListener("input", () => this.setOpacity(Number(el.opacity.value)));
    el.split.addEventListener("pointerdown", (event) => this.startDrag(event));
    el.split.addEventListener("keydown", (event) => {
      const step = { ArrowLeft: -SPLIT_KEY_STEP, ArrowRight: SPLIT_KEY_STEP }[event.key];
      if (step === undefined) return;
      event.preventDefault();
      this.setSplit(this.split + step);
      this.changed();
    });
    // A new main tile layer (another layer shown, or the sky flipped).
    this.sky.addEventListener("tilelayer", () => this.sync());
    // Locked settings follow the main layer's edits onto its map's other layers.
    this.colourPanel.addEventListener("change", () => this.recolour());
    this.sky.map.on("change:size", () => {
      this.placeSplit();
      this.preload();
    });
    this.sky.map.on("movestart", () => this.preload());
    this.sky.map.on("rendercomplete", (event) => {
      if (this.mode !== "blink" || !this.preloading) return;
      // Only a frame that drew every blinked layer had them load their tiles:
      // a programmatic move completes the frame it starts in.
      const drawn = new Set(event.frameState.layerStatesArray.filter((state) => state.visible).map((state) => state.layer));
      if (!this.frames().every((frame) => !frame.tileLayer || drawn.has(frame.tileLayer))) return;
      this.preloading = false;
      this.showFrame(this.frame);
    });
  }

  getState() {
    return { mode: this.mode, layers: [...this.layerIds], rateS: this.rateS, opacity: this.opacity, split: this.split };
  }

  // Settings from a link, once the main layer is shown.
  async restore(state) {
    if (!state) return;
    Object.assign(this, {
      mode: state.mode,
      layerIds: [...state.layers],
      rateS: state.rateS,
      opacity: state.opacity,
      split: state.split,
    });
    await this.sync();
  }

  // The viewer shows `layer`; `previousId` was shown before it (the default
  // layer to compare with).
  layerShown(layer, previousId) {
    this.mainLayer = layer;
    if (previousId && previousId !== layer.layer_id) this.previousId = previousId;
    this.fillLayers();
  }

  setMode(mode) {
    if (!MODES.includes(mode)) return;
    this.mode = mode;
    if (mode !== "off" && !this.layerIds.length && this.previousId) this.layerIds = [this.previousId];
    if (mode !== "off" && !this.layerIds.length) {
      this.messages.info("Compare: choose a layer to compare with (or view another layer first).");
    }
    this.sync();
    this.changed();
  }

  toggleBlink() {
    this.setMode(this.mode === "blink" ? "off" : "blink");
  }

  toggleSwipe() {
    this.setMode(this.mode === "swipe" ? "off" : "swipe");
  }

  setRate(rateS) {
    this.rateS = Math.min(RATE_RANGE_S[1], Math.max(RATE_RANGE_S[0], rateS));
    this.syncControls();
    if (this.timer) this.startTimer();
    this.changed();
  }

  setOpacity(opacity) {
    this.opacity = Math.min(1, Math.max(0, opacity));
    this.syncControls();
    this.apply();
    this.changed();
  }

  setSplit(split) {
    this.split = Math.min(1, Math.max(0, split));
    this.placeSplit();
    this.sky.map.render();
  }

  // The compared layers the mode draws: all of them to blink, the first to blend or swipe.
  wantedIds() {
    if (this.mode === "off") return [];
    const ids = this.layerIds.filter((id) => !this.mainLayer || id !== this.mainLayer.layer_id);
    return this.mode === "blink" ? ids : ids.slice(0, 1);
  }

  // Make the OpenLayers layers match the settings, then draw the mode.
  async sync() {
    const sequence = ++this.syncSequence;
    const wanted = this.wantedIds();
    for (const [id, entry] of this.entries) {
      // Built for the other orientation: its tiles sit at mirrored places.
      if (!wanted.includes(id) || entry.tileLayer.get("flip") !== this.sky.flip) {
        this.sky.removeSecondaryLayer(entry.tileLayer);
        this.entries.delete(id);
      }
    }
    for (const id of wanted) {
      if (this.entries.has(id)) continue;
      const loaded = await this.load(id);
      if (sequence !== this.syncSequence) return;
      if (!loaded) {
        this.layerIds = this.layerIds.filter((other) => other !== id);
        continue;
      }
      const colour = this.colourFor(loaded.layer, loaded.histogram);
      const tileLayer = this.sky.addSecondaryLayer(loaded.layer, colour);
      this.entries.set(id, { ...loaded, colour, tileLayer });
    }
    this.recolour();
    this.fillLayers();
    this.syncControls();
    this.preloading = true;
    this.apply();
  }

  // A batch of ws/events (live.js; `full`: read everything again). A
  // compared layer removed or hidden leaves the compare set, with a message;
  // one whose file was rewritten is loaded again (new tiles, v=).
  async liveUpdate(messages, full) {
    const removed = new Set(messages.filter((m) => m.kind === "layer" && m.event === "removed").map((m) => m.id));
    const gone = [];
    const stale = [];
    await Promise.all(
      [...this.entries].map(async ([id, entry]) => {
        if (!full && !messages.some((m) => concerns(m, entry.layer))) return;
        let fresh;
        try {
          fresh = await getJson(apiPath("layers", id));
        } catch (error) {
          if (error.status === 404) gone.push(entry.layer);
          return;
        }
        if (rewrittenEvent(messages, entry.layer) || fresh.file_version !== entry.layer.file_version) stale.push(id);
        else if (fresh.name !== entry.layer.name) entry.layer = fresh;
      }),
    );
    const goneIds = new Set([...removed, ...gone.map((layer) => layer.layer_id)]);
    if (!gone.length && !stale.length && !this.layerIds.some((id) => goneIds.has(id))) return;
    for (const layer of gone) {
      this.messages.add(
        `Layer \u201c${layer.name}\u201d was removed or is no longer available to you: no longer compared.`,
        "info",
        { sticky: true },
      );
    }
    this.layerIds = this.layerIds.filter((id) => !goneIds.has(id));
    if (goneIds.has(this.previousId)) this.previousId = null;
    for (const id of [...goneIds, ...stale]) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      this.sky.removeSecondaryLayer(entry.tileLayer);
      this.entries.delete(id);
    }
    await this.sync();
    if (goneIds.size) this.changed();
  }

  // The view changed: draw every blinked layer (hidden ones at opacity 0) until its tiles are in.
  preload() {
    if (this.mode !== "blink" || this.preloading) return;
    this.preloading = true;
    this.showFrame(this.frame);
  }

  async load(id) {
    let layer;
    try {
      layer = await getJson(apiPath("layers", id));
    } catch (error) {
      this.messages.error(`Compare with \u201c${id}\u201d: ${error.detail || error.message}`);
      return null;
    }
    let histogram = null;
    try {
      histogram = await getJson(apiPath("histograms", "data", id));
    } catch {
      // Only the histeq stretch and "auto" limits need it; the defaults stand in.
    }
    return { layer, histogram };
  }

  // A compared layer's colour: as the colour panel would open it (its
  // map's locked settings, else its own last settings, else its defaults).
  colourFor(layer, histogram) {
    const panel = this.colourPanel;
    const saved = panel.locks.get(layer.map_id) || panel.memory.get(layer.layer_id) || {};
    const colour = { ...panel.defaultsFor(layer, histogram), ...saved };
    if (colour.stretch === "histeq" && !histogram) colour.stretch = "linear";
    return withHisteq(colour, histogram);
  }

  recolour() {
    for (const entry of this.entries.values()) {
      const colour = this.colourFor(entry.layer, entry.histogram);
      if (JSON.stringify(colour) === JSON.stringify(entry.colour)) continue;
      entry.colour = colour;
      this.sky.recolourSecondary(entry.tileLayer, entry.layer, colour);
    }
  }

  // The layers blinked through, main first: [{name, tileLayer}].
  frames() {
    const main = { name: this.mainLayer ? this.mainLayer.name : "", tileLayer: this.sky.tileLayer };
    const others = this.wantedIds()
      .filter((id) => this.entries.has(id))
      .map((id) => ({ name: this.entries.get(id).layer.name, tileLayer: this.entries.get(id).tileLayer }));
    return [main, ...others];
  }

  // Draw the mode: opacities, clipping, the blink timer and the split handle.
  apply() {
    for (const key of this.clipKeys) ol.Observable.unByKey(key);
    this.clipKeys = [];
    const frames = this.frames();
    const comparing = this.mode !== "off" && frames.length > 1;
    if (this.mode !== "blink" || !comparing) this.stopTimer();
    for (const frame of frames) frame.tileLayer?.setVisible(true);
    if (!comparing) {
      for (const frame of frames) frame.tileLayer?.setOpacity(1);
      this.el.now.textContent = "";
    } else if (this.mode === "blink") {
      if (!this.timer) this.startTimer();
      this.showFrame(this.frame % frames.length);
    } else if (this.mode === "blend") {
      frames[0].tileLayer?.setOpacity(1);
      frames[1].tileLayer.setOpacity(this.opacity);
      this.el.now.textContent = `${frames[1].name} over ${frames[0].name}`;
    } else {
      frames[0].tileLayer?.setOpacity(1);
      frames[1].tileLayer.setOpacity(1);
      if (frames[0].tileLayer) this.clip(frames[0].tileLayer, "left");
      this.clip(frames[1].tileLayer, "right");
      this.el.now.textContent = `${frames[0].name} | ${frames[1].name}`;
    }
    this.el.split.hidden = !(comparing && this.mode === "swipe");
    this.placeSplit();
    this.sky.map.render();
  }

  // Blink frame `index`: that layer opaque, the others transparent (still
  // drawn, to load their tiles, while preloading; else not drawn at all).
  showFrame(index) {
    const frames = this.frames();
    this.frame = index % frames.length;
    frames.forEach((frame, i) => {
      frame.tileLayer?.setOpacity(i === this.frame ? 1 : 0);
      frame.tileLayer?.setVisible(i === this.frame || this.preloading);
    });
    this.el.now.textContent = `showing ${frames[this.frame].name}`;
  }

  // The next blink frame now, and (when blinking by itself) the next one a full period later.
  step() {
    if (this.mode !== "blink") return;
    this.showFrame(this.frame + 1);
    if (this.timer) this.startTimer();
  }

  startTimer() {
    this.stopTimer();
    this.timer = setInterval(() => this.showFrame(this.frame + 1), this.rateS * 1000);
  }

  stopTimer() {
    clearInterval(this.timer);
    this.timer = null;
  }

  // Draw only `side` ("left" or "right") of the split: gl.scissor for WebGL
  // layers, a clip path for canvas ones (OpenLayers' layer swipe examples).
  clip(tileLayer, side) {
    const before = (event) => {
      const [width, height] = this.sky.map.getSize();
      const splitX = width * this.split;
      const [x0, x1] = side === "left" ? [0, splitX] : [splitX, width];
      const context = event.context;
      if (context instanceof CanvasRenderingContext2D) {
        const corners = [
          [x0, 0],
          [x1, 0],
          [x1, height],
          [x0, height],
        ].map((pixel) => ol.render.getRenderPixel(event, pixel));
        context.save();
        context.beginPath();
        context.moveTo(...corners[0]);
        for (const corner of corners.slice(1)) context.lineTo(...corner);
        context.closePath();
        context.clip();
      } else {
        const bottomLeft = ol.render.getRenderPixel(event, [x0, height]);
        const topRight = ol.render.getRenderPixel(event, [x1, 0]);
        context.enable(context.SCISSOR_TEST);
        context.scissor(
          Math.round(bottomLeft[0]),
          Math.round(bottomLeft[1]),
          Math.max(0, Math.round(topRight[0] - bottomLeft[0])),
          Math.max(0, Math.round(topRight[1] - bottomLeft[1])),
        );
      }
    };
    const after = (event) => {
      const context = event.context;
      if (context instanceof CanvasRenderingContext2D) context.restore();
      else context.disable(context.SCISSOR_TEST);
    };
    this.clipKeys.push(tileLayer.on("prerender", before), tileLayer.on("postrender", after));
  }

  placeSplit() {
    const size = this.sky.map.getSize();
    if (!size) return;
    this.el.split.style.left = `${this.split * size[0]}px`;
    this.el.split.setAttribute("aria-valuenow", String(Math.round(this.split * 100)));
  }

  startDrag(event) {
    event.preventDefault();
    const handle = this.el.split;
    handle.setPointerCapture(event.pointerId);
    const box = this.sky.map.getTargetElement().getBoundingClientRect();
    const move = (moved) => this.setSplit((moved.clientX - box.left) / box.width);
    const end = () => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", end);
      handle.removeEventListener("pointercancel", end);
      this.changed();
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", end);
    handle.addEventListener("pointercancel", end);
  }

  // The layer list: the menu's loaded layers, the previous layer and those
  // chosen (a link may name layers the menu has not loaded), not the main one.
  fillLayers() {
    const select = this.el.layers;
    const choices = menuLayers(this.menu.tree);
    const known = new Set(choices.map((choice) => choice.id));
    for (const id of [this.previousId, ...this.layerIds]) {
      if (id && !known.has(id)) {
        const entry = this.entries.get(id);
        choices.push({ id, label: entry ? entry.layer.name : id });
        known.add(id);
      }
    }
    const mainId = this.mainLayer ? this.mainLayer.layer_id : null;
    const options = choices
      .filter((choice) => choice.id !== mainId)
      .map((choice) => {
        const label = choice.id === this.previousId ? `${choice.label} (previous)` : choice.label;
        const option = new Option(label, choice.id);
        option.selected = this.layerIds.includes(choice.id);
        return option;
      });
    select.replaceChildren(...options);
  }

  syncControls() {
    const el = this.el;
    el.mode.value = this.mode;
    el.rate.value = String(this.rateS);
    el.rateLabel.textContent = `${this.rateS} s`;
    el.opacity.value = String(this.opacity);
    el.opacityLabel.textContent = `${Math.round(this.opacity * 100)}%`;
  }
}
