// The viewer's only door to the server: the public HTTP API under the
// prefix injected by the page (TILEMAKER_API_ENDPOINT).

export class ApiError extends Error {
  constructor(status, detail, url) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.url = url;
  }
}

let apiBase = "";

export function setApiBase(base) {
  apiBase = String(base || "").replace(/\/+$/, "");
}

// `segments` are joined as URL path parts, each escaped, so ids and
// numbers can be passed as they are.
export function apiPath(...segments) {
  return "/" + segments.map((s) => encodeURIComponent(String(s))).join("/");
}

// The path of one of a layer's endpoints: /layers/{id}/..., or for a derived
// map (derivedview.js) its /derived/{op}/{a}/{b}/...; `layerQuery` the query
// parameters every URL of the layer carries (a derived map's scales).
export function layerPath(layer, ...segments) {
  return (layer.api_path || apiPath("layers", layer.layer_id)) + (segments.length ? apiPath(...segments) : "");
}

export function layerQuery(layer) {
  return layer.api_query || {};
}

export function apiUrl(path, params) {
  const url = new URL(apiBase + path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") {
      url.searchParams.set(key, String(value));
    }
  }
  return url.href;
}

// Django's CSRF token, from the page's (hidden) logout form.
export function csrfToken() {
  const input = document.querySelector("#logout-form [name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export async function errorFrom(response, url) {
  let detail = `${response.status} ${response.statusText || "error"}`;
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") detail = body.detail;
  } catch {
    // Not JSON (a proxy's error page, say): the status line is all there is.
  }
  return new ApiError(response.status, detail, url);
}

export async function apiFetch(path, params, { signal, accept = "application/json" } = {}) {
  const url = apiUrl(path, params);
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", signal, headers: { Accept: accept } });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, `The server did not answer (${error.message}).`, url);
  }
  if (!response.ok) throw await errorFrom(response, url);
  return response;
}

export async function getJson(path, params, options) {
  const response = await apiFetch(path, params, options);
  return response.json();
}
