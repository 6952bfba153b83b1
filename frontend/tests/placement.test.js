import assert from "node:assert/strict";
import { test } from "node:test";

import {
  drawnPixelKey,
  layerXRange,
  tileGridPlacement,
  tileShift,
  wrapX,
} from "../static/frontend/js/placement.js";
import { raToX, xToRa } from "../static/frontend/js/sky.js";

// A 0.5 deg pixell patch map: grid pixel edges on map pixel centres, so the
// server reports the map pixel centres half a pixel east and north.
const PATCH = {
  tile_size: 360,
  number_of_levels: 1,
  pixel_offset_ra_deg: 0.25,
  pixel_offset_dec_deg: 0.25,
  bounding_left: -20,
  bounding_right: 40,
};

test("the tile grid moves east (right unflipped, left flipped) and north", () => {
  assert.deepEqual(tileShift(PATCH, false), [0.25, 0.25]);
  assert.deepEqual(tileShift(PATCH, true), [-0.25, 0.25]);
  assert.deepEqual(tileGridPlacement(PATCH, true).origin, [-180.25, 90.25]);
  assert.deepEqual(tileGridPlacement(PATCH, false).extent, [-179.75, -89.75, 180.25, 90.25]);
});

test("a layer without placement fields is not shifted", () => {
  assert.deepEqual(tileShift({ tile_size: 256, number_of_levels: 3 }, true), [-0, 0]);
});

test("the map pixel centred on RA 0, Dec 0 is drawn centred there in both orientations", () => {
  for (const flip of [false, true]) {
    const { origin } = tileGridPlacement(PATCH, flip);
    // Grid pixel 359 (flipped) / 360 (unflipped) from the origin holds it.
    const x0 = raToX(0, flip);
    const column = Math.floor((x0 - origin[0]) / 0.5);
    const centre = origin[0] + (column + 0.5) * 0.5;
    assert.ok(Math.abs(wrapX(centre) - wrapX(x0)) < 1e-9, `flip=${flip}: ${centre} vs ${x0}`);
    const row = Math.floor((origin[1] - 0) / 0.5);
    assert.equal(origin[1] - (row + 0.5) * 0.5, 0);
  }
});

test("wrapX folds every world onto -180..180 and keeps RA", () => {
  assert.equal(wrapX(-200), 160);
  assert.equal(wrapX(200), -160);
  assert.equal(wrapX(-180), -180);
  assert.equal(wrapX(180), -180);
  for (const flip of [false, true]) {
    for (const x of [-530, -200, -10, 170, 190, 545]) {
      assert.ok(Math.abs(xToRa(x, flip) - xToRa(wrapX(x), flip)) < 1e-9);
    }
  }
});

test("the readout key changes at the drawn pixel edges, not the grid's", () => {
  // Drawn pixel edges are at multiples of 0.5 plus 0.25 (centres on multiples of 0.5).
  assert.equal(drawnPixelKey(PATCH, 0.2, 0.2), drawnPixelKey(PATCH, -0.2, -0.2));
  assert.notEqual(drawnPixelKey(PATCH, 0.2, 0), drawnPixelKey(PATCH, 0.3, 0));
  assert.notEqual(drawnPixelKey(PATCH, 0, 0.2), drawnPixelKey(PATCH, 0, 0.3));
  assert.equal(drawnPixelKey(PATCH, 359.9, 0), drawnPixelKey(PATCH, 0.1, 0));
});

test("a map across RA 0 is one x range in both orientations", () => {
  assert.deepEqual(layerXRange(PATCH, false), [-20, 40]);
  assert.deepEqual(layerXRange(PATCH, true), [140, 200]);
  const across180 = { bounding_left: 150, bounding_right: 170 };
  assert.deepEqual(layerXRange(across180, true), [10, 30]);
  assert.deepEqual(layerXRange({ bounding_left: -180, bounding_right: 180 }, true), [-180, 180]);
});
