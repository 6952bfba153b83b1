// Galactic <-> equatorial (ICRS) coordinates, pure: no DOM, tested with node.
//
// The Galactic frame by its J2000 constants (the IAU 1958 definition
// precessed to J2000: Hipparcos catalogue vol. 1, section 1.5.3): the north
// Galactic pole at RA 192.85948, Dec 27.12825 and the north celestial pole
// at Galactic longitude 122.93192. Against astropy 8.0 (which derives the
// frame from FK4 B1950) positions agree within 0.03 arcsec: far finer than a
// go-to needs (frontend/tests/galactic.test.js).

const RAD = Math.PI / 180;
export const NGP_RA_DEG = 192.85948;
export const NGP_DEC_DEG = 27.12825;
export const NCP_L_DEG = 122.93192;

const SIN_DEC_G = Math.sin(NGP_DEC_DEG * RAD);
const COS_DEC_G = Math.cos(NGP_DEC_DEG * RAD);

function wrap360(deg) {
  const r = deg % 360;
  return r < 0 ? r + 360 : r;
}

function clampedAsin(x) {
  return Math.asin(Math.max(-1, Math.min(1, x)));
}

export function galacticToEquatorial(lDeg, bDeg) {
  const b = bDeg * RAD;
  const dl = (NCP_L_DEG - lDeg) * RAD;
  const sinDec = SIN_DEC_G * Math.sin(b) + COS_DEC_G * Math.cos(b) * Math.cos(dl);
  const dRa = Math.atan2(
    Math.cos(b) * Math.sin(dl),
    Math.sin(b) * COS_DEC_G - Math.cos(b) * SIN_DEC_G * Math.cos(dl),
  );
  return { raDeg: wrap360(NGP_RA_DEG + dRa / RAD), decDeg: clampedAsin(sinDec) / RAD };
}

export function equatorialToGalactic(raDeg, decDeg) {
  const dec = decDeg * RAD;
  const dRa = (raDeg - NGP_RA_DEG) * RAD;
  const sinB = SIN_DEC_G * Math.sin(dec) + COS_DEC_G * Math.cos(dec) * Math.cos(dRa);
  const dl = Math.atan2(
    Math.cos(dec) * Math.sin(dRa),
    Math.sin(dec) * COS_DEC_G - Math.cos(dec) * SIN_DEC_G * Math.cos(dRa),
  );
  return { lDeg: wrap360(NCP_L_DEG - dl / RAD), bDeg: clampedAsin(sinB) / RAD };
}
