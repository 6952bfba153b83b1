// Where a layer's tile pixels are on the sky, and the view's x axis beyond
// one world. Pure functions (no OpenLayers), tested with `node --test`.
//
// The tile grid's deepest-level pixels are not always the map's pixels'
// footprints: on a pixell patch map (pixel centres on multiples of the pixel
// size) the grid's pixel edges fall on the map's pixel centres, so every
// tile pixel shows a map pixel whose centre is half a pixel east and north of
// its own. The API says by how much (`pixel_offset_ra_deg`,
// `pixel_offset_dec_deg`, in the unflipped frame); drawing every tile shifted
// by it puts each map pixel on its own footprint, at every level (a coarse
// pixel is the mean of a block of native ones, so it moves with them).

import { wrap360 } from "./sky.js";

export const WORLD_WIDTH_DEG = 360;

// The shift of the tile grid in view coordinates: with flip the view's x is
// 180 - RA, so an eastward (RA) shift moves tiles to the left.
export function tileShift(layer, flip) {
  const raDeg = layer.pixel_offset_ra_deg || 0;
  const decDeg = layer.pixel_offset_dec_deg || 0;
  return [flip ? -raDeg : raDeg, decDeg];
}

// Origin (top left) and extent of the shifted tile grid in view coordinates.
export function tileGridPlacement(layer, flip) {
  const [dx, dy] = tileShift(layer, flip);
  return {
    origin: [-180 + dx, 90 + dy],
    extent: [-180 + dx, -90 + dy, 180 + dx, 90 + dy],
  };
}

// The view's x axis repeats every 360 degrees (the tiles wrap across the RA
// seam); the world copy from -180 to 180 is the canonical one.
export function wrapX(x) {
  return wrap360(x + 180) - 180;
}

// Pixel size of the tile grid's deepest level, degrees.
export function gridPixelDeg(layer) {
  return 180 / (layer.tile_size * 2 ** (layer.number_of_levels - 1));
}

// "column,row" of the map pixel (as drawn) under a sky position: the same
// key anywhere inside one drawn pixel, so the readout changes exactly where
// the colour does, whichever way the cursor comes.
export function drawnPixelKey(layer, raDeg, decDeg) {
  const step = gridPixelDeg(layer);
  const column = Math.floor(wrap360(raDeg + 180 - (layer.pixel_offset_ra_deg || 0)) / step);
  const row = Math.floor((decDeg + 90 - (layer.pixel_offset_dec_deg || 0)) / step);
  return `${column},${row}`;
}

// The x range a layer's bounding box covers, in one piece even across the
// seam of the current orientation (a deep field at RA -20..40 with flip runs
// from x = 140 to 200). Bounds are in the unflipped frame, left < right.
export function layerXRange(layer, flip) {
  const left = layer.bounding_left;
  const right = layer.bounding_right;
  const width = right - left;
  if (width >= 359.999) return [-180, 180];
  const start = flip ? 180 - wrap360(right) : wrapX(left);
  return [start, start + width];
}
