import assert from "node:assert/strict";
import { test } from "node:test";

import { equatorialToGalactic, galacticToEquatorial } from "../static/frontend/js/galactic.js";
import { mayBeName, parseGotoPosition } from "../static/frontend/js/sky.js";

// [l, b, ra, dec] in degrees, computed with astropy 8.0.2:
//   SkyCoord(l=l*u.deg, b=b*u.deg, frame="galactic").icrs
const ASTROPY_GALACTIC_TO_ICRS = [
  [121.17, -21.57, 10.679195463996095, 41.27191021927868],
  [0, 0, 266.4049882865447, -28.936177761791473],
  [0, 90, 192.85947789477606, 27.128252414968028],
  [180, -45, 49.272508158678285, 1.1284454202209895],
  [359.9, 0.1, 266.24787303171763, -28.969337337473323],
  [266.4, -28.9, 91.00906049918333, -57.826343059617216],
  [33.3, 70.0, 215.12577370123387, 25.495491513665574],
  [300, -89.5, 12.888343530924585, -27.62759496659891],
];
// [ra, dec, l, b]: SkyCoord(ra=ra*u.deg, dec=dec*u.deg).galactic (astropy 8.0.2).
const ASTROPY_ICRS_TO_GALACTIC = [
  [10.684708333333333, 41.268750000000004, 121.17432906422938, -21.573308798528036],
  [0, 0, 96.33728336969006, -60.188551946914465],
];
// The J2000 constants and astropy's FK4-derived frame differ by ~0.02 arcsec.
const TOLERANCE_ARCSEC = 0.1;

function separationArcsec(ra1, dec1, ra2, dec2) {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((dec2 - dec1) * rad) / 2) ** 2 +
    Math.cos(dec1 * rad) * Math.cos(dec2 * rad) * Math.sin(((ra2 - ra1) * rad) / 2) ** 2;
  return (2 * Math.asin(Math.sqrt(h))) / rad * 3600;
}

test("Galactic to ICRS agrees with astropy", () => {
  for (const [l, b, ra, dec] of ASTROPY_GALACTIC_TO_ICRS) {
    const { raDeg, decDeg } = galacticToEquatorial(l, b);
    assert.ok(raDeg >= 0 && raDeg < 360);
    const off = separationArcsec(raDeg, decDeg, ra, dec);
    assert.ok(off < TOLERANCE_ARCSEC, `l=${l} b=${b}: ${off} arcsec from astropy`);
  }
});

test("ICRS to Galactic agrees with astropy, and the round trip closes", () => {
  for (const [ra, dec, l, b] of ASTROPY_ICRS_TO_GALACTIC) {
    const { lDeg, bDeg } = equatorialToGalactic(ra, dec);
    assert.ok(separationArcsec(lDeg, bDeg, l, b) < TOLERANCE_ARCSEC, `ra=${ra} dec=${dec}`);
  }
  for (const [l, b] of ASTROPY_GALACTIC_TO_ICRS.filter(([, b]) => Math.abs(b) < 90)) {
    const { raDeg, decDeg } = galacticToEquatorial(l, b);
    const back = equatorialToGalactic(raDeg, decDeg);
    assert.ok(separationArcsec(back.lDeg, back.bDeg, l, b) < 1e-6, `l=${l} b=${b}`);
  }
});

test("the go-to box takes Galactic with a mark before or after", () => {
  const m31 = galacticToEquatorial(121.17, -21.57);
  for (const text of [
    "G 121.17 -21.57",
    "g 121.17, -21.57",
    "gal 121.17 \u221221.57",
    "  Galactic   121.17 -21.57 ",
    "121.17 -21.57 gal",
    "121.17,-21.57 G",
  ]) {
    assert.deepEqual(parseGotoPosition(text), { ...m31, lDeg: 121.17, bDeg: -21.57 }, text);
  }
});

test("equatorial positions are unchanged", () => {
  assert.equal(parseGotoPosition("-90 0 galactic").lDeg, 270);
  assert.deepEqual(parseGotoPosition("150.1 -2.2"), { raDeg: 150.1, decDeg: -2.2 });
  assert.deepEqual(parseGotoPosition("04:00:00 +05:30:00"), { raDeg: 60, decDeg: 5.5 });
});

test("bad Galactic positions say what is wrong", () => {
  assert.throws(() => parseGotoPosition("G 121.17"), /give Galactic l and b in degrees/);
  assert.throws(() => parseGotoPosition("G 1 2 3"), /give Galactic l and b/);
  assert.throws(() => parseGotoPosition("G 400 0"), /l must be between 0 and 360/);
  assert.throws(() => parseGotoPosition("10 95 gal"), /b must be between -90 and \+90/);
  assert.throws(() => parseGotoPosition("G ten 0"), /l: "ten" is not a number/);
});

test("what is not a position is a name when it has a letter", () => {
  for (const name of ["M31", "NGC 224", "3C 273", "G1", "GAL-1", "PSZ2 G006.49+50.56", "\u03c9 Cen"]) {
    assert.throws(() => parseGotoPosition(name), Error, name);
    assert.equal(mayBeName(name), true, name);
  }
  for (const text of ["400 7", "1 2 3", "-", ""]) assert.equal(mayBeName(text), false, text);
});
