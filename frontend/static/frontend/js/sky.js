// Sky coordinates for the map view.
//
// The map view is plain EPSG:4326 over the API's tile grid: x runs from
// -180 to 180 and y is Dec. How x relates to RA depends on the orientation
// the tiles are requested in (SPEC section 5):
//   flip = false: x = RA, with RA 180..360 drawn as -180..0 (RA grows to the right);
//   flip = true:  x = 180 - RA for RA in 0..360 (RA 360 at the left edge, 0 at
//                 the right: the astronomical orientation). This is exactly
//                 where the server's flip remapping puts each mirrored tile.
// Everything drawn on the map (markers, boxes, circles, graticule labels,
// the cursor readout) goes through raToX / xToRa, so they always agree with
// the image.

import { galacticToEquatorial } from "./galactic.js";

export function wrap360(deg) {
  const r = deg % 360;
  return r < 0 ? r + 360 : r;
}

export function wrap180(deg) {
  const r = wrap360(deg);
  return r >= 180 ? r - 360 : r;
}

export function raToX(raDeg, flip) {
  const ra = wrap360(raDeg);
  return flip ? 180 - ra : ra >= 180 ? ra - 360 : ra;
}

export function xToRa(x, flip) {
  return wrap360(flip ? 180 - x : x);
}

// View x of `raDeg` placed next to `nearX` (never across the seam from it),
// so shapes that straddle the edge of the sky stay in one piece.
export function raToXNear(raDeg, flip, nearX) {
  const sign = flip ? -1 : 1;
  const nearRa = xToRa(nearX, flip);
  return nearX + sign * wrap180(raDeg - nearRa);
}

function pad(value, width) {
  return String(value).padStart(width, "0");
}

// Sexagesimal parts computed in whole units of the last digit, so rounding
// never produces "60" seconds.
function splitSexagesimal(value, perUnit, decimals) {
  const scale = 10 ** decimals;
  const units = Math.round(Math.abs(value) * perUnit * scale);
  const perMinute = 60 * scale;
  const perWhole = 3600 * scale;
  const whole = Math.floor(units / perWhole);
  const minutes = Math.floor((units % perWhole) / perMinute);
  const secondsUnits = units % perMinute;
  const seconds = (secondsUnits / scale).toFixed(decimals);
  return { whole, minutes, seconds: seconds.padStart(decimals ? 3 + decimals : 2, "0") };
}

export function formatRaHms(raDeg, decimals = 2) {
  const { whole, minutes, seconds } = splitSexagesimal(wrap360(raDeg) / 15, 3600, decimals);
  return `${pad(whole % 24, 2)}:${pad(minutes, 2)}:${seconds}`;
}

export function formatDecDms(decDeg, decimals = 1) {
  const { whole, minutes, seconds } = splitSexagesimal(decDeg, 3600, decimals);
  const sign = decDeg < 0 && (whole || minutes || Number(seconds)) ? "\u2212" : "+";
  return `${sign}${pad(whole, 2)}:${pad(minutes, 2)}:${seconds}`;
}

export function formatDeg(value, decimals = 4) {
  return value.toFixed(decimals).replace("-", "\u2212");
}

