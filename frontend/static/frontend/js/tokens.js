// The account menu's "API tokens" panel: the logged-in user lists, creates
// and revokes their personal tokens for scripts (/auth/tokens, session and
// CSRF only). A new token's secret is shown once, right after creation, and
// dropped from the page when the panel closes: the server keeps only its hash.

import { apiPath, apiUrl, csrfToken, errorFrom } from "./api.js";
import { el } from "./dom.js";

const $ = (selector) => document.querySelector(selector);

// "2026-12-01" (dates) or "2026-12-01 21:40 UTC" (times): one unambiguous
// form for every reader, whatever the browser's locale.
function day(iso) {
  return iso.slice(0, 10);
}

function moment(iso) {
  return `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

async function send(method, url, json) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      credentials: "same-origin",
    });
  } catch (error) {
    throw new Error(`The server did not answer (${error.message}).`, { cause: error });
  }
  if (!response.ok) throw await errorFrom(response, url);
  return response.status === 204 ? null : response.json();
}

export class TokenPanel {
  // `tokens`: the page's api_tokens config, {url, default_days, max_days}.
  constructor(root, tokens) {
    this.root = root;
    this.url = tokens.url;
    this.days = $("#token-days");
    this.days.max = String(tokens.max_days);
    this.days.placeholder = String(tokens.default_days);
    $("#token-days-hint").textContent =
      `Expiry: 1 to ${tokens.max_days} days; ${tokens.default_days} if left empty.`;
    $("#token-close").addEventListener("click", () => this.close());
    $("#token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
    $("#token-copy").addEventListener("click", () => this.copy());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.root.hidden) this.close();
    });
  }

  get isOpen() {
    return !this.root.hidden;
  }

  open() {
    this.root.hidden = false;
    this.showError("");
    $("#token-name").focus();
    return this.refresh();
  }

  close() {
    this.root.hidden = true;
    this.forgetSecret();
  }

  toggle() {
    if (this.isOpen) this.close();
    else this.open();
  }

  forgetSecret() {
    $("#token-new").hidden = true;
    $("#token-secret").textContent = "";
    $("#token-curl").textContent = "";
    $("#token-copy").textContent = "Copy";
  }

  showError(text) {
    $("#token-error").textContent = text;
  }

  async refresh() {
    let tokens;
    try {
      tokens = await send("GET", this.url);
    } catch (error) {
      this.showError(`Could not list your tokens: ${error.detail || error.message}`);
      return;
    }
    $("#token-list").replaceChildren(...tokens.map((token) => this.row(token)));
    $("#token-empty").hidden = tokens.length > 0;
  }

  row(token) {
    const action =
      token.state === "active"
        ? el("button", { type: "button", className: "small", textContent: "Revoke", title: `Revoke ${token.prefix}_\u2026` })
        : el("span", { className: "dim", textContent: token.state });
    if (token.state === "active") action.addEventListener("click", () => this.revoke(token));
    return el(
      "tr",
      { dataset: { tokenId: String(token.id), state: token.state } },
      el("td", { title: `${token.prefix}_\u2026` }, token.name),
      el("td", { title: token.created }, day(token.created)),
      el("td", { title: token.expires }, day(token.expires)),
      el("td", { className: token.last_used ? "" : "dim" }, token.last_used ? moment(token.last_used) : "never"),
      el("td", {}, action),
    );
  }

  async create() {
    this.showError("");
    this.forgetSecret();
    const name = $("#token-name").value;
    const body = { name };
    // Empty: the server's default. Anything else goes as typed (a non-number
    // as null), so the server's message is the one rule shown.
    if (this.days.value.trim() !== "") body.days = Number(this.days.value);
    let created;
    try {
      created = await send("POST", this.url, body);
    } catch (error) {
      this.showError(error.detail || error.message);
      return;
    }
    $("#token-name").value = "";
    this.days.value = "";
    $("#token-secret").textContent = created.token;
    $("#token-curl").textContent = `curl -H "Authorization: Bearer ${created.token}" ${apiUrl(apiPath("map-groups"))}`;
    $("#token-new").hidden = false;
    await this.refresh();
  }

  async copy() {
    const secret = $("#token-secret").textContent;
    try {
      await navigator.clipboard.writeText(secret);
      $("#token-copy").textContent = "Copied";
    } catch {
      // No clipboard permission: select the token so ctrl-C copies it.
      window.getSelection().selectAllChildren($("#token-secret"));
      $("#token-copy").textContent = "Selected: press Ctrl-C";
    }
  }

  async revoke(token) {
    if (!window.confirm(`Revoke the token \u201c${token.name}\u201d? Scripts using it stop working at once.`)) return;
    this.showError("");
    try {
      await send("DELETE", `${this.url}/${encodeURIComponent(token.id)}`);
    } catch (error) {
      this.showError(error.detail || error.message);
      return;
    }
    await this.refresh();
  }
}
