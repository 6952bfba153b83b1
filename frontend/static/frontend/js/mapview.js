// The OpenLayers map: one tile layer per API layer over the SPEC tile grid,
// the graticule, and helpers shared by the overlays.

import { apiPath, apiUrl, errorFrom, layerPath, layerQuery } from "./api.js";
import { loadColourMap } from "./colour.js";
import { decodeDataTile } from "./datatile.js";
import { derivedHooks, derivedLayerOptions } from "./derivedview.js";
import { applyColour, loadedValueAt, makeDataLayer, tilePixel, TileValues } from "./gltiles.js";
import { layerXRange, tileGridPlacement, wrapX } from "./placement.js";
import { formatDeg, raToX, raToXNear, wrap360, xToRa } from "./sky.js";

const ol = window.ol;

// The view pans freely in x, across the RA seam of either orientation
// (the tiles and overlays repeat every 360 degrees); only Dec is bounded.
const VIEW_EXTENT = [-Infinity, -90, Infinity, 90];
// View zoom k shows tile level k - 1 at one screen pixel per tile pixel;
// zoom 0 fits the whole sky (two level-0 tiles) into one tile width.
const ZOOM_OFFSET = 1;
// Zooming in past native resolution, to see single pixels large.
const OVERZOOM_LEVELS = 4;
// Tile state "error" (OpenLayers' TileState.ERROR): no image, nothing drawn.
const TILE_ERROR = 3;
const TILE_STATUS_ENTRIES = 5000;
// OpenLayers keeps 512 tiles per layer by default, each with its pixels: for
// 675 px data tiles 3.6 MB in the JS heap (two float bands) plus a texture of
// the same size, so up to 1.9 GB of each after a long pan. Keep three
// screenfuls of tiles instead: the current level, the previous one shown
// while a zoom loads, and the coarser preload level with room to spare (too
// small a cache would drop tiles still on screen and fetch them again).
const TILE_CACHE_SCREENS = 3;
// While the view animates or is dragged, WebGL mode draws at this fraction
// of the device pixel ratio, and at the full ratio again before the frame
// the view comes to rest in (so what is drawn when still is unchanged).
// Headless Chromium draws WebGL in software (SwiftShader) here, where the
// cost of a frame follows the pixels drawn, not the shader: a 1400 x 860
// view moved at 3-8 frames/s at ratio 1 (as slow with a constant-colour
// style) and 10-13 at 0.5 under the same load (13; README, bench_million.py).
const MOVING_PIXEL_RATIO = 0.5;

// Tiles per layer to keep: TILE_CACHE_SCREENS times the tiles covering the
// whole screen (the largest the map can be), in device pixels.
export function tileCacheSize(tileSize, screenWidth, screenHeight, pixelRatio) {
  const across = Math.ceil((screenWidth * pixelRatio) / tileSize) + 1;
  const down = Math.ceil((screenHeight * pixelRatio) / tileSize) + 1;
  return TILE_CACHE_SCREENS * across * down;
}

// The PNG tile and cut-out query. The stretch parameters only when a
// stretch is on, so linear tiles keep the URLs (and cache keys) they had.
export function colourParams(colour, flip) {
  const params = {
    cmap: colour.cmap,
    vmin: colour.vmin,
    vmax: colour.vmax,
    log_norm: colour.log ? "true" : "false",
    abs: colour.abs ? "true" : "false",
    flip: flip ? "true" : "false",
  };
  const stretch = colour.stretch || "linear";
  if (stretch !== "linear") params.stretch = stretch;
  if (stretch === "asinh" && colour.asinh_a !== undefined) params.asinh_a = colour.asinh_a;
  if (stretch === "power" && colour.gamma !== undefined) params.gamma = colour.gamma;
  return params;
}