const SEXAGESIMAL_RA = /[:hms]/i;
const SEXAGESIMAL_DEC = /[:dm'"\u00b0\u2032\u2033]/i;

function numbersIn(text) {
  return text
    .replace(/[\u2212\u2013]/g, "-")
    .split(/[\s:hdms'"\u00b0\u2032\u2033]+/i)
    .filter((t) => t !== "");
}

function parseNumber(token, what) {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token)) {
    throw new Error(`${what}: "${token}" is not a number`);
  }
  return Number(token);
}

function sexagesimalValue(parts, what) {
  if (parts.length === 0 || parts.length > 3) {
    throw new Error(`${what}: expected 1 to 3 numbers, got ${parts.length}`);
  }
  const negative = parts[0].startsWith("-");
  const numbers = parts.map((p, i) => parseNumber(i === 0 ? p.replace(/^[+-]/, "") : p, what));
  if (numbers.slice(1).some((n) => n < 0 || n >= 60)) {
    throw new Error(`${what}: minutes and seconds must be between 0 and 60`);
  }
  const value = numbers[0] + (numbers[1] || 0) / 60 + (numbers[2] || 0) / 3600;
  return negative ? -value : value;
}

// Split "RA Dec" into its two halves: at a comma, else by counting numbers
// (2: degrees, 4: h m / d m, 6: h m s / d m s).
function splitPosition(text) {
  if (text.includes(",")) {
    const [ra, dec, ...rest] = text.split(",");
    if (rest.length) throw new Error("use one comma, between RA and Dec");
    return [ra.trim(), dec.trim()];
  }
  const tokens = text.trim().split(/\s+/);
  if (tokens.length === 2) return tokens;
  if (tokens.length === 4 || tokens.length === 6) {
    const half = tokens.length / 2;
    return [tokens.slice(0, half).join(" "), tokens.slice(half).join(" ")];
  }
  throw new Error("give RA and Dec, e.g. 150.1 -2.2 or 10:00:24 -02:12:00");
}

// A position typed by a person: degrees ("150.1 -2.2", "150.1, -2.2") or
// sexagesimal with RA in hours ("10:00:24.5 -02:12:00", "10h00m24.5s -2d12m").
export function parsePosition(text) {
  const [raText, decText] = splitPosition(String(text).trim());
  const raParts = numbersIn(raText);
  const decParts = numbersIn(decText);
  const raDeg =
    SEXAGESIMAL_RA.test(raText) || raParts.length > 1
      ? 15 * sexagesimalValue(raParts, "RA")
      : parseNumber(raParts[0] ?? "", "RA");
  const decDeg =
    SEXAGESIMAL_DEC.test(decText.replace(/^[+-]/, "")) || decParts.length > 1
      ? sexagesimalValue(decParts, "Dec")
      : parseNumber(decParts[0] ?? "", "Dec");
  if (!Number.isFinite(raDeg) || raDeg < -360 || raDeg > 360) {
    throw new Error("RA must be between 0 and 360 degrees (0 and 24 hours)");
  }
  if (!Number.isFinite(decDeg) || decDeg < -90 || decDeg > 90) {
    throw new Error("Dec must be between -90 and +90 degrees");
  }
  return { raDeg: wrap360(raDeg), decDeg };
}

// Galactic "l b" in degrees, marked by a word before or after the numbers:
// "G 121.17 -21.57", "gal 121.17, -21.57", "121.17 -21.57 gal",
// "121.17 -21.57 galactic". The word is separated by a space, so names
// such as "G1" or "GAL-1" stay names.
const GALACTIC_PREFIX = /^(?:g|gal|galactic)\s+(.*)$/i;
const GALACTIC_SUFFIX = /^(.*?)\s+(?:g|gal|galactic)$/i;

function galacticNumbers(text) {
  const match = GALACTIC_PREFIX.exec(text) || GALACTIC_SUFFIX.exec(text);
  return match ? match[1].trim() : null;
}

function parseGalactic(text) {
  const parts = text.replace(/[\u2212\u2013]/g, "-").split(/\s*,\s*|\s+/).filter((t) => t !== "");
  if (parts.length !== 2) throw new Error("give Galactic l and b in degrees, e.g. G 121.17 -21.57");
  const lDeg = parseNumber(parts[0], "l");
  const bDeg = parseNumber(parts[1], "b");
  if (lDeg < -360 || lDeg > 360) throw new Error("l must be between 0 and 360 degrees");
  if (bDeg < -90 || bDeg > 90) throw new Error("b must be between -90 and +90 degrees");
  return { lDeg: wrap360(lDeg), bDeg };
}

// What the go-to box takes as a position: equatorial (parsePosition) or
// Galactic with its mark. Galactic answers carry lDeg/bDeg as typed.
export function parseGotoPosition(text) {
  const trimmed = String(text).trim();
  const galactic = galacticNumbers(trimmed);
  if (galactic === null) return parsePosition(trimmed);
  const { lDeg, bDeg } = parseGalactic(galactic);
  return { ...galacticToEquatorial(lDeg, bDeg), lDeg, bDeg };
}

// Text that failed as a position is looked up as a name when it has a
// letter ("M31", "3C 273", "NGC 224"); "400 7" stays a bad position.
export function mayBeName(text) {
  return /\p{L}/u.test(String(text));
}

const RAD = Math.PI / 180;

export function angularDistanceDeg(ra1Deg, dec1Deg, ra2Deg, dec2Deg) {
  const dDec = (dec2Deg - dec1Deg) * RAD;
  const dRa = (ra2Deg - ra1Deg) * RAD;
  const h =
    Math.sin(dDec / 2) ** 2 +
    Math.cos(dec1Deg * RAD) * Math.cos(dec2Deg * RAD) * Math.sin(dRa / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(h)))) / RAD;
}

// The point `distanceDeg` away from (ra, dec) along `bearingRad`
// (0 = north, pi/2 = east, i.e. increasing RA).
export function offsetPoint(raDeg, decDeg, bearingRad, distanceDeg) {
  const d = distanceDeg * RAD;
  const dec0 = decDeg * RAD;
  const sinDec = Math.sin(dec0) * Math.cos(d) + Math.cos(dec0) * Math.sin(d) * Math.cos(bearingRad);
  const dec = Math.asin(Math.max(-1, Math.min(1, sinDec)));
  const dRa = Math.atan2(
    Math.sin(bearingRad) * Math.sin(d) * Math.cos(dec0),
    Math.cos(d) - Math.sin(dec0) * sinDec,
  );
  return [raDeg + dRa / RAD, dec / RAD];
}

// A circle on the sphere as a ring of view coordinates (closed).
export function skyCircleRing(raDeg, decDeg, radiusDeg, flip, points = 96) {
  const centreX = raToX(raDeg, flip);
  const ring = [];
  for (let i = 0; i <= points; i += 1) {
    const [ra, dec] = offsetPoint(raDeg, decDeg, (2 * Math.PI * i) / points, radiusDeg);
    ring.push([raToXNear(ra, flip, centreX), dec]);
  }
  return ring;
}

export function formatNumber(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "\u2014";
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  const text =
    magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)
      ? value.toExponential(digits - 1)
      : Number(value.toPrecision(digits)).toString();
  return text.replace("-", "\u2212");
}
