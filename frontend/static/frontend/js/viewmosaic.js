// One layer's values over the current view, assembled from its data tiles
// at the level on screen, for the overlays computed in the browser
// (contours, polarisation vectors). The tiles are those the map draws (or
// the same tile coordinates of another layer of the same grid), so an
// overlay follows exactly the pixels the user sees, block means included at
// coarse levels, without another request per zoom.

import { mosaic } from "./contours.js";

const ol = window.ol;
const SKY_EXTENT = [-Infinity, -90, Infinity, 90];

/**
 * The tile-pixel grid under the view: {z, res (degrees per tile pixel),
 * viewRes (degrees per screen pixel), x0, y0 (view coordinates of the top
 * left corner of the mosaic's first pixel), rows, cols, extent}, or null
 * before there is a map. Columns and rows start on multiples of `align`
 * counted from the tile grid's origin, so bins of `align` pixels stay on
 * the same sky pixels while the view pans. The grid is the map's own,
 * shifted by the layer's pixel offset (placement.js), so the mosaic's
 * pixels sit on the drawn ones in either orientation.
 */
export function viewGrid(sky, align = 1) {
  const size = sky.map.getSize();
  const tileLayer = sky.tileLayer;
  if (!size || !tileLayer || !sky.layer || !size[0] || !size[1]) return null;
  const source = tileLayer.getSource();
  const grid = source.getTileGrid();
  const viewRes = sky.view.getResolution();
  if (!viewRes) return null;
  const extent = ol.extent.getIntersection(sky.view.calculateExtent(size), SKY_EXTENT);
  if (ol.extent.isEmpty(extent)) return null;
  const z = grid.getZForResolution(viewRes, source.zDirection || 0);
  const res = grid.getResolution(z);
  const origin = grid.getOrigin(z);
  const col0 = Math.floor(Math.floor((extent[0] - origin[0]) / res) / align) * align;
  const row0 = Math.floor(Math.floor((origin[1] - extent[3]) / res) / align) * align;
  const col1 = Math.ceil((extent[2] - origin[0]) / res);
  const row1 = Math.ceil((origin[1] - extent[1]) / res);
  return {
    z,
    res,
    viewRes,
    x0: origin[0] + col0 * res,
    y0: origin[1] - row0 * res,
    rows: Math.max(1, row1 - row0),
    cols: Math.max(1, col1 - col0),
    extent,
    grid,
    source,
  };
}

/**
 * The mosaic of `layerId` over `g` (viewGrid): {values, rows, cols,
 * waiting} with NaN where there is no data, and `waiting` the tiles not
 * there yet. Tiles of the layer on screen come from the map's own loads
 * (no second request); those of other layers, or ones the decoded-tile
 * cache dropped, are fetched once each (SkyMap.loadPlaneTile, which fires
 * "planetile" when one lands).
 */
export function layerMosaic(sky, layerId, g) {
  const { grid, source, z, res } = g;
  const projection = source.getProjection();
  // The shown layer's tiles carry its file version (v=) in their URLs: look
  // them up under the same URLs the map loaded them by.
  const shown = sky.layer && layerId === sky.layer.layer_id ? sky.layer : null;
  const drawnByMap = sky.gl && shown !== null;
  const tiles = [];
  let waiting = 0;
  grid.forEachTileCoord(g.extent, z, (coord) => {
    const wrapped = source.getTileCoordForTileUrlFunction(coord, projection);
    if (!wrapped) return;
    const url = sky.dataTileUrl(shown || { layer_id: layerId }, sky.flip, wrapped);
    const tile = sky.tileValues.get(url);
    if (tile) {
      const tileExtent = grid.getTileCoordExtent(coord);
      tiles.push({
        values: tile.values,
        rows: tile.rows,
        cols: tile.cols,
        left: Math.round((tileExtent[0] - g.x0) / res),
        top: Math.round((g.y0 - tileExtent[3]) / res),
      });
      return;
    }
    const status = sky.tileStatus.get(url);
    if (status === "missing" || status === "failed") return;
    waiting += 1;
    // The map fetches its own layer's tiles; a tile it has ("ok") but our
    // cache dropped is fetched again (from the browser's HTTP cache).
    if ((drawnByMap && status !== "ok") || sky.planeRequests.has(url)) return;
    sky.loadPlaneTile(url);
  });
  return { ...mosaic({ rows: g.rows, cols: g.cols, tiles }), waiting };
}