// The SPEC grid, shifted so each tile pixel covers the footprint of the
// map pixel it shows (placement.js).
function tileGridFor(layer, flip) {
  const resolutions = [];
  for (let z = 0; z < layer.number_of_levels; z += 1) {
    resolutions.push(180 / 2 ** z / layer.tile_size);
  }
  const { origin, extent } = tileGridPlacement(layer, flip);
  return new ol.tilegrid.TileGrid({
    extent,
    origin,
    resolutions,
    tileSize: layer.tile_size,
  });
}

function viewResolutions(layer) {
  const coarsest = 360 / layer.tile_size;
  const out = [];
  for (let k = 0; k <= layer.number_of_levels - 1 + ZOOM_OFFSET + OVERZOOM_LEVELS; k += 1) {
    out.push(coarsest / 2 ** k);
  }
  return out;
}

// Grid lines sit on round values; four decimals show them all without
// float noise such as 149.99999999.
function labelDegrees(value) {
  return `${Number(value.toFixed(4)).toString().replace("-", "\u2212")}\u00b0`;
}

export class SkyMap extends EventTarget {
  // `gl`: draw float data tiles coloured on the GPU (gltiles.js) instead of PNG tiles.
  // `exact`: ask for exact float32 data tiles, not the layer's default error bound.
  // `view`: another map's ol.View to share (linked panels, panels.js): this
  // map then never replaces or moves it; its owner does.
  constructor(target, { gl = false, exact = false, view = null } = {}) {
    super();
    this.gl = gl;
    this.exact = exact;
    this.sharedView = view !== null;
    this.tileValues = new TileValues();
    this.flip = true;
    this.layer = null;
    this.colour = null;
    this.tileLayer = null;
    // What each tile URL answered ("ok", "missing" for 404, "failed"), to
    // tell "no data in this view" from "still loading".
    this.tileStatus = new Map();
    this.pendingTiles = 0;
    // Data tiles of other Stokes planes being fetched for the readout.
    this.planeRequests = new Set();
    this.graticuleVisible = true;
    this.map = new ol.Map({
      target,
      layers: [],
      controls: ol.control.defaults.defaults({ attribution: false, rotate: false }),
      interactions: ol.interaction.defaults.defaults({ altShiftDragRotate: false, pinchRotate: false }),
      view: view || new ol.View({ projection: "EPSG:4326", center: [0, 0], zoom: 1 }),
    });
    this.overlayGroup = new ol.layer.Group({ zIndex: 10 });
    this.map.addLayer(this.overlayGroup);
    this.graticule = null;
    this.rebuildGraticule();
    this.map.on("rendercomplete", () => this.dispatchEvent(new Event("rendercomplete")));
    this.map.on("moveend", () => this.dispatchEvent(new Event("viewchange")));
    this.restingPixelRatio = this.map.getPixelRatio();
    if (gl) this.followViewHints();
  }

  // Draw at MOVING_PIXEL_RATIO while the view moves. The view's hints change
  // before the map renders (a "change" event), so the ratio is right for the
  // first moving frame and for the frame the view stops in.
  followViewHints() {
    let viewKey = null;
    const follow = () => {
      const moving = this.view.getAnimating() || this.view.getInteracting();
      this.map.setPixelRatio(moving ? this.restingPixelRatio * MOVING_PIXEL_RATIO : this.restingPixelRatio);
    };
    const bind = () => {
      if (viewKey) ol.Observable.unByKey(viewKey);
      viewKey = this.view.on("change", follow);
      follow();
    };
    this.map.on("change:view", bind);
    bind();
  }

  get view() {
    return this.map.getView();
  }

  addOverlay(layer) {
    this.overlayGroup.getLayers().push(layer);
  }

  // Zoom in the URL counts tile levels: zoom z is tile level z at 1:1.
  getZoomLevel() {
    return this.view.getZoom() - ZOOM_OFFSET;
  }

  getCentreSky() {
    const [x, y] = this.view.getCenter();
    return { raDeg: xToRa(x, this.flip), decDeg: y };
  }

