// Follow a presenter (README "Follow a presenter"). The presenter's viewer
// shares its view on the socket ws/follow as the page URL's query (the one
// main.js writes), so a follower shows what a link would; a follower opened
// with ?follow=<id> applies every view it is sent, read-only, until its user
// touches anything: then it stops following and offers "Follow again".
// The server removes from each follower's copy what that follower may not see.

import { apiUrl } from "./api.js";

// A presenter sends at most one view per interval: ~10 a second keep a pan
// smooth for followers without flooding the socket.
export const SEND_INTERVAL_MS = 100;

// What a follower does with its user's input: these take control.
const INTERACTIONS = ["pointerdown", "wheel", "keydown"];

function socketUrl(path) {
  const url = new URL(apiUrl(path));
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

// The link followers open: this page with only the session id.
export function followLink(sessionId, location = window.location) {
  return `${location.origin}${location.pathname}?follow=${encodeURIComponent(sessionId)}`;
}

export class Follow {
  // `viewer`: viewQuery() -> the view's URL query (null while it is being
  // restored), applyViewQuery(query) -> Promise, sky (the SkyMap).
  constructor(viewer, elements, messages) {
    this.viewer = viewer;
    this.el = elements;
    this.messages = messages;
    this.presentSocket = null;
    this.followSocket = null;
    this.presenting = false;
    this.sentQuery = null;
    this.lastSentMs = -Infinity;
    this.sendTimer = null;
    // Following: the session in the page's link, the latest view sent.
    this.sessionId = new URLSearchParams(window.location.search).get("follow");
    this.following = false;
    this.presenter = null;
    this.latest = null;
    this.applying = false;
    this.applyAgain = false;
    // The next view is applied whole (after the user had control).
    this.whole = false;
    this.el.present.addEventListener("click", () => (this.presenting ? this.stopPresenting() : this.present()));
    this.el.stop.addEventListener("click", () => this.stopPresenting());
    this.el.copy.addEventListener("click", () => this.copyLink());
    this.el.again.addEventListener("click", () => this.followAgain());
    viewer.sky.map.on("postrender", () => this.changed());
  }

  // --- presenting ---------------------------------------------------------------

  present() {
    // A follower who presents stops following: one view cannot be both.
    if (this.followSocket) {
      const following = this.followSocket;
      this.followSocket = null;
      following.close();
      this.following = false;
      this.sessionId = null;
      this.el.status.hidden = true;
    }
    this.presenting = true;
    this.el.present.classList.add("active");
    this.sentQuery = null;
    const socket = new WebSocket(socketUrl("/ws/follow"));
    this.presentSocket = socket;
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "session") {
        this.el.link.value = followLink(message.id);
        this.el.box.hidden = false;
        this.changed();
      } else if (message.type === "error") {
        this.messages.error(`Presenting: ${message.detail}`);
      }
    });
    socket.addEventListener("close", () => {
      if (this.presentSocket !== socket) return;
      if (this.presenting) this.messages.error("Presenting stopped: the connection to the server closed.");
      this.stopPresenting();
    });
  }

  stopPresenting() {
    this.presenting = false;
    this.el.present.classList.remove("active");
    this.el.box.hidden = true;
    clearTimeout(this.sendTimer);
    this.sendTimer = null;
    const socket = this.presentSocket;
    this.presentSocket = null;
    if (socket) socket.close();
  }

  async copyLink() {
    try {
      await navigator.clipboard.writeText(this.el.link.value);
      this.messages.info("Follow link copied.");
    } catch {
      // No clipboard (plain http, or refused): the link is selected to copy by hand.
      this.el.link.select();
    }
  }

  // The view may have changed (a frame drawn, a setting saved): send it,
  // at most once per SEND_INTERVAL_MS, the last one always.
  changed() {
    if (!this.presenting || this.el.box.hidden || this.sendTimer) return;
    const waitMs = Math.max(0, this.lastSentMs + SEND_INTERVAL_MS - performance.now());
    this.sendTimer = setTimeout(() => {
      this.sendTimer = null;
      this.send();
    }, waitMs);
  }

  send() {
    const query = this.viewer.viewQuery();
    if (query === null || query === this.sentQuery || !this.presentSocket || this.presentSocket.readyState !== WebSocket.OPEN) return;
    this.presentSocket.send(JSON.stringify({ type: "state", state: query }));
    this.sentQuery = query;
    this.lastSentMs = performance.now();
  }

  // --- following ----------------------------------------------------------------

  // The follow parameter kept in the page URL while following, so a reload follows again.
  urlParam() {
    return this.following ? this.sessionId : null;
  }

  begin() {
    if (!this.sessionId) return;
    this.following = true;
    this.showStatus("Joining the presentation\u2026");
    for (const type of INTERACTIONS) {
      document.addEventListener(type, (event) => this.interacted(event), { capture: true });
    }
    const socket = new WebSocket(socketUrl(`/ws/follow/${encodeURIComponent(this.sessionId)}`));
    this.followSocket = socket;
    let ended = false;
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "waiting" || message.type === "state") {
        this.presenter = message.presenter;
        if (this.following) this.showStatus(`Following ${this.presenter}`);
      }
      if (message.type === "state") {
        this.latest = message.state;
        this.messages.state("follow-hidden", message.note || null);
        if (this.following) this.apply();
      } else if (message.type === "ended") {
        ended = true;
        this.end("The presentation has ended.");
      } else if (message.type === "error") {
        this.messages.error(`Following: ${message.detail}`);
      }
    });
    socket.addEventListener("close", () => {
      if (!ended && this.followSocket === socket) this.end("The presentation is no longer reachable.");
    });
  }

  end(text) {
    this.followSocket = null;
    this.following = false;
    this.sessionId = null;
    this.el.status.hidden = true;
    this.messages.state("follow-hidden", null);
    this.messages.state("follow", text);
    this.viewer.saveUrl();
  }

  interacted(event) {
    if (!this.following || this.el.status.contains(event.target)) return;
    // Modifier keys alone (a screenshot shortcut, say) are no interaction.
    if (event.type === "keydown" && ["Shift", "Control", "Alt", "Meta"].includes(event.key)) return;
    this.following = false;
    this.showStatus("You have control", { again: true });
    this.viewer.saveUrl();
  }

  followAgain() {
    if (!this.sessionId) return;
    this.following = true;
    this.showStatus(`Following ${this.presenter || "the presenter"}`);
    this.whole = true;
    if (this.latest !== null) this.apply();
  }

  showStatus(text, { again = false } = {}) {
    this.el.status.hidden = false;
    this.el.statusText.textContent = text;
    this.el.again.hidden = !again;
  }

  // One view applied at a time; views arriving meanwhile are skipped but the last.
  async apply() {
    if (this.applying) {
      this.applyAgain = true;
      return;
    }
    this.applying = true;
    try {
      do {
        this.applyAgain = false;
        const whole = this.whole;
        this.whole = false;
        await this.viewer.applyViewQuery(this.latest, { whole });
      } while (this.applyAgain && this.following);
    } finally {
      this.applying = false;
    }
  }
}
