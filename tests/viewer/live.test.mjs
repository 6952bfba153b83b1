// The viewer's live-update timing (frontend/static/frontend/js/live.js): the
// reconnect backoff, the debounce of event bursts and the socket's fallback,
// on a fake clock and a fake WebSocket.
// Run by tests/viewer/test_live_js.py, or alone: node --test tests/viewer/
import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate } from "node:timers";

import {
  Batcher,
  DEBOUNCE_MS,
  LiveSocket,
  MAX_WAIT_MS,
  POLL_MS,
  RECONNECT_CAP_MS,
  backoffDelay,
  eventsUrl,
} from "../../frontend/static/frontend/js/live.js";

// Timers that run only when the test advances the clock.
class FakeClock {
  constructor() {
    this.time = 0;
    this.timers = new Map();
    this.next = 1;
  }

  now() {
    return this.time;
  }

  setTimeout(run, ms) {
    const id = this.next++;
    this.timers.set(id, { at: this.time + ms, run, every: null });
    return id;
  }

  setInterval(run, ms) {
    const id = this.next++;
    this.timers.set(id, { at: this.time + ms, run, every: ms });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  clearInterval(id) {
    this.timers.delete(id);
  }

  async advance(ms) {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.time = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.timers.delete(id);
      timer.run();
      // Let the promise chains the timer started settle.
      for (let i = 0; i < 10; i += 1) await Promise.resolve();
    }
    this.time = end;
  }
}

test("the backoff doubles from 1 s to a 30 s cap, with half of it random", () => {
  const low = [0, 1, 2, 3, 4, 5, 6, 10].map((attempt) => backoffDelay(attempt, () => 0));
  const high = [0, 1, 2, 3, 4, 5, 6, 10].map((attempt) => backoffDelay(attempt, () => 1));
  assert.deepEqual(low, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  assert.deepEqual(high, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(backoffDelay(40, () => 0.5), 0.75 * RECONNECT_CAP_MS);
});

test("the socket URL has the API prefix, on the page's host, wss under https", () => {
  assert.equal(eventsUrl("", { protocol: "http:", host: "127.0.0.1:8000" }), "ws://127.0.0.1:8000/ws/events");
  assert.equal(eventsUrl("/api/", { protocol: "https:", host: "maps.example" }), "wss://maps.example/api/ws/events");
});

test("a burst of events makes one batch, after the burst stops", async () => {
  const clock = new FakeClock();
  const runs = [];
  const batcher = new Batcher((items) => runs.push(items), { clock });
  for (let i = 0; i < 100; i += 1) batcher.push(i);
  await clock.advance(DEBOUNCE_MS - 1);
  assert.deepEqual(runs, []);
  await clock.advance(1);
  assert.equal(runs.length, 1);
  assert.equal(runs[0].length, 100);
});

test("a long burst is still applied within the maximum wait", async () => {
  const clock = new FakeClock();
  const runs = [];
  const batcher = new Batcher((items) => runs.push([clock.now(), items.length]), { clock });
  // An event every 100 ms for 1.2 s: never DEBOUNCE_MS of quiet.
  for (let i = 0; i < 12; i += 1) {
    batcher.push(i);
    await clock.advance(100);
  }
  await clock.advance(DEBOUNCE_MS);
  assert.deepEqual(runs, [
    [MAX_WAIT_MS, 5],
    [2 * MAX_WAIT_MS, 5],
    [1100 + DEBOUNCE_MS, 2],
  ]);
});

test("events arriving during a run make the next batch, never a second run at once", async () => {
  const clock = new FakeClock();
  const runs = [];
  let finish;
  let active = 0;
  const batcher = new Batcher(
    async (items) => {
      active += 1;
      assert.equal(active, 1);
      runs.push(items);
      await new Promise((resolve) => (finish = resolve));
      active -= 1;
    },
    { clock },
  );
  batcher.push("a");
  await clock.advance(DEBOUNCE_MS);
  batcher.push("b");
  batcher.push("c");
  await clock.advance(2 * MAX_WAIT_MS);
  assert.deepEqual(runs, [["a"]]);
  finish();
  await new Promise((resolve) => setImmediate(resolve));
  await clock.advance(DEBOUNCE_MS);
  assert.deepEqual(runs, [["a"], ["b", "c"]]);
  finish();
});

class FakeSocket {
  static made = [];

  constructor(url) {
    this.url = url;
    FakeSocket.made.push(this);
  }
}

function liveSocket(clock) {
  FakeSocket.made = [];
  const seen = [];
  const socket = new LiveSocket(
    "ws://127.0.0.1/ws/events",
    {
      onEvent: (message) => seen.push(["event", message]),
      onUp: (wasDown) => seen.push(["up", wasDown]),
      onDown: () => seen.push(["down"]),
      onPoll: () => seen.push(["poll"]),
    },
    { WebSocketImpl: FakeSocket, clock, random: () => 1 },
  );
  socket.start();
  return { socket, seen };
}

test("a refused socket says so once, polls every 30 s and retries with growing waits", async () => {
  const clock = new FakeClock();
  const { seen } = liveSocket(clock);
  const attempts = [];
  for (let i = 0; i < 7; i += 1) {
    const made = FakeSocket.made.at(-1);
    attempts.push(clock.now());
    made.onclose();
    const before = FakeSocket.made.length;
    while (FakeSocket.made.length === before) await clock.advance(100);
  }
  // random() = 1: the full doubling, capped.
  const waits = attempts.slice(1).map((t, i) => t - attempts[i]);
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000]);
  const polls = seen.filter(([what]) => what === "poll").length;
  assert.equal(polls, Math.floor(clock.now() / POLL_MS));
  assert.deepEqual(seen.filter(([what]) => what !== "poll"), [["down"]]);
});

test("after a loss the socket reconnects, reports it and stops polling", async () => {
  const clock = new FakeClock();
  const { seen } = liveSocket(clock);
  FakeSocket.made[0].onopen();
  FakeSocket.made[0].onmessage({ data: '{"event": "added", "kind": "layer", "id": "a"}' });
  FakeSocket.made[0].onmessage({ data: "not json" });
  FakeSocket.made[0].onclose();
  await clock.advance(1000);
  FakeSocket.made[1].onopen();
  await clock.advance(3 * POLL_MS);
  assert.deepEqual(seen, [
    ["up", false],
    ["event", { event: "added", kind: "layer", id: "a" }],
    ["down"],
    ["up", true],
  ]);
  // The next loss starts again from the shortest wait.
  FakeSocket.made[1].onclose();
  await clock.advance(999);
  assert.equal(FakeSocket.made.length, 2);
  await clock.advance(1);
  assert.equal(FakeSocket.made.length, 3);
});
