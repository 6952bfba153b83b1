// Live updates: the viewer listens to ws/events (README "Live events") and
// redraws what changed (the layer menu, the catalogue and box lists, the
// layer shown) without a reload. Without the socket (Redis down, a proxy
// without websockets) it says so, refreshes every 30 s and reconnects by
// itself with backoff.

import { apiPath, getJson } from "./api.js";

// Quiet time before a batch of events is applied, and the longest a batch
// waits: an import saving 100 layers in one transaction sends its events
// within a few ms, so it costs one refresh, and a long burst still shows
// within MAX_WAIT_MS + a few requests, under the 1 s the issue asks.
export const DEBOUNCE_MS = 150;
export const MAX_WAIT_MS = 500;
export const RECONNECT_BASE_MS = 1000;
export const RECONNECT_CAP_MS = 30000;
export const POLL_MS = 30000;
export const DOWN_NOTE = "Live updates unavailable: refreshing every 30 s";

const systemClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (id) => clearTimeout(id),
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (id) => clearInterval(id),
};

// The wait before reconnect attempt `attempt` (0 = the first after a loss):
// doubling from RECONNECT_BASE_MS up to RECONNECT_CAP_MS, half of it random
// ("equal jitter") so that viewers cut off together by a restart do not
// all come back in the same millisecond.
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** Math.max(0, attempt));
  return ceiling / 2 + (random() * ceiling) / 2;
}

