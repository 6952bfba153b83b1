// One place for what the viewer has to tell: errors stay until closed,
// notes fade, and named states ("no data here") are replaced or cleared.

const NOTE_MS = 4500;

export class Messages {
  constructor(root) {
    this.root = root;
    this.states = new Map();
  }

  add(text, kind, { sticky = kind === "error", actions = [] } = {}) {
    for (const existing of this.root.querySelectorAll(".message")) {
      if (existing.dataset.text === text) existing.remove();
    }
    const element = document.createElement("div");
    element.className = `message ${kind}`;
    element.dataset.text = text;
    element.setAttribute("role", kind === "error" ? "alert" : "status");
    const body = document.createElement("span");
    body.textContent = text;
    element.append(body);
    for (const { label, run } of actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "message-action";
      button.textContent = label;
      button.addEventListener("click", run);
      element.append(button);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", () => element.remove());
    element.append(close);
    this.root.append(element);
    if (!sticky) setTimeout(() => element.remove(), NOTE_MS);
    return element;
  }

  error(text) {
    return this.add(text, "error");
  }

  info(text) {
    return this.add(text, "info");
  }

  // A standing message under `name`; `text` null clears it.
  state(name, text, actions = []) {
    const previous = this.states.get(name);
    if (previous && previous.dataset.text === text) return;
    if (previous) previous.remove();
    this.states.delete(name);
    if (text) this.states.set(name, this.add(text, "state", { sticky: true, actions }));
  }
}