  // View x of an RA in the world copy nearest the centre of the view, so a
  // go-to or a new marker past the seam lands where the user is looking.
  xNearView(raDeg) {
    const centre = this.view.getCenter();
    return centre ? raToXNear(raDeg, this.flip, centre[0]) : raToX(raDeg, this.flip);
  }

  skyAtPixel(pixel) {
    const coordinate = this.map.getCoordinateFromPixel(pixel);
    if (!coordinate) return null;
    const [x, y] = coordinate;
    if (y < -90 || y > 90) return null;
    return { raDeg: xToRa(x, this.flip), decDeg: y };
  }

  // The layer's bounding box in the current orientation, in one piece
  // across the seam (placement.js layerXRange), in the world copy nearest the view.
  layerExtent(layer) {
    const [x0, x1] = layerXRange(layer, this.flip);
    const centre = this.view.getCenter();
    const shift = centre && x1 - x0 < 359.999 ? centre[0] - wrapX(centre[0]) : 0;
    return [x0 + shift, layer.bounding_bottom, x1 + shift, layer.bounding_top];
  }

  fitLayer(layer) {
    this.view.fit(this.layerExtent(layer), { padding: [20, 20, 20, 20] });
  }

  tileUrl(layer, colour, flip, tileCoord) {
    const [z, x, yFromTop] = tileCoord;
    const y = 2 ** z - 1 - yFromTop;
    // v: the file's version (live.js), so a rewritten file's tiles are new URLs.
    const version = { v: layer.file_version };
    return apiUrl(layerPath(layer, z, y, x, "tile.png"), { ...layerQuery(layer), ...colourParams(colour, flip), ...version });
  }

  dataTileUrl(layer, flip, tileCoord) {
    const [z, x, yFromTop] = tileCoord;
    const y = 2 ** z - 1 - yFromTop;
    // The server's per-layer bound (a tenth of the pixel noise): 5-9x fewer
    // bytes than float32 (README "Data tiles"); the readout shows "± E".
    const query = this.exact ? {} : { max_error: "auto" };
    return apiUrl(apiPath("layers", layer.layer_id, z, y, x, "data.f32"), {
      flip: flip ? "true" : "false", ...query, v: layer.file_version,
    });
  }

  // Fetch tiles ourselves so a 404 (no data there) is told apart from a
  // real error, whose JSON detail is shown to the user.
  loadTile(tile, src) {
    const image = tile.getImage();
    fetch(src, { credentials: "same-origin" })
      .then(async (response) => {
        if (response.ok) {
          const blob = await response.blob();
          const objectUrl = URL.createObjectURL(blob);
          image.addEventListener("load", () => URL.revokeObjectURL(objectUrl), { once: true });
          image.src = objectUrl;
          this.recordTile(src, "ok");
          return;
        }
        if (response.status === 404) {
          this.recordTile(src, "missing");
        } else {
          this.recordTile(src, "failed");
          const error = await errorFrom(response, src);
          this.dispatchEvent(new CustomEvent("tileerror", { detail: error }));
        }
        tile.setState(TILE_ERROR);
      })
      .catch((error) => {
        this.recordTile(src, "failed");
        this.dispatchEvent(new CustomEvent("tileerror", { detail: error }));
        tile.setState(TILE_ERROR);
      });
  }

  recordTile(src, status) {
    this.tileStatus.delete(src);
    this.tileStatus.set(src, status);
    if (this.tileStatus.size > TILE_STATUS_ENTRIES) {
      this.tileStatus.delete(this.tileStatus.keys().next().value);
    }
  }