// The socket's URL: the API's prefix on the page's own host, wss: under https.
export function eventsUrl(apiBase, location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${String(apiBase || "").replace(/\/+$/, "")}/ws/events`;
}

// Collects items and runs `run(items)` once they stop coming for delayMs,
// or maxWaitMs after the first; never two runs at once (items arriving
// during a run make the next batch).
export class Batcher {
  constructor(run, { delayMs = DEBOUNCE_MS, maxWaitMs = MAX_WAIT_MS, clock = systemClock } = {}) {
    this.run = run;
    this.delayMs = delayMs;
    this.maxWaitMs = maxWaitMs;
    this.clock = clock;
    this.items = [];
    this.firstAt = null;
    this.timer = null;
    this.running = null;
  }

  push(item) {
    this.items.push(item);
    if (this.firstAt === null) this.firstAt = this.clock.now();
    this.schedule();
  }

  schedule() {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    const waited = this.clock.now() - this.firstAt;
    const delay = Math.max(0, Math.min(this.delayMs, this.maxWaitMs - waited));
    this.timer = this.clock.setTimeout(() => this.flush(), delay);
  }

  async flush() {
    this.timer = null;
    if (this.running) return;
    const items = this.items;
    this.items = [];
    this.firstAt = null;
    if (!items.length) return;
    this.running = Promise.resolve().then(() => this.run(items));
    try {
      await this.running;
    } finally {
      this.running = null;
      if (this.items.length) {
        this.firstAt = this.clock.now();
        this.schedule();
      }
    }
  }
}

// The socket and its fallback. Callbacks: onEvent(message); onUp(wasDown)
// when it opens (wasDown: it had been lost, so events may have been
// missed); onDown() once per loss; onPoll() every POLL_MS while down.
export class LiveSocket {
  constructor(url, { onEvent, onUp, onDown, onPoll }, { WebSocketImpl = globalThis.WebSocket, clock = systemClock, random = Math.random } = {}) {
    this.url = url;
    this.handlers = { onEvent, onUp, onDown, onPoll };
    this.WebSocketImpl = WebSocketImpl;
    this.clock = clock;
    this.random = random;
    this.attempt = 0;
    this.down = false;
    this.socket = null;
    this.retryTimer = null;
    this.pollTimer = null;
  }

  start() {
    this.connect();
  }

  connect() {
    this.retryTimer = null;
    let socket;
    try {
      socket = new this.WebSocketImpl(this.url);
    } catch {
      this.lost();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      const wasDown = this.down;
      this.attempt = 0;
      this.down = false;
      if (this.pollTimer !== null) this.clock.clearInterval(this.pollTimer);
      this.pollTimer = null;
      this.handlers.onUp(wasDown);
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message.event === "string" && typeof message.kind === "string") {
        this.handlers.onEvent(message);
      }
    };
    // A refused handshake fires error then close: act on close only.
    socket.onclose = () => {
      if (this.socket === socket) this.lost();
    };
  }

  lost() {
    this.socket = null;
    if (!this.down) {
      this.down = true;
      this.handlers.onDown();
      this.pollTimer = this.clock.setInterval(() => this.handlers.onPoll(), POLL_MS);
    }
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt += 1;
    this.retryTimer = this.clock.setTimeout(() => this.connect(), delay);
  }
}

// What the events mean to the viewer (main.js): `viewer` has menu,
// catalogues, boxes, messages, layer, showTitle, refreshLayer, selectLayer
// and clearLayer; `status` is the status bar's note.
export class LiveViewer {
  constructor(viewer, url, status) {
    this.viewer = viewer;
    const note = (text) => {
      status.textContent = text || "";
      status.hidden = !text;
    };
    this.batcher = new Batcher((events) => this.apply(events));
    this.socket = new LiveSocket(url, {
      onEvent: (message) => this.batcher.push(message),
      onUp: (wasDown) => {
        if (!wasDown) return;
        note(null);
        this.batcher.push(null);
      },
      onDown: () => note(DOWN_NOTE),
      onPoll: () => this.batcher.push(null),
    });
  }

  start() {
    this.socket.start();
  }

  // `events`: the messages of one batch; null in it means "refresh everything".
  async apply(events) {
    const full = events.includes(null);
    const messages = events.filter(Boolean);
    const kinds = new Set(messages.map((m) => m.kind));
    const viewer = this.viewer;
    const work = [];
    if (full || ["group", "map", "band", "layer"].some((k) => kinds.has(k))) work.push(viewer.menu.refresh());
    if (full || kinds.has("catalogue")) {
      const changed = messages.filter((m) => m.kind === "catalogue" && m.event === "changed").map((m) => m.id);
      // The table's catalogue may be gone once the list is read again.
      work.push(viewer.catalogues.refresh(changed).then(() => viewer.catalogueTable.listChanged()));
    }
    if (full || kinds.has("box")) work.push(viewer.boxes.refresh());
    const layer = viewer.layer;
    if (layer && !layer.derived && (full || messages.some((m) => concerns(m, layer)))) {
      const rewritten = rewrittenEvent(messages, layer);
      work.push(this.recheckLayer(layer, { rewritten }));
    }
    // The other places a layer is shown: linked panels, compared layers,
    // a derived map's inputs, contours and vectors.
    work.push(viewer.panels.liveUpdate(messages, full));
    work.push(viewer.compare.liveUpdate(messages, full));
    work.push(viewer.derived.liveUpdate(messages, full));
    viewer.overlays.liveUpdate(messages);
    await Promise.all(work);
    viewer.showTitle();
  }

  // Read the shown layer again: gone -> move on; otherwise new defaults,
  // name, or (`rewritten`: its event) new tiles.
  async recheckLayer(layer, { rewritten }) {
    const viewer = this.viewer;
    let fresh;
    try {
      fresh = await getJson(apiPath("layers", layer.layer_id));
    } catch (error) {
      if (error.status === 404) await this.moveAway(layer);
      return;
    }
    if (viewer.layer !== layer) return;
    // The event's version serves when the layer's JSON carries none.
    if (rewritten && fresh.file_version === undefined && rewritten.version !== undefined) {
      fresh.file_version = rewritten.version;
    }
    const newFile = Boolean(rewritten) || fresh.file_version !== layer.file_version;
    // A periodic refresh usually finds nothing new: leave the colour panel alone then.
    if (!newFile && JSON.stringify(fresh) === JSON.stringify(layer)) return;
    await viewer.refreshLayer(fresh, { newFile });
  }

  async moveAway(layer) {
    const viewer = this.viewer;
    const next = await replacementFor(layer);
    if (viewer.layer !== layer) return;
    viewer.messages.add(goneMessage(layer, next), "info", { sticky: true });
    if (next) await viewer.selectLayer(next.layer_id);
    else viewer.clearLayer();
  }
}

// What a viewer says when `layer` went away and `next` (or nothing) replaces it.
export function goneMessage(layer, next) {
  const gone = `Layer \u201c${layer.name}\u201d was removed or is no longer available to you`;
  return next ? `${gone}: showing \u201c${next.name}\u201d.` : `${gone}.`;
}

// The "rewritten" event of `layer` in a batch, if any.
export function rewrittenEvent(messages, layer) {
  return messages.find((m) => m.kind === "layer" && m.id === layer.layer_id && m.event === "rewritten");
}

// Whether an event may change `layer` (itself, or a level above it).
export function concerns(message, layer) {
  const ids = { group: layer.map_group_id, map: layer.map_id, band: layer.band_id, layer: layer.layer_id };
  return ids[message.kind] === message.id && message.event !== "added";
}

async function listOrEmpty(path) {
  try {
    return await getJson(path);
  } catch {
    return [];
  }
}

// The first other layer of the band, else of the map, else the first the user may see.
export async function replacementFor(layer) {
  const others = (layers) => layers.filter((l) => l.layer_id !== layer.layer_id);
  const inBand = others(await listOrEmpty(apiPath("bands", layer.band_id, "layers")));
  if (inBand.length) return inBand[0];
  for (const band of await listOrEmpty(apiPath("maps", layer.map_id, "bands"))) {
    const inMap = others(await listOrEmpty(apiPath("bands", band.band_id, "layers")));
    if (inMap.length) return inMap[0];
  }
  try {
    const defaults = await getJson("/layers/default");
    return defaults.layer && defaults.layer.layer_id !== layer.layer_id ? defaults.layer : null;
  } catch {
    return null;
  }
}
