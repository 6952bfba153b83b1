// Data tiles coloured on the GPU: an OpenLayers WebGL tile layer over a
// DataTile source whose loader fetches data.f32 tiles. Range and abs are
// style variables (uniforms); colour map, stretch and log are folded into a
// palette texture. Neither change fetches a tile: recolouring updates
// uniforms, or swaps the palette and re-uploads tiles from tileValues.

import { decodeDataTile } from "./datatile.js";
import { colourIndex, lutColour, N_COLOURS } from "./stretch.js";

const ol = window.ol;

// Palette entries, indexed by u = r^(1/4) with r = (v - vmin) / (vmax - vmin)
// clipped to [0, 1]: the fourth root spends the entries where steep
// stretches need them. The log stretch (slope 145 at r = 0) then moves at
// most 0.12 colour steps between entries, linear at most 4 * 255 / 4096 = 0.25.
export const PALETTE_SIZE = 4096;
const PALETTE_ROOT = 4;
// Decoded tiles kept for re-uploads and the value readout; about 48 tiles
// of 675 x 675 pixels (the ACT tile size).
const TILE_CACHE_BYTES = 96 * 1024 * 1024;

// Whether this browser can draw the WebGL layer (float textures included).
export function webglAvailable() {
  try {
    const canvas = document.createElement("canvas");
    const gl = canvas.getContext("webgl2") || canvas.getContext("webgl");
    const usable = Boolean(gl && (gl instanceof window.WebGL2RenderingContext || gl.getExtension("OES_texture_float")));
    // Browsers allow few live contexts: give this probe's back at once.
    if (gl) gl.getExtension("WEBGL_lose_context")?.loseContext();
    return usable;
  } catch {
    return false;
  }
}

// The decoded tiles by URL, least recently used dropped first past the budget.
export class TileValues {
  constructor(budgetBytes = TILE_CACHE_BYTES) {
    this.budgetBytes = budgetBytes;
    this.bytes = 0;
    this.tiles = new Map();
  }

  get(url) {
    const tile = this.tiles.get(url);
    if (tile) {
      this.tiles.delete(url);
      this.tiles.set(url, tile);
    }
    return tile;
  }

  set(url, tile) {
    if (this.tiles.has(url)) this.bytes -= this.tiles.get(url).values.byteLength;
    this.tiles.delete(url);
    this.tiles.set(url, tile);
    this.bytes += tile.values.byteLength;
    while (this.bytes > this.budgetBytes && this.tiles.size > 1) {
      const [oldest, dropped] = this.tiles.entries().next().value;
      this.tiles.delete(oldest);
      this.bytes -= dropped.values.byteLength;
    }
  }
}

// Two bands for the GPU: the value (NaN as 0) and 1 where there is data,
// because NaN does not survive every float texture path.
function bandsOf(values) {
  const out = new Float32Array(values.length * 2);
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (v === v) {
      out[2 * i] = v;
      out[2 * i + 1] = 1;
    }
  }
  return out;
}

// What the palette depends on; the range only under a log scale, where the
// palette position of a value depends on vmax / vmin.
export function paletteKey(colour) {
  return JSON.stringify([
    colour.cmap, colour.log, colour.stretch || "linear", colour.asinh_a, colour.gamma, colour.histeq,
    colour.log ? colour.vmax / colour.vmin : null,
  ]);
}

export function buildPalette(colour, bar) {
  const colours = [];
  const plain = { ...colour, abs: false };
  for (let k = 0; k < PALETTE_SIZE; k += 1) {
    const r = (k / (PALETTE_SIZE - 1)) ** PALETTE_ROOT;
    colours.push([...lutColour(bar, colourIndex(colour.vmin + r * (colour.vmax - colour.vmin), plain)), 1]);
  }
  return colours;
}

function variablesOf(colour) {
  return { vmin: colour.vmin, vmax: colour.vmax, abs: colour.abs ? 1 : 0 };
}

// The value each pixel is coloured by, as a WebGL style expression: band 1
// with band 2 saying where there is data, unless `layer.get("valueStyle")`
// gives {value, hasData, variables} (a derived map: derivedview.js).
const PLAIN_VALUE = { value: ["band", 1], hasData: [">", ["band", 2], 0.5], variables: {} };

function styleFor(colour, bar, valueStyle = PLAIN_VALUE) {
  const raw = valueStyle.value;
  const value = ["case", [">", ["var", "abs"], 0.5], ["abs", raw], raw];
  const r = ["clamp", ["/", ["-", value, ["var", "vmin"]], ["-", ["var", "vmax"], ["var", "vmin"]]], 0, 1];
  const index = ["floor", ["+", ["*", ["^", r, 1 / PALETTE_ROOT], PALETTE_SIZE - 1], 0.5]];
  const none = [0, 0, 0, 0];
  const cases = [["!", valueStyle.hasData], none];
  // A log scale has no colour for values <= 0: transparent, as on the server.
  if (colour.log) cases.push(["<=", value, 0], none);
  return {
    variables: { ...valueStyle.variables, ...variablesOf(colour) },
    color: ["case", ...cases, ["palette", index, buildPalette(colour, bar)]],
  };
}

