// Just enough FITS to read the value of one pixel out of a small cut-out:
// header cards, the first image HDU, big-endian data, BSCALE/BZERO/BLANK,
// and the linear CAR WCS the API writes.

const BLOCK = 2880;
const CARD = 80;

function parseValue(text) {
  const trimmed = text.trim();
  if (trimmed.startsWith("'")) {
    const end = trimmed.indexOf("'", 1);
    return trimmed.slice(1, end < 0 ? undefined : end).replace(/''/g, "'").trimEnd();
  }
  const value = trimmed.split("/")[0].trim();
  if (value === "T") return true;
  if (value === "F") return false;
  const number = Number(value.replace(/D/i, "E"));
  return Number.isNaN(number) ? value : number;
}

function readHeader(bytes, start) {
  const header = {};
  let offset = start;
  for (;;) {
    if (offset + BLOCK > bytes.length) throw new Error("truncated FITS header");
    for (let i = 0; i < BLOCK; i += CARD) {
      const card = String.fromCharCode(...bytes.subarray(offset + i, offset + i + CARD));
      const key = card.slice(0, 8).trim();
      if (key === "END") return { header, dataStart: offset + BLOCK };
      if (card.slice(8, 10) === "= ") header[key] = parseValue(card.slice(10));
    }
    offset += BLOCK;
  }
}

const READERS = {
  8: (view, at) => view.getUint8(at),
  16: (view, at) => view.getInt16(at, false),
  32: (view, at) => view.getInt32(at, false),
  64: (view, at) => Number(view.getBigInt64(at, false)),
  "-32": (view, at) => view.getFloat32(at, false),
  "-64": (view, at) => view.getFloat64(at, false),
};

export class FitsImage {
  constructor(header, view, dataStart) {
    this.header = header;
    this.width = header.NAXIS1;
    this.height = header.NAXIS2;
    this.view = view;
    this.dataStart = dataStart;
    this.read = READERS[String(header.BITPIX)];
    if (!this.read) throw new Error(`unsupported BITPIX ${header.BITPIX}`);
  }

  // Value at 0-based column/row (row 0 is the first stored row, the southernmost).
  pixel(column, row) {
    if (column < 0 || row < 0 || column >= this.width || row >= this.height) return null;
    const bytes = Math.abs(this.header.BITPIX) / 8;
    const raw = this.read(this.view, this.dataStart + (row * this.width + column) * bytes);
    if (this.header.BITPIX > 0 && this.header.BLANK !== undefined && raw === this.header.BLANK) {
      return Number.NaN;
    }
    return raw * (this.header.BSCALE ?? 1) + (this.header.BZERO ?? 0);
  }

  // 0-based pixel coordinates of a sky position under a linear CAR WCS,
  // choosing the RA turn that lands nearest the array.
  pixelOf(raDeg, decDeg) {
    const h = this.header;
    const centreColumn = (this.width - 1) / 2;
    const centreRa = h.CRVAL1 + (centreColumn + 1 - h.CRPIX1) * h.CDELT1;
    const turns = Math.round((centreRa - raDeg) / 360);
    const ra = raDeg + 360 * turns;
    return {
      column: h.CRPIX1 - 1 + (ra - h.CRVAL1) / h.CDELT1,
      row: h.CRPIX2 - 1 + (decDeg - h.CRVAL2) / h.CDELT2,
    };
  }

  valueAt(raDeg, decDeg) {
    const { column, row } = this.pixelOf(raDeg, decDeg);
    return this.pixel(Math.round(column), Math.round(row));
  }
}

export function readFitsImage(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  let offset = 0;
  while (offset < bytes.length) {
    const { header, dataStart } = readHeader(bytes, offset);
    const axes = [];
    for (let i = 1; i <= (header.NAXIS || 0); i += 1) axes.push(header[`NAXIS${i}`]);
    if (axes.length >= 2 && axes.every((n) => n > 0)) return new FitsImage(header, view, dataStart);
    const size = axes.length ? axes.reduce((a, b) => a * b, 1) * (Math.abs(header.BITPIX) / 8) : 0;
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new Error("no image in the FITS file");
}