  // How the tiles the current view needs have answered so far.
  visibleTileStatus() {
    const size = this.map.getSize();
    if (!this.tileLayer || !size) return null;
    const source = this.tileLayer.getSource();
    const grid = source.getTileGrid();
    const extent = ol.extent.getIntersection(this.view.calculateExtent(size), VIEW_EXTENT);
    const counts = { ok: 0, missing: 0, failed: 0, pending: 0 };
    if (ol.extent.isEmpty(extent)) return counts;
    const z = grid.getZForResolution(this.view.getResolution(), source.zDirection || 0);
    const urlOf = this.gl ? this.tileLayer.get("urlOf") : source.getTileUrlFunction();
    const projection = this.view.getProjection();
    const seen = new Set();
    grid.forEachTileCoord(extent, z, (coord) => {
      // Tiles past the seam are the same tiles as those of the first world.
      const wrapped = source.getTileCoordForTileUrlFunction(coord, projection);
      const url = wrapped && urlOf(wrapped);
      if (!url || seen.has(url)) return;
      seen.add(url);
      const status = this.tileStatus.get(url);
      counts[status || "pending"] += 1;
    });
    return counts;
  }

  makeDataTileLayer(layer, colour, flip) {
    const onTile = (url, status, response) => {
      this.recordTile(url, status);
      if (status !== "failed") return;
      errorFrom(response, url).then((error) => this.dispatchEvent(new CustomEvent("tileerror", { detail: error })));
    };
    // A derived map (derivedview.js) combines its inputs' data tiles on the GPU.
    const derived = layer.derived
      ? derivedLayerOptions(layer.derived, {
        inputUrlOf: (id) => (coord) => this.dataTileUrl({ layer_id: id, file_version: layer.input_versions?.[id] }, flip, coord), tileValues: this.tileValues, onTile,
      })
      : null;
    const urlOf = derived ? derived.urlOf : (coord) => this.dataTileUrl(layer, flip, coord);
    const tileLayer = makeDataLayer({
      tileGrid: tileGridFor(layer, flip),
      cacheSize: this.tileCacheSize(layer),
      urlOf,
      tileValues: this.tileValues,
      colour,
      bar: null,
      onTile,
      ...derived,
    });
    if (derived) derivedHooks(tileLayer, { ...layer.derived }, derived.urlOfB);
    tileLayer.set("urlOf", urlOf);
    const source = tileLayer.getSource();
    source.on("tileloadstart", () => this.tileLoading(1));
    source.on(["tileloadend", "tileloaderror"], () => this.tileLoading(-1));
    return tileLayer;
  }

  // Colour the WebGL layer: uniforms or a new palette, no tile request.
  async recolour() {
    const colour = this.colour;
    const tileLayer = this.tileLayer;
    let bar;
    try {
      bar = await loadColourMap(colour.cmap);
    } catch (error) {
      this.dispatchEvent(new CustomEvent("tileerror", { detail: error }));
      return;
    }
    if (colour !== this.colour || tileLayer !== this.tileLayer) return;
    applyColour(tileLayer, colour, bar);
  }

  // The value under [x, y] from the loaded data tiles, without a request:
  // {value, blockSize, maxError} (the mean of blockSize x blockSize native
  // pixels, within maxError), or null without WebGL tiles or before the tile has loaded.
  loadedValueAt(raDeg, decDeg) {
    if (!this.gl || !this.tileLayer) return null;
    const coordinate = [this.xNearView(raDeg), decDeg];
    const grid = this.tileLayer.getSource().getTileGrid();
    const z = Math.min(grid.getMaxZoom(), Math.max(0, Math.round(this.getZoomLevel())));
    const valueAt = this.tileLayer.get("valueAt") || loadedValueAt;
    return valueAt(this.tileLayer, this.tileValues, this.tileLayer.get("urlOf"), coordinate, z);
  }

