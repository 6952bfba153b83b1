// The table of one catalogue: its rows (only those scrolled into view are
// in the DOM), sortable columns with units, a filter the markers follow,
// and markers sized and coloured by a column, with a legend. A catalogue
// loaded per view (overlays.js) lists the sources loaded for the view, and
// its filter is applied by the server, to the view queries.

import { loadColourMap } from "./colour.js";
import { el } from "./dom.js";
import { columnValue, parseFilter } from "./filterexpr.js";
import { formatDeg, formatNumber, wrap360 } from "./sky.js";

// Rows are drawn at a fixed height so the scroll position says which are
// visible; a few extra above and below keep fast scrolling from flashing.
export const ROW_PX = 22;
const OVERSCAN_ROWS = 8;
const FILTER_DELAY_MS = 250;
const SIZE_RANGE_PX = [3, 12];
const COLOUR_MAP = "viridis";
const MISSING_COLOUR = "#8a8f98";
const POSITION_COLUMNS = [
  { name: "name", unit: "", description: "Source name" },
  { name: "ra", unit: "deg", description: "Right ascension" },
  { name: "dec", unit: "deg", description: "Declination" },
];

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

// Numbers first (ascending), then strings, then missing values, whatever the direction.
function compareValues(a, b) {
  const rank = (v) => (isNumber(v) ? 0 : typeof v === "string" ? 1 : 2);
  const [ra, rb] = [rank(a), rank(b)];
  if (ra !== rb) return ra - rb;
  if (ra === 0) return a - b;
  if (ra === 1) return a < b ? -1 : a > b ? 1 : 0;
  return 0;
}