// Colour `layer` with `colour` ({vmin, vmax, cmap, log, abs, stretch, ...})
// and the colour bar `bar` of its colour map.
export function applyColour(layer, colour, bar) {
  const key = paletteKey(colour);
  if (layer.get("paletteKey") === key) {
    layer.updateStyleVariables(variablesOf(colour));
  } else {
    layer.setStyle(styleFor(colour, bar, layer.get("valueStyle") || PLAIN_VALUE));
    layer.set("paletteKey", key);
  }
}

// The decoded data tile at `url`, from `tileValues` when it is there, else
// fetched and kept there; `onTile` as for makeDataLayer. Throws when the
// server answers with an error (404 included: no data there).
export async function loadDataTile(url, { tileValues, onTile, signal }) {
  const known = tileValues.get(url);
  if (known) return known;
  const response = await fetch(url, { credentials: "same-origin", signal });
  if (!response.ok) {
    onTile(url, response.status === 404 ? "missing" : "failed", response);
    throw new Error(`tile ${url}: HTTP ${response.status}`);
  }
  const tile = await decodeDataTile(await response.blob(), response.headers);
  tileValues.set(url, tile);
  onTile(url, "ok");
  return tile;
}

// The WebGL layer. `urlOf(tileCoord)` is the data.f32 URL of a tile
// coordinate in the source's own (unwrapped) grid; `onTile(url, status,
// response)` hears how each answered ("ok", "missing" for 404, "failed");
// `bar` the colour map's colour bar, or null until it is known; `cacheSize`
// the tiles (and textures) OpenLayers keeps (mapview.js tileCacheSize).
// `bands(coord, {signal})` (a derived map) replaces the one data tile per
// coordinate, giving `bandCount` bands coloured by `valueStyle` (styleFor).
export function makeDataLayer({
  tileGrid, cacheSize, urlOf, tileValues, colour, bar, onTile, bands = null, bandCount = 2, valueStyle = PLAIN_VALUE,
}) {
  let source = null;
  const loader = async (z, x, y, { signal } = {}) => {
    const coord = source.getTileCoordForTileUrlFunction([z, x, y], source.getProjection()) || [z, x, y];
    if (bands) return bands(coord, { signal });
    return bandsOf((await loadDataTile(urlOf(coord), { tileValues, onTile, signal })).values);
  };
  source = new ol.source.DataTile({
    loader,
    projection: "EPSG:4326",
    tileGrid,
    bandCount,
    // Astronomers want to see the pixels, not a blur, when zoomed in.
    interpolate: false,
    wrapX: true,
    transition: 0,
  });
  // Without the colour bar yet, grey until applyColour gives the real one.
  const grey = Array.from({ length: N_COLOURS + 1 }, (_, i) => [i, i, i]);
  const layer = new ol.layer.WebGLTile({
    source,
    style: styleFor(colour, bar || grey, valueStyle),
    zIndex: 0,
    preload: 1,
    cacheSize,
  });
  layer.set("valueStyle", valueStyle);
  layer.set("paletteKey", bar ? paletteKey(colour) : null);
  return layer;
}

// The value of the tile pixel under view coordinate [x, y], from the tiles
// already loaded at level z or coarser: {value, blockSize, maxError, coord,
// row, col} (coord the tile's URL coordinate, to read other planes of the
// same pixel) or null.
export function loadedValueAt(layer, tileValues, urlOf, coordinate, z) {
  const source = layer.getSource();
  const grid = source.getTileGrid();
  for (let level = z; level >= grid.getMinZoom(); level -= 1) {
    const coord = grid.getTileCoordForCoordAndZ(coordinate, level);
    const wrapped = source.getTileCoordForTileUrlFunction(coord, source.getProjection());
    if (!wrapped) continue;
    const tile = tileValues.get(urlOf(wrapped));
    if (!tile) continue;
    const extent = grid.getTileCoordExtent(coord);
    const resolution = grid.getResolution(level);
    const col = Math.floor((coordinate[0] - extent[0]) / resolution);
    const row = Math.floor((extent[3] - coordinate[1]) / resolution);
    if (col < 0 || row < 0 || col >= tile.cols || row >= tile.rows) continue;
    return { ...tilePixel(tile, row, col), coord: wrapped, row, col };
  }
  return null;
}

// Pixel (row, col) of a decoded tile: {value, blockSize, maxError}.
export function tilePixel(tile, row, col) {
  const inside = row < tile.rows && col < tile.cols;
  const value = inside ? tile.values[row * tile.cols + col] : NaN;
  return { value, blockSize: tile.blockSize, maxError: tile.maxError };
}