  // Another plane's value at the pixel of `hit` (loadedValueAt): from its
  // data tile at the same tile coordinate and flip, {status: "ok", value,
  // blockSize, maxError}; else {status: "loading"} while the tile is fetched
  // (once per tile, a "planetile" event when it lands) or {status: "missing"}
  // (hidden, 404 or failed).
  planeValueAt(layerId, hit) {
    const url = this.dataTileUrl({ layer_id: layerId }, this.flip, hit.coord);
    const tile = this.tileValues.get(url);
    if (tile) return { status: "ok", ...tilePixel(tile, hit.row, hit.col) };
    const answered = this.tileStatus.get(url);
    if (answered === "missing" || answered === "failed") return { status: "missing" };
    if (!this.planeRequests.has(url)) this.loadPlaneTile(url);
    return { status: "loading" };
  }

  async loadPlaneTile(url) {
    this.planeRequests.add(url);
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) {
        this.tileValues.set(url, await decodeDataTile(await response.blob(), response.headers));
        this.recordTile(url, "ok");
      } else if (response.status === 404) {
        this.recordTile(url, "missing");
      } else {
        this.recordTile(url, "failed");
        this.dispatchEvent(new CustomEvent("tileerror", { detail: await errorFrom(response, url) }));
      }
    } catch (error) {
      this.recordTile(url, "failed");
      this.dispatchEvent(new CustomEvent("tileerror", { detail: error }));
    } finally {
      this.planeRequests.delete(url);
    }
    this.dispatchEvent(new CustomEvent("planetile", { detail: { url } }));
  }

  // The data values on screen, for "limits from the current view": one
  // chunk per tile row of each loaded tile at the view's level, cut to the
  // pixels whose centres are inside the view. Null without WebGL tiles.
  visibleData() {
    const size = this.map.getSize();
    if (!this.gl || !this.tileLayer || !size) return null;
    const source = this.tileLayer.getSource();
    const grid = source.getTileGrid();
    const urlOf = this.tileLayer.get("urlOf");
    const tileAt = this.tileLayer.get("tileAt") || ((values, urlOfTile, coord) => values.get(urlOfTile(coord)));
    const view = ol.extent.getIntersection(this.view.calculateExtent(size), VIEW_EXTENT);
    const chunks = [];
    let tiles = 0;
    if (ol.extent.isEmpty(view)) return { chunks, tiles };
    const z = grid.getZForResolution(this.view.getResolution(), source.zDirection || 0);
    const resolution = grid.getResolution(z);
    const seen = new Set();
    grid.forEachTileCoord(view, z, (coord) => {
      const wrapped = source.getTileCoordForTileUrlFunction(coord, source.getProjection());
      const url = wrapped && urlOf(wrapped);
      // A view wider than the sky shows a tile twice: count its values once.
      if (!url || seen.has(url)) return;
      seen.add(url);
      const tile = tileAt(this.tileValues, urlOf, wrapped);
      if (!tile) return;
      tiles += 1;
      const [left, , , top] = grid.getTileCoordExtent(coord);
      const col0 = Math.max(0, Math.ceil((view[0] - left) / resolution - 0.5));
      const col1 = Math.min(tile.cols - 1, Math.floor((view[2] - left) / resolution - 0.5));
      const row0 = Math.max(0, Math.ceil((top - view[3]) / resolution - 0.5));
      const row1 = Math.min(tile.rows - 1, Math.floor((top - view[1]) / resolution - 0.5));
      for (let row = row0; row <= row1 && col0 <= col1; row += 1) {
        chunks.push(tile.values.subarray(row * tile.cols + col0, row * tile.cols + col1 + 1));
      }
    });
    return { chunks, tiles };
  }

  makeTileLayer(layer, colour, flip) {
    if (this.gl) return this.makeDataTileLayer(layer, colour, flip);
    const source = new ol.source.TileImage({
      projection: "EPSG:4326",
      tileGrid: tileGridFor(layer, flip),
      tileUrlFunction: (coord) => this.tileUrl(layer, colour, flip, coord),
      tileLoadFunction: (tile, src) => this.loadTile(tile, src),
      // Astronomers want to see the pixels, not a blur, when zoomed in.
      interpolate: false,
      // Past the grid's x range the tiles of the other end (SPEC section 5).
      wrapX: true,
      transition: 0,
    });
    source.setKey(JSON.stringify([layerPath(layer), layerQuery(layer), colourParams(colour, flip)]));
    source.on("tileloadstart", () => this.tileLoading(1));
    source.on(["tileloadend", "tileloaderror"], () => this.tileLoading(-1));
    return new ol.layer.Tile({ source, zIndex: 0, preload: 1, cacheSize: this.tileCacheSize(layer) });
  }

  tileCacheSize(layer) {
    const { width, height } = window.screen;
    return tileCacheSize(layer.tile_size, width, height, window.devicePixelRatio || 1);
  }

  // Tiles requested and not yet answered, for the loading indicator.
  tileLoading(change) {
    this.pendingTiles = Math.max(0, this.pendingTiles + change);
    this.dispatchEvent(new CustomEvent("loading", { detail: { pending: this.pendingTiles } }));
  }

  // Show `layer`. The previous layer's tiles stay on screen until the new
  // ones have arrived, so switching never flashes an empty map.
  setLayer(layer, colour, { view } = {}) {
    const previous = this.tileLayer;
    const sameGrid =
      this.layer &&
      this.layer.tile_size === layer.tile_size &&
      this.layer.number_of_levels === layer.number_of_levels &&
      this.layer.pixel_offset_ra_deg === layer.pixel_offset_ra_deg &&
      this.layer.pixel_offset_dec_deg === layer.pixel_offset_dec_deg;
    this.layer = layer;
    this.colour = { ...colour };
    if (!this.sharedView && (!sameGrid || view)) {
      const old = this.view;
      const resolution = old.getResolution();
      const newView = new ol.View({
        projection: "EPSG:4326",
        resolutions: viewResolutions(layer),
        center: old.getCenter() || [0, 0],
        constrainResolution: true,
        extent: VIEW_EXTENT,
        constrainOnlyCenter: true,
        enableRotation: false,
        smoothExtentConstraint: true,
      });
      this.map.setView(newView);
      if (view && view.zoom !== undefined) {
        newView.setCenter([raToX(view.raDeg, this.flip), view.decDeg]);
        newView.setZoom(view.zoom + ZOOM_OFFSET);
      } else if (view && view.fit) {
        this.fitLayer(layer);
      } else if (resolution) {
        newView.setResolution(newView.getConstrainedResolution(resolution));
      }
    }
    this.tileLayer = this.makeTileLayer(layer, this.colour, this.flip);
    this.map.getLayers().insertAt(0, this.tileLayer);
    if (this.gl) this.recolour();
    this.dispatchEvent(new Event("tilelayer"));
    if (previous) {
      previous.setZIndex(-1);
      this.map.once("rendercomplete", () => this.map.removeLayer(previous));
    }
  }

  // New colour settings: the same source under a new key, which makes
  // OpenLayers keep drawing the old tiles until their replacements load.
  setColour(colour) {
    this.colour = { ...colour };
    if (!this.tileLayer) return;
    if (this.gl) {
      this.recolour();
      return;
    }
    const layer = this.layer;
    const flip = this.flip;
    const snapshot = this.colour;
    this.tileLayer
      .getSource()
      .setTileUrlFunction(
        (coord) => this.tileUrl(layer, snapshot, flip, coord),
        JSON.stringify([layerPath(layer), layerQuery(layer), colourParams(snapshot, flip)]),
      );
  }

  // Another layer over the main one (compare.js): its own tiles and colour
  // on its own grid, in the same view, above the main layer (z 0) and below
  // the graticule and overlays. Built for the current flip (layer "flip").
  addSecondaryLayer(layer, colour) {
    const tileLayer = this.makeTileLayer(layer, colour, this.flip);
    tileLayer.setZIndex(1);
    tileLayer.set("flip", this.flip);
    this.map.addLayer(tileLayer);
    if (this.gl) this.recolourSecondary(tileLayer, layer, colour);
    return tileLayer;
  }

  // Colour a secondary layer: uniforms or a palette with WebGL, new tile URLs with PNG.
  async recolourSecondary(tileLayer, layer, colour) {
    const flip = tileLayer.get("flip");
    if (!this.gl) {
      const key = JSON.stringify([layer.layer_id, colourParams(colour, flip)]);
      if (tileLayer.getSource().getKey() === key) return;
      tileLayer.getSource().setTileUrlFunction((coord) => this.tileUrl(layer, colour, flip, coord), key);
      return;
    }
    try {
      applyColour(tileLayer, colour, await loadColourMap(colour.cmap));
    } catch (error) {
      this.dispatchEvent(new CustomEvent("tileerror", { detail: error }));
    }
  }

  removeSecondaryLayer(tileLayer) {
    this.map.removeLayer(tileLayer);
  }

  // Mirror the sky: the same RA/Dec stays in the centre of the screen.
  setFlip(flip) {
    if (flip === this.flip) return;
    const centre = this.view.getCenter();
    const ra = centre ? xToRa(centre[0], this.flip) : 0;
    this.flip = flip;
    // Mirror about x = 0 so the world copy the user is in stays next to the others.
    if (centre && !this.sharedView) this.view.setCenter([raToXNear(ra, flip, -centre[0]), centre[1]]);
    if (this.tileLayer) {
      // Old tiles would sit at mirrored positions: replace them outright.
      this.map.removeLayer(this.tileLayer);
      this.tileLayer = this.makeTileLayer(this.layer, this.colour, flip);
      this.map.getLayers().insertAt(0, this.tileLayer);
      if (this.gl) this.recolour();
      this.dispatchEvent(new Event("tilelayer"));
    }
    this.rebuildGraticule();
    this.dispatchEvent(new Event("flipchange"));
  }

  setGraticuleVisible(visible) {
    this.graticuleVisible = visible;
    this.graticule.setVisible(visible);
  }

  rebuildGraticule() {
    if (this.graticule) this.map.removeLayer(this.graticule);
    const flip = this.flip;
    const labelText = (text) =>
      new ol.style.Text({
        font: "11px system-ui, sans-serif",
        fill: new ol.style.Fill({ color: "rgba(230, 236, 242, 0.95)" }),
        stroke: new ol.style.Stroke({ color: "rgba(10, 12, 16, 0.9)", width: 3 }),
        ...text,
      });
    this.graticule = new ol.layer.Graticule({
      zIndex: 5,
      visible: this.graticuleVisible,
      strokeStyle: new ol.style.Stroke({ color: "rgba(200, 215, 235, 0.28)", width: 1, lineDash: [3, 4] }),
      showLabels: true,
      wrapX: true,
      targetSize: 110,
      lonLabelPosition: 0.015,
      latLabelPosition: 0.985,
      // Lines sit at multiples of the interval in x; every interval divides
      // 180, so with flip (RA = 180 - x) they are at round RAs too.
      lonLabelFormatter: (x) => `RA ${labelDegrees(xToRa(x, flip))}`,
      latLabelFormatter: (dec) => labelDegrees(dec),
      lonLabelStyle: labelText({ textBaseline: "bottom" }),
      latLabelStyle: labelText({ textAlign: "end" }),
    });
    this.map.addLayer(this.graticule);
  }

  describeExtent(layer) {
    const dec = `Dec ${formatDeg(layer.bounding_bottom, 1)}\u00b0\u2026${formatDeg(layer.bounding_top, 1)}\u00b0`;
    if (layer.bounding_right - layer.bounding_left >= 359.999) return `all RA, ${dec}`;
    const [left, right] = [layer.bounding_left, layer.bounding_right].map((v) => formatDeg(wrap360(v), 1));
    return `RA ${left}\u00b0\u2026${right}\u00b0, ${dec}`;
  }
}
