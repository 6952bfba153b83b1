// The layer menu: map group > map > band > layer, loaded level by level
// from the API, filtered through /search, with the active layer marked.

import { apiPath, getJson } from "./api.js";

const LEVELS = [
  { id: "map_group_id", children: "maps", path: (id) => apiPath("map-groups", id, "maps") },
  { id: "map_id", children: "bands", path: (id) => apiPath("maps", id, "bands") },
  { id: "band_id", children: "layers", path: (id) => apiPath("bands", id, "layers") },
  { id: "layer_id", children: null, path: null },
];
const SEARCH_DELAY_MS = 250;

export class LayerMenu extends EventTarget {
  constructor(root, searchInput, messages) {
    super();
    this.root = root;
    this.searchInput = searchInput;
    this.messages = messages;
    this.tree = [];
    this.expanded = new Set();
    this.activeId = null;
    this.searchResult = null;
    this.searchTimer = null;
    this.searchController = null;
    searchInput.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.search(searchInput.value.trim()), SEARCH_DELAY_MS);
    });
    searchInput.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        searchInput.value = "";
        this.search("");
        searchInput.blur();
      } else if (event.key === "Enter") {
        const first = this.root.querySelector(".layer-entry");
        if (first) first.click();
      }
    });
  }

  key(depth, id) {
    return `${depth}:${id}`;
  }

  // The default menu has the path to the default layer filled in; every
  // other entry arrives with an empty child list, loaded when opened.
  setTree(tree) {
    this.tree = tree;
    this.walk(tree, 0, (entry, depth) => {
      const children = LEVELS[depth].children;
      if (children && entry[children] && entry[children].length) {
        this.expanded.add(this.key(depth, entry[LEVELS[depth].id]));
      }
    });
    this.render();
  }

  walk(entries, depth, visit) {
    for (const entry of entries) {
      visit(entry, depth);
      const children = LEVELS[depth].children;
      if (children && entry[children]) this.walk(entry[children], depth + 1, visit);
    }
  }

  async loadChildren(entry, depth) {
    const level = LEVELS[depth];
    if (entry[level.children] && entry[level.children].length) return;
    entry.loading = true;
    this.render();
    try {
      entry[level.children] = await getJson(level.path(entry[level.id]));
    } catch (error) {
      this.messages.error(`Could not load ${entry.name}: ${error.detail || error.message}`);
    } finally {
      entry.loading = false;
    }
  }

  async toggle(entry, depth) {
    const key = this.key(depth, entry[LEVELS[depth].id]);
    if (this.expanded.has(key)) {
      this.expanded.delete(key);
    } else {
      this.expanded.add(key);
      if (!this.searchResult) await this.loadChildren(entry, depth);
    }
    this.render();
  }

  // Open the menu down to a layer, given its ancestors' ids (from /layers/{id}).
  async reveal(layer) {
    const ids = [layer.map_group_id, layer.map_id, layer.band_id];
    let entries = this.tree;
    for (let depth = 0; depth < ids.length; depth += 1) {
      const entry = entries.find((e) => e[LEVELS[depth].id] === ids[depth]);
      if (!entry) break;
      this.expanded.add(this.key(depth, ids[depth]));
      await this.loadChildren(entry, depth);
      entries = entry[LEVELS[depth].children] || [];
    }
    this.render();
  }

  // Read the menu again (live.js): the map groups, and the children of
  // every entry open now, so what the user opened stays open.
  async refresh() {
    let groups;
    try {
      groups = await getJson("/map-groups");
    } catch (error) {
      this.messages.error(`Could not load the map list: ${error.detail || error.message}`);
      return;
    }
    await this.loadOpen(groups, 0);
    this.tree = groups;
    this.render();
    if (this.searchResult) await this.search(this.searchResult.query);
  }

  async loadOpen(entries, depth) {
    const level = LEVELS[depth];
    if (!level.children) return;
    const open = entries.filter((entry) => this.expanded.has(this.key(depth, entry[level.id])));
    await Promise.all(
      open.map(async (entry) => {
        // Gone or hidden since (404): shown empty until the next refresh.
        entry[level.children] = await getJson(level.path(entry[level.id])).catch(() => []);
        await this.loadOpen(entry[level.children], depth + 1);
      }),
    );
  }

  setActive(layerId) {
    this.activeId = layerId;
    this.render();
    const active = this.root.querySelector(".layer-entry.active");
    if (active) active.scrollIntoView({ block: "nearest" });
  }

  async search(query) {
    if (this.searchController) this.searchController.abort();
    if (!query) {
      this.searchResult = null;
      this.render();
      return;
    }
    this.searchController = new AbortController();
    try {
      const result = await getJson("/search", { q: query }, { signal: this.searchController.signal });
      this.searchResult = { query, menu: result.filtered_layer_menu, matched: new Set(result.matched_ids) };
    } catch (error) {
      if (error.name === "AbortError") return;
      this.messages.error(`Search failed: ${error.detail || error.message}`);
      return;
    }
    this.render();
  }

  render() {
    const entries = this.searchResult ? this.searchResult.menu : this.tree;
    const list = document.createElement("ul");
    list.setAttribute("role", "tree");
    this.renderLevel(list, entries, 0);
    this.root.replaceChildren(list);
    if (!entries.length) {
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = this.searchResult
        ? `Nothing matches \u201c${this.searchResult.query}\u201d.`
        : "No maps are available to you.";
      this.root.append(empty);
    }
  }

  renderLevel(list, entries, depth) {
    const level = LEVELS[depth];
    for (const entry of entries) {
      const id = entry[level.id];
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = entry.name;
      button.title = entry.description || entry.name;
      if (this.searchResult && this.searchResult.matched.has(id)) button.classList.add("match");
      item.append(button);
      if (!level.children) {
        button.className += " layer-entry";
        button.dataset.layerId = id;
        button.setAttribute("role", "treeitem");
        if (id === this.activeId) {
          button.classList.add("active");
          button.setAttribute("aria-current", "true");
        }
        button.addEventListener("click", () =>
          this.dispatchEvent(new CustomEvent("select", { detail: { layerId: id } })),
        );
      } else {
        // Search results come with their subtree: show them open.
        const open = this.searchResult ? true : this.expanded.has(this.key(depth, id));
        button.className = `branch ${open ? "open" : ""}`;
        button.setAttribute("aria-expanded", String(open));
        button.dataset.depth = String(depth);
        button.addEventListener("click", () => this.toggle(entry, depth));
        if (entry.loading) button.classList.add("loading");
        if (open) {
          const children = entry[level.children] || [];
          const sublist = document.createElement("ul");
          sublist.setAttribute("role", "group");
          this.renderLevel(sublist, children, depth + 1);
          if (!children.length && !entry.loading) {
            const none = document.createElement("li");
            none.className = "empty";
            none.textContent = "(empty)";
            sublist.append(none);
          }
          item.append(sublist);
        }
      }
      list.append(item);
    }
  }
}

// Back and forward through the layers viewed, like a browser's history.
export class LayerHistory {
  constructor() {
    this.entries = [];
    this.index = -1;
  }

  visit(layerId) {
    if (this.entries[this.index] === layerId) return;
    this.entries = this.entries.slice(0, this.index + 1);
    this.entries.push(layerId);
    this.index = this.entries.length - 1;
  }

  back() {
    if (this.index <= 0) return null;
    this.index -= 1;
    return this.entries[this.index];
  }

  forward() {
    if (this.index >= this.entries.length - 1) return null;
    this.index += 1;
    return this.entries[this.index];
  }

  canGoBack() {
    return this.index > 0;
  }

  canGoForward() {
    return this.index < this.entries.length - 1;
  }
}