function cellText(column, value) {
  if (value === null || value === undefined) return "";
  if (column === "ra" && isNumber(value)) return formatDeg(wrap360(value), 5);
  if (column === "dec" && isNumber(value)) return formatDeg(value, 5);
  if (isNumber(value)) return formatNumber(value, 5);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function numericRange(sources, column) {
  let [low, high] = [Infinity, -Infinity];
  for (const source of sources) {
    const value = columnValue(source, column);
    if (!isNumber(value)) continue;
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return low <= high ? { low, high } : null;
}

function fraction(value, range) {
  return range.high > range.low ? (value - range.low) / (range.high - range.low) : 0.5;
}

// --- URL state: tcat, tfilter, tsort (a leading "-" for descending), tsize, tcolour.

export function readTableState(params) {
  const catalogue = params.get("tcat");
  if (!catalogue) return null;
  const sort = params.get("tsort") || "";
  return {
    catalogue,
    filter: params.get("tfilter") || "",
    sort: sort ? { column: sort.replace(/^-/, ""), descending: sort.startsWith("-") } : null,
    size: params.get("tsize") || "",
    colour: params.get("tcolour") || "",
  };
}

export function writeTableState(params, state) {
  if (!state) return;
  params.set("tcat", state.catalogue);
  if (state.filter) params.set("tfilter", state.filter);
  if (state.sort) params.set("tsort", `${state.sort.descending ? "-" : ""}${state.sort.column}`);
  if (state.size) params.set("tsize", state.size);
  if (state.colour) params.set("tcolour", state.colour);
}

export class CatalogueTable {
  constructor(root, catalogues, { goTo, onChange }) {
    this.root = root;
    this.catalogues = catalogues;
    this.goTo = goTo;
    this.onChange = onChange;
    this.groupId = null;
    this.rows = [];
    this.selected = null;
    this.sort = null;
    this.filterText = "";
    this.sizeColumn = "";
    this.colourColumn = "";
    this.colours = null;
    const $ = (selector) => root.querySelector(selector);
    this.el = {
      catalogue: $("#table-catalogue"),
      filter: $("#table-filter"),
      error: $("#table-filter-error"),
      count: $("#table-count"),
      size: $("#table-size"),
      colour: $("#table-colour"),
      legend: $("#table-legend"),
      scroll: $("#table-scroll"),
      head: $("#table-head"),
      body: $("#table-body"),
    };
    this.el.catalogue.addEventListener("change", () => this.show(this.el.catalogue.value));
    this.el.filter.addEventListener("input", () => {
      clearTimeout(this.filterTimer);
      this.filterTimer = setTimeout(() => this.setFilter(this.el.filter.value), FILTER_DELAY_MS);
    });
    this.el.size.addEventListener("change", () => this.setStyling(this.el.size.value, this.colourColumn));
    this.el.colour.addEventListener("change", () => this.setStyling(this.sizeColumn, this.el.colour.value));
    this.el.scroll.addEventListener("scroll", () => {
      if (this.scrollFrame) return;
      this.scrollFrame = requestAnimationFrame(() => {
        this.scrollFrame = null;
        this.renderRows();
      });
    });
    this.el.body.addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-index]");
      if (row) this.choose(this.rows[Number(row.dataset.index)]);
    });
    catalogues.onView = (id) => {
      if (id === this.groupId) this.viewLoaded();
    };
  }

  // The sources the table lists and styles by: all, or those loaded for the view.
  sources() {
    const group = this.group();
    if (!group) return [];
    return group.perView ? group.viewSources || [] : group.sources;
  }

  group() {
    return this.catalogues.groups.find((g) => g.source_group_id === this.groupId) || null;
  }

  columns() {
    const group = this.group();
    return group ? [...POSITION_COLUMNS, ...(group.columns || [])] : [];
  }

  // Called once the catalogue list is known: fill the menu, then the saved state.
  async restore(state) {
    const options = [el("option", { value: "" }, "(none)")];
    for (const group of this.catalogues.groups) {
      options.push(el("option", { value: group.source_group_id }, group.name));
    }
    this.el.catalogue.replaceChildren(...options);
    if (!state || !this.catalogues.groups.some((g) => g.source_group_id === state.catalogue)) return;
    if (this.root.tagName === "DETAILS") this.root.open = true;
    this.sort = state.sort;
    this.filterText = state.filter;
    this.sizeColumn = state.size;
    this.colourColumn = state.colour;
    this.el.filter.value = state.filter;
    await this.show(state.catalogue, { notify: false });
  }

  // The catalogue list was read again (live.js): the menu follows it, and
  // the table closes, saying so, when its catalogue went away.
  async listChanged() {
    const shown = this.groupId;
    const name = this.el.catalogue.selectedOptions[0]?.textContent || shown;
    const options = [el("option", { value: "" }, "(none)")];
    for (const group of this.catalogues.groups) {
      options.push(el("option", { value: group.source_group_id }, group.name));
    }
    this.el.catalogue.replaceChildren(...options);
    this.el.catalogue.value = shown || "";
    if (!shown || this.group()) return;
    await this.show(null);
    if (this.root.tagName === "DETAILS") this.root.open = false;
    this.catalogues.messages.add(
      `Catalogue \u201c${name}\u201d was removed or is no longer available to you: its table is closed.`,
      "info",
      { sticky: true },
    );
  }

  async show(groupId, { notify = true } = {}) {
    if (this.groupId && this.groupId !== groupId) {
      this.catalogues.setFilter(this.groupId, null);
      this.catalogues.setServerFilter(this.groupId, "");
      this.catalogues.setStyle(this.groupId, null);
    }
    this.groupId = groupId || null;
    this.el.catalogue.value = groupId || "";
    this.selected = null;
    if (this.groupId) await this.catalogues.setVisible(this.groupId, true, { notify: false });
    const group = this.group();
    if (!group || !(group.sources || group.perView)) {
      this.groupId = null;
      this.el.catalogue.value = "";
    }
    this.renderHead();
    this.renderStyleMenus();
    this.applyFilter();
    await this.applyStyle();
    if (notify) this.onChange();
  }

  getState() {
    if (!this.groupId) return null;
    return {
      catalogue: this.groupId,
      filter: this.filterText.trim(),
      sort: this.sort,
      size: this.sizeColumn,
      colour: this.colourColumn,
    };
  }

  // --- filter and sort -----------------------------------------------------

  setFilter(text) {
    this.filterText = text;
    this.applyFilter();
    this.onChange();
  }

  // A filter that does not parse is shown with its error and not applied.
  applyFilter() {
    const group = this.group();
    this.el.error.textContent = "";
    if (!group) {
      this.rows = [];
      this.renderRows();
      return;
    }
    if (group.perView) {
      this.catalogues.setServerFilter(this.groupId, this.filterText.trim());
      this.listView();
      return;
    }
    let keep = null;
    if (this.filterText.trim()) {
      try {
        keep = parseFilter(this.filterText, (group.columns || []).map((c) => c.name));
      } catch (error) {
        this.el.error.textContent = error.message;
      }
    }
    this.catalogues.setFilter(this.groupId, keep);
    this.rows = keep ? group.sources.filter(keep) : [...group.sources];
    this.sortRows();
    this.el.count.textContent = `${this.rows.length} of ${group.sources.length} sources`;
    this.renderRows();
  }

  // A per-view catalogue's view was loaded again: its rows, menus and styling follow.
  viewLoaded() {
    const selectedId = this.selected ? this.selected.id : null;
    this.selected = this.sources().find((source) => source.id === selectedId) || null;
    this.renderHead();
    this.renderStyleMenus();
    this.listView();
    this.applyStyle();
  }

  // The rows loaded for the view (already filtered by the server), the
  // count line, and the server's refusal of the filter or its row cap.
  listView() {
    const group = this.group();
    const view = group.view;
    const refused = group.refusedFilter;
    const text = this.filterText.trim();
    this.el.error.textContent = refused && refused.text === text ? refused.detail : "";
    this.rows = [...this.sources()];
    this.sortRows();
    if (!view) {
      this.el.count.textContent = "";
    } else {
      const by = view.order === "random" ? "random subsample" : "brightest first";
      const about = view.estimated ? "~" : "";
      const line = `${view.shown} shown of ${about}${view.total} in view (${by})`;
      // The server tests at most TILEMAKER_MAX_VIEW_SCAN_ROWS rows of a view.
      const note = view.truncated ? "; the filter was tested on the brightest part of the view only: zoom in" : "";
      this.el.count.textContent = line + note;
    }
    this.renderRows();
  }

  sortBy(column) {
    const descending = this.sort && this.sort.column === column ? !this.sort.descending : false;
    this.sort = { column, descending };
    this.sortRows();
    this.renderHead();
    this.renderRows();
    this.onChange();
  }

  sortRows() {
    if (!this.sort) return;
    const { column, descending } = this.sort;
    const sign = descending ? -1 : 1;
    this.rows.sort((a, b) => {
      const [va, vb] = [columnValue(a, column), columnValue(b, column)];
      const missing = (v) => !isNumber(v) && typeof v !== "string";
      // Missing values stay last in both directions.
      if (missing(va) || missing(vb)) return compareValues(va, vb);
      return sign * compareValues(va, vb);
    });
  }

  // --- rendering -----------------------------------------------------------

  renderHead() {
    const cells = this.columns().map((column) => {
      const arrow = this.sort && this.sort.column === column.name ? (this.sort.descending ? " \u25bc" : " \u25b2") : "";
      const th = el(
        "th",
        { title: column.description || column.name, dataset: { column: column.name } },
        column.name,
        ...(column.unit ? [el("span", { className: "unit" }, ` [${column.unit}]`)] : []),
        arrow,
      );
      th.addEventListener("click", () => this.sortBy(column.name));
      return th;
    });
    this.el.head.replaceChildren(el("tr", {}, ...cells));
  }

  // Only the rows in (and just around) the scrolled view are elements; two
  // spacer rows give the scroll bar the whole table's height.
  renderRows() {
    const columns = this.columns().map((c) => c.name);
    const total = this.rows.length;
    const height = this.el.scroll.clientHeight || 300;
    const first = Math.max(0, Math.floor(this.el.scroll.scrollTop / ROW_PX) - OVERSCAN_ROWS);
    const last = Math.min(total, Math.ceil((this.el.scroll.scrollTop + height) / ROW_PX) + OVERSCAN_ROWS);
    const spacer = (rows) => el("tr", { className: "spacer", style: { height: `${rows * ROW_PX}px` } });
    const rendered = [spacer(first)];
    for (let index = first; index < last; index += 1) {
      const source = this.rows[index];
      const cells = columns.map((column) => el("td", {}, cellText(column, columnValue(source, column))));
      const row = el("tr", { dataset: { index: String(index) } }, ...cells);
      if (source === this.selected) row.className = "selected";
      rendered.push(row);
    }
    rendered.push(spacer(total - last));
    this.el.body.replaceChildren(...rendered);
  }

  // --- selection -----------------------------------------------------------

  choose(source) {
    if (!source) return;
    this.select(source);
    this.goTo({ raDeg: source.ra, decDeg: source.dec });
  }

  select(source) {
    this.selected = source;
    const index = this.rows.indexOf(source);
    if (index >= 0) {
      const scroll = this.el.scroll;
      const top = index * ROW_PX;
      if (top < scroll.scrollTop || top + ROW_PX > scroll.scrollTop + scroll.clientHeight) {
        scroll.scrollTop = Math.max(0, top - scroll.clientHeight / 2);
      }
    }
    this.renderRows();
  }

  // A marker was clicked: show its catalogue in the table and select its row.
  async selectFeature(feature) {
    const groupId = feature.get("groupId");
    if (groupId !== this.groupId) await this.show(groupId);
    if (this.root.tagName === "DETAILS") this.root.open = true;
    this.select(feature.get("item"));
  }

  // --- size and colour -------------------------------------------------------

  renderStyleMenus() {
    const group = this.group();
    const numeric = group
      ? (group.columns || []).filter((column) => numericRange(this.sources(), column.name) !== null)
      : [];
    // A per-view catalogue's columns are known once its first view has loaded.
    const waiting = group && group.perView && !group.view;
    for (const [menu, chosen] of [[this.el.size, "sizeColumn"], [this.el.colour, "colourColumn"]]) {
      const options = [el("option", { value: "" }, "(none)")];
      for (const column of numeric) options.push(el("option", { value: column.name }, column.name));
      if (waiting && this[chosen]) options.push(el("option", { value: this[chosen] }, this[chosen]));
      else if (!numeric.some((column) => column.name === this[chosen])) this[chosen] = "";
      menu.replaceChildren(...options);
      menu.value = this[chosen];
      menu.disabled = !numeric.length && !waiting;
    }
  }

  async setStyling(sizeColumn, colourColumn) {
    this.sizeColumn = sizeColumn;
    this.colourColumn = colourColumn;
    await this.applyStyle();
    this.onChange();
  }

  async applyStyle() {
    const group = this.group();
    if (!group || (!this.sizeColumn && !this.colourColumn)) {
      if (group) this.catalogues.setStyle(this.groupId, null);
      this.renderLegend(null, null);
      return;
    }
    if (this.colourColumn && !this.colours) {
      try {
        this.colours = await loadColourMap(COLOUR_MAP);
      } catch (error) {
        this.catalogues.messages.error(`Colour map ${COLOUR_MAP}: ${error.detail || error.message}`);
        return;
      }
    }
    const sizeRange = this.sizeColumn ? numericRange(this.sources(), this.sizeColumn) : null;
    const colourRange = this.colourColumn ? numericRange(this.sources(), this.colourColumn) : null;
    const [small, large] = SIZE_RANGE_PX;
    this.catalogues.setStyle(this.groupId, (source) => {
      const style = {};
      if (sizeRange) {
        const value = columnValue(source, this.sizeColumn);
        if (isNumber(value)) style.radius = small + (large - small) * fraction(value, sizeRange);
      }
      if (colourRange) {
        const value = columnValue(source, this.colourColumn);
        style.colour = isNumber(value) ? this.colourOf(fraction(value, colourRange)) : MISSING_COLOUR;
      }
      return style;
    });
    this.renderLegend(sizeRange, colourRange);
  }

  colourOf(t) {
    const [r, g, b] = this.colours[Math.min(255, Math.max(0, Math.round(t * 255)))];
    return `rgb(${r},${g},${b})`;
  }

  unitOf(name) {
    const column = this.columns().find((c) => c.name === name);
    return column && column.unit ? ` [${column.unit}]` : "";
  }

  renderLegend(sizeRange, colourRange) {
    const parts = [];
    if (colourRange) {
      const canvas = el("canvas", { width: 200, height: 12, className: "legend-bar" });
      const context = canvas.getContext("2d");
      for (let x = 0; x < canvas.width; x += 1) {
        context.fillStyle = this.colourOf(x / (canvas.width - 1));
        context.fillRect(x, 0, 1, canvas.height);
      }
      parts.push(
        el(
          "div",
          { className: "legend-colour" },
          el("div", {}, `colour: ${this.colourColumn}${this.unitOf(this.colourColumn)}`),
          canvas,
          el(
            "div",
            { className: "legend-ends" },
            el("span", { dataset: { end: "low" } }, formatNumber(colourRange.low, 4)),
            el("span", { dataset: { end: "high" } }, formatNumber(colourRange.high, 4)),
          ),
        ),
      );
    }
    if (sizeRange) {
      const circle = (radius) =>
        el("span", { className: "legend-circle", style: { width: `${2 * radius}px`, height: `${2 * radius}px` } });
      parts.push(
        el(
          "div",
          { className: "legend-size" },
          el("div", {}, `size: ${this.sizeColumn}${this.unitOf(this.sizeColumn)}`),
          el(
            "div",
            { className: "legend-ends" },
            el("span", { dataset: { end: "low" } }, circle(SIZE_RANGE_PX[0]), " ", formatNumber(sizeRange.low, 4)),
            el("span", { dataset: { end: "high" } }, circle(SIZE_RANGE_PX[1]), " ", formatNumber(sizeRange.high, 4)),
          ),
        ),
      );
    }
    this.el.legend.replaceChildren(...parts);
    this.el.legend.hidden = !parts.length;
  }
}
