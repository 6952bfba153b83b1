"""Recognise ACT/SO map products in FITS files and build the config ``open`` and ``genconfig`` use.

Pure: headers come from ``maps.engine`` and catalogues from ``catalogs.readers``;
nothing here imports Django, so the result can be checked before any database
exists. Recognition looks at the file name's tokens, then the header
(``EXTNAME``, ``BUNIT``, the number of planes), in the order of ``PRODUCTS``.

Display ranges are written for micro-kelvin and converted to the map's own
unit (a map in K gets +-500e-6). When ``BUNIT`` is missing the unit is guessed
from the file name, else from a sample of pixel values, and the guess is
logged on ``maps.scanning``: telling uK from K is not always possible.

HEALPix files (binary tables with ``PIXTYPE = 'HEALPIX'``) give one layer per
column (``healpix`` provider): I/Q/U columns (``I_STOKES``, ``TEMPERATURE``,
``Q_POLARISATION`` ...) are the map's Stokes layers, ``HITS`` a hits map,
``*_COV`` columns covariances, others automatic contrast; units come from
``TUNITn``/``BUNIT``; a map in K or mK (Planck's ``K_CMB``) is shown in uK
(the provider's ``scale``: 1e6 for K, 1e12 for K^2). Planck
file names (``HFI_SkyMap_143_2048_R3.01_full.fits``) give the map
"Planck HFI R3.01 full" and the band "143 GHz".
"""

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from catalogs.readers import CatalogError
from catalogs.tables import SUFFIX_TYPES, file_type_for, is_catalogue_fits, read_catalogue
from maps.engine import (
    FitsError,
    FitsProvider,
    HealpixInfo,
    HealpixProvider,
    PlaneInfo,
    inspect_healpix,
    open_plane,
    scan_file,
)
from maps.engine.healpix import FRAME_NAMES, virtual_plane

log = logging.getLogger("maps.scanning")

AUTO = "auto"
MAX_ID_LENGTH = 200
# ACT/SO band names: f090, f150, f220 ...
_FREQUENCY_TOKEN = re.compile(r"^f\d{3}$", re.IGNORECASE)
# Planck Legacy Archive names: HFI_SkyMap_143_2048_R3.01_full.fits,
# LFI_SkyMap_030-BPassCorrected_1024_R3.00_full.fits.
_PLANCK_NAME = re.compile(
    r"^(?P<instrument>LFI|HFI)_SkyMap_(?P<frequency>\d{3})(?:-[A-Za-z0-9]+)?_(?P<nside>\d+)"
    r"_(?P<release>R\d+\.\d+)_(?P<split>.+)$",
    re.IGNORECASE,
)
_TOKEN_SPLIT = re.compile(r"[_\-.\s]+")
# BUNIT spellings of (milli/micro) kelvin, CMB or RJ, to an optional power.
_UNIT = re.compile(
    r"^(?P<inverse>1/)?(?P<prefix>u|mu|\u00b5|\u03bc|micro|m|milli)?(?P<kelvin>k|kelvin)"
    r"(?:_?(?:cmb|rj))?(?:\^|\*\*)?(?P<power>[+-]?\d)?$"
)
_MICROKELVIN_PER_UNIT = {"": 1e6, "m": 1e3, "milli": 1e3}
_UNIT_LABELS = {1e6: "K", 1e3: "mK", 1.0: "uK"}

# Pixel-value thresholds for guessing a missing BUNIT. A CMB map in uK has
# |values| of hundreds; in K, below 1e-2 even on bright sources.
GUESS_KELVIN_BELOW = 1.0
# Per-pixel inverse variance is ~1e-4..1e-1 uK^-2 for ACT/SO depths, 1e8.. in K^-2.
GUESS_INVERSE_KELVIN2_ABOVE = 1e3
SAMPLE_WINDOW_PIXELS = 256


@dataclass(frozen=True)
class Temperature:
    """A parsed temperature unit: ``label`` ("uK", "mK", "K") to ``power`` (1 or -2 ...)."""

    microkelvin_per_unit: float
    power: int

    @property
    def label(self) -> str:
        base = _UNIT_LABELS[self.microkelvin_per_unit]
        return base if self.power == 1 else f"{base}^{self.power}"

    def from_microkelvin(self, value: float) -> float:
        """``value`` uK (to this unit's power) expressed in this unit."""
        return value / self.microkelvin_per_unit**self.power


MICROKELVIN = Temperature(microkelvin_per_unit=1.0, power=1)
KELVIN = Temperature(microkelvin_per_unit=1e6, power=1)


def parse_temperature(text: str | None) -> Temperature | None:
    """``Temperature`` for spellings like ``uK``, ``muK``, ``microK``, ``K_CMB``, ``uK^-2``."""
    if not text:
        return None
    match = _UNIT.match(text.strip().lower().replace(" ", ""))
    if match is None:
        return None
    prefix = match["prefix"] or ""
    per_unit = _MICROKELVIN_PER_UNIT.get(prefix, 1.0)
    power = int(match["power"]) if match["power"] else 1
    if match["inverse"]:
        power = -power
    if power == 0:
        return None
    return Temperature(microkelvin_per_unit=per_unit, power=power)


@dataclass(frozen=True)
class PlaneLayer:
    """Display defaults of one plane: names and a range (``None`` = auto).

    For temperature products the range is in uK (to the product's power) and
    gets converted to the map's unit; for the others it is used as is.
    """

    slug: str
    name: str
    description: str
    quantity: str
    vmin: float | None
    vmax: float | None
    stokes: str = ""


@dataclass(frozen=True)
class Product:
    """A kind of map product and how its planes are shown."""

    kind: str
    name_tokens: frozenset[str]
    cmap: str
    temperature_power: int | None
    planes: tuple[PlaneLayer, ...]
    fixed_units: str = ""

    def plane(self, index: int | None, n_planes: int) -> PlaneLayer:
        if n_planes == 1:
            return self.planes[0]
        if n_planes == len(self.planes):
            return self.planes[index]
        base = self.planes[0]
        return PlaneLayer(
            slug=f"{self.kind}-{index}",
            name=f"{self.kind} plane {index}",
            description=f"{base.description}, plane {index}",
            quantity=base.quantity,
            vmin=None,
            vmax=None,
        )


def _iqu(kind: str, label: str, quantity: str, description: str) -> tuple[PlaneLayer, ...]:
    return tuple(
        PlaneLayer(
            slug=f"{stokes.lower()}-{kind}",
            name=f"{stokes} {label}",
            description=f"{stokes} {description}",
            quantity=quantity,
            vmin=None,
            vmax=None,
        )
        for stokes in "IQU"
    )


MAP = Product(
    kind="map",
    name_tokens=frozenset({"map", "iqu"}),
    cmap="RdBu_r",
    temperature_power=1,
    planes=(
        PlaneLayer("i", "I", "Intensity map", "T (I)", -500.0, 500.0, stokes="I"),
        PlaneLayer("q", "Q", "Q-polarization map", "T (Q)", -50.0, 50.0, stokes="Q"),
        PlaneLayer("u", "U", "U-polarization map", "T (U)", -50.0, 50.0, stokes="U"),
    ),
)
IVAR = Product(
    kind="ivar",
    name_tokens=frozenset({"ivar", "div", "invvar"}),
    cmap="viridis",
    temperature_power=-2,
    planes=(PlaneLayer("ivar", "IVar", "Inverse-variance map", "IVar", None, None),),
)
IVAR_IQU = Product(
    kind="ivar",
    name_tokens=IVAR.name_tokens,
    cmap="viridis",
    temperature_power=-2,
    planes=_iqu("ivar", "IVar", "IVar", "inverse-variance map"),
)
HITS = Product(
    kind="hits",
    name_tokens=frozenset({"hits", "hit", "nhits", "hitmap"}),
    cmap="viridis",
    temperature_power=None,
    planes=(PlaneLayer("hits", "Hits", "Hits map", "hits", 0.0, None),),
    fixed_units="hits",
)
MASK = Product(
    kind="mask",
    name_tokens=frozenset({"mask", "msk"}),
    cmap="gray",
    temperature_power=None,
    planes=(PlaneLayer("mask", "Mask", "Sky mask", "mask", 0.0, 1.0),),
)
WEIGHTS = Product(
    kind="weights",
    name_tokens=frozenset({"weight", "weights", "wts"}),
    cmap="viridis",
    temperature_power=None,
    planes=(PlaneLayer("weights", "Weights", "Weights map", "weights", None, None),),
)
WEIGHTS_IQU = Product(
    kind="weights",
    name_tokens=WEIGHTS.name_tokens,
    cmap="viridis",
    temperature_power=None,
    planes=_iqu("weights", "weights", "weights", "weights map"),
)
UNKNOWN = Product(
    kind="image",
    name_tokens=frozenset(),
    cmap="viridis",
    temperature_power=None,
    planes=(PlaneLayer("image", "Image", "Image", "", None, None),),
)
# Checked in this order: a file called "..._map_ivar.fits" is an ivar map.
PRODUCTS = (IVAR, HITS, MASK, WEIGHTS, MAP)


def tokens_of(text: str) -> list[str]:
    return [token for token in _TOKEN_SPLIT.split(text.lower()) if token]


def recognise(*, file_name: str, info: PlaneInfo) -> Product:
    """The product a plane belongs to, from the file name, then EXTNAME, BUNIT and plane count."""
    for text in (Path(file_name).name, info.extname or ""):
        tokens = set(tokens_of(text))
        for product in PRODUCTS:
            if tokens & product.name_tokens:
                return _with_planes(product, info.n_planes)
    bunit = (info.bunit or "").strip().lower()
    if bunit in HITS.name_tokens:
        return HITS
    temperature = parse_temperature(info.bunit)
    if temperature is not None and temperature.power < 0:
        return _with_planes(IVAR, info.n_planes)
    if info.n_planes == 3 or (temperature is not None and info.n_planes == 1):
        return MAP
    return UNKNOWN


def _with_planes(product: Product, n_planes: int) -> Product:
    if n_planes == 3 and product is IVAR:
        return IVAR_IQU
    if n_planes == 3 and product is WEIGHTS:
        return WEIGHTS_IQU
    return product


@dataclass(frozen=True)
class Display:
    units: str
    vmin: float | str
    vmax: float | str


def display_for(
    *,
    product: Product,
    layer: PlaneLayer,
    temperature: Temperature | None,
    bunit: str | None,
    auto_contrast: bool,
) -> Display:
    """Units and range of one layer, a uK range converted to the map's unit."""
    if product.temperature_power is None:
        units = bunit or product.fixed_units
        vmin, vmax = layer.vmin, layer.vmax
    elif temperature is None:
        # A BUNIT that is not a temperature (Jy/sr ...): the uK range means nothing.
        units = bunit or ""
        vmin = vmax = None
    else:
        units = temperature.label
        vmin, vmax = (
            None if value is None else _tidy(temperature.from_microkelvin(value))
            for value in (layer.vmin, layer.vmax)
        )
    if auto_contrast:
        vmin = vmax = None
    return Display(
        units=units, vmin=AUTO if vmin is None else vmin, vmax=AUTO if vmax is None else vmax
    )


def _tidy(value: float) -> float:
    """Round off binary noise from unit conversion (500 / 1e6 -> 0.0005 exactly as printed)."""
    return float(f"{value:.12g}")


def units_for(*, product: Product, info: PlaneInfo, file_name: str) -> Temperature | None:
    """The temperature unit of a map/ivar plane: BUNIT, else a logged guess."""
    if product.temperature_power is None:
        return None
    declared = parse_temperature(info.bunit)
    if declared is not None:
        if declared.power != product.temperature_power:
            log.warning(
                "%s: BUNIT %r is unusual for a %s map; using it as given",
                file_name,
                info.bunit,
                product.kind,
            )
        return declared
    if info.bunit:
        return None
    for token in tokens_of(Path(file_name).stem):
        named = parse_temperature(token)
        if named is not None:
            guess = Temperature(named.microkelvin_per_unit, product.temperature_power)
            log.warning(
                "%s: no BUNIT in HDU %d; assuming %s, a guess from the file name",
                file_name,
                info.hdu,
                guess.label,
            )
            return guess
    sample = _value_sample(info)
    base = MICROKELVIN
    how = "a guess: no finite pixels to look at"
    if sample.size:
        if product.temperature_power > 0:
            level = float(np.percentile(np.abs(sample), 99))
            base = KELVIN if level < GUESS_KELVIN_BELOW else MICROKELVIN
            how = f"a guess from the pixel values (99th percentile of |value| = {level:.3g})"
        else:
            positive = sample[sample > 0]
            level = float(np.median(positive)) if positive.size else 0.0
            base = KELVIN if level > GUESS_INVERSE_KELVIN2_ABOVE else MICROKELVIN
            how = f"a guess from the pixel values (median positive value = {level:.3g})"
    guess = Temperature(base.microkelvin_per_unit, product.temperature_power)
    log.warning("%s: no BUNIT in HDU %d; assuming %s, %s", file_name, info.hdu, guess.label, how)
    return guess


def _value_sample(info: PlaneInfo) -> np.ndarray:
    """Finite values from a few small windows spread over the plane (never the whole map)."""
    try:
        reader = open_plane(info.path, hdu=info.hdu, index=info.index)
        ny, nx = info.shape
        half = SAMPLE_WINDOW_PIXELS // 2
        pieces = []
        for fy, fx in ((0.5, 0.5), (0.25, 0.25), (0.25, 0.75), (0.75, 0.25), (0.75, 0.75)):
            cy, cx = int(ny * fy), int(nx * fx)
            y0, x0 = max(0, cy - half), max(0, cx - half)
            y1, x1 = min(ny, cy + half), min(nx, cx + half)
            pieces.append(reader.read(y0=y0, y1=y1, x0=x0, x1=x1).ravel())
    except FitsError as error:
        log.warning("%s: could not sample pixel values (%s)", info.path, error)
        return np.empty(0, dtype=np.float32)
    values = np.concatenate(pieces)
    return values[np.isfinite(values)]


def slug(text: str, *, fallback: str = "item") -> str:
    """A URL-safe id: lower case letters, digits, '-' and '_'; long ones end in a short hash."""
    cleaned = re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-_") or fallback
    if len(cleaned) > MAX_ID_LENGTH:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        cleaned = f"{cleaned[: MAX_ID_LENGTH - 9].rstrip('-_')}-{digest}"
    return cleaned


class _Ids:
    """Hands out ids unique within a config, suffixing -2, -3 ... on collisions."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self._used:
            n += 1
            candidate = f"{wanted[: MAX_ID_LENGTH - 1 - len(str(n))]}-{n}"
        self._used.add(candidate)
        return candidate


@dataclass(frozen=True)
class NameParts:
    """A file stem split into the map it belongs to, its band and its product words."""

    map_name: str
    frequency: str | None


def name_parts(file_name: str) -> NameParts:
    """Split a file name into its map and band: ``a_b_f090_map.fits`` -> map ``a_b``, band f090.

    The stem is split on underscores; the frequency tag and product words
    (map, ivar, hits ...) are dropped and what remains names the map, so a
    map and its ivar file land in the same map and band.
    """
    stem = Path(file_name).name
    for suffix in (".gz", ".fz", ".fits", ".fit", ".fts"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    planck = _PLANCK_NAME.match(stem)
    if planck is not None:
        return NameParts(
            map_name=f"Planck {planck['instrument'].upper()} {planck['release']} {planck['split']}",
            frequency=f"{planck['frequency']} GHz",
        )
    product_words = set().union(*(product.name_tokens for product in PRODUCTS))
    kept, frequency = [], None
    for part in stem.split("_"):
        if frequency is None and _FREQUENCY_TOKEN.match(part):
            frequency = part.lower()
        elif part.lower() not in product_words:
            kept.append(part)
    return NameParts(map_name="_".join(kept) or stem, frequency=frequency)


def is_catalogue_file(path: str | os.PathLike) -> bool:
    """A catalogue by suffix; a ``.fits`` file only when its first data HDU is a table."""
    file_type = file_type_for(path)
    if file_type == "fits":
        return is_catalogue_fits(path)
    return file_type is not None


def split_files(paths: list[str]) -> tuple[list[str], list[str]]:
    """FITS maps and catalogue files (by suffix, FITS by content), each in the order given."""
    catalogs = [p for p in paths if is_catalogue_file(p)]
    maps = [p for p in paths if p not in catalogs]
    return maps, catalogs


def config_for_files(
    fits_paths: Iterable[str | os.PathLike],
    catalog_paths: Iterable[str | os.PathLike] = (),
    *,
    auto_contrast: bool = False,
) -> tuple[dict, list[str]]:
    """The SPEC section 3 config that ``open`` builds for these files.

    One map group (named after the files' folder), one map per file-name
    prefix, one band per frequency tag, one layer per image plane. Files
    that cannot be used are skipped and reported in ``problems`` as
    ``"<path>: <reason>"``. Filenames in the config are absolute.
    ``auto_contrast`` sets every range to ``"auto"``.
    """
    fits_paths = [Path(os.path.abspath(p)) for p in fits_paths]
    catalog_paths = [Path(os.path.abspath(p)) for p in catalog_paths]
    problems: list[str] = []
    ids = _Ids()
    folder = _common_folder([*fits_paths, *catalog_paths])
    group_id = ids.take(slug(folder.name, fallback="files"))
    maps: dict[str, dict] = {}
    bands: dict[tuple[str, str], dict] = {}
    for path in fits_paths:
        try:
            columns = healpix_columns(path)
            planes = [] if columns else scan_file(path)
        except FitsError as error:
            problems.append(f"{path}: {error}")
            continue
        parts = name_parts(path.name)
        map_entry = maps.get(parts.map_name)
        if map_entry is None:
            map_entry = maps[parts.map_name] = {
                "map_id": ids.take(slug(f"{group_id}-{parts.map_name}")),
                "name": parts.map_name,
                "description": f"Maps from {folder}",
                "bands": [],
            }
        band_key = (parts.map_name, parts.frequency or "")
        band = bands.get(band_key)
        if band is None:
            band_name = parts.frequency or "all"
            band = bands[band_key] = {
                "band_id": ids.take(slug(f"{map_entry['map_id']}-{band_name}")),
                "name": band_name,
                "description": (
                    f"Frequency band {parts.frequency}"
                    if parts.frequency
                    else "Layers without a frequency tag"
                ),
                "layers": [],
            }
            map_entry["bands"].append(band)
        if columns:
            band["layers"].extend(
                _healpix_layers(path, columns, band["band_id"], ids, auto_contrast=auto_contrast)
            )
            continue
        several_hdus = len({info.hdu for info in planes}) > 1
        band["layers"].extend(
            _layers_for_file(
                path, planes, band["band_id"], ids, several_hdus, auto_contrast=auto_contrast
            )
        )
    source_groups = [_source_group(path, group_id, ids, problems) for path in catalog_paths]
    config = {
        "map_groups": [
            {
                "map_group_id": group_id,
                "name": folder.name or str(folder),
                "description": f"FITS files in {folder}",
                "maps": list(maps.values()),
            }
        ]
        if maps
        else [],
        "source_groups": [group for group in source_groups if group is not None],
        "boxes": [],
    }
    return config, problems


def _layers_for_file(
    path: Path,
    planes: Sequence[PlaneInfo],
    band_id: str,
    ids: _Ids,
    several_hdus: bool,
    *,
    auto_contrast: bool,
) -> list[dict]:
    layers = []
    units_by_hdu: dict[int, Temperature | None] = {}
    for info in planes:
        product = recognise(file_name=path.name, info=info)
        layer = product.plane(info.index, info.n_planes)
        if product is UNKNOWN:
            layer = _unknown_layer(path, info)
        if info.hdu not in units_by_hdu:
            units_by_hdu[info.hdu] = units_for(product=product, info=info, file_name=path.name)
        display = display_for(
            product=product,
            layer=layer,
            temperature=units_by_hdu[info.hdu],
            bunit=info.bunit,
            auto_contrast=auto_contrast,
        )
        hdu_label = f"HDU {info.hdu}" + (f" {info.extname}" if info.extname else "")
        name = f"{layer.name} ({hdu_label})" if several_hdus else layer.name
        where = f"{path.name}, {hdu_label}" + (
            f", plane {info.index}" if info.index is not None else ""
        )
        layer_slug = f"hdu{info.hdu}-{layer.slug}" if several_hdus else layer.slug
        layers.append(
            {
                "layer_id": ids.take(slug(f"{band_id}-{layer_slug}")),
                "name": name,
                "description": f"{layer.description} ({where})",
                "quantity": layer.quantity,
                "units": display.units,
                "vmin": display.vmin,
                "vmax": display.vmax,
                "cmap": product.cmap,
                **({"stokes": layer.stokes} if layer.stokes else {}),
                "provider": FitsProvider(str(path), info.hdu, info.index).to_dict(),
            }
        )
    return layers


COVARIANCE = Product(
    kind="cov",
    name_tokens=frozenset(),
    cmap="viridis",
    temperature_power=2,
    planes=(PlaneLayer("cov", "Covariance", "Covariance map", "covariance", None, None),),
)
_STOKES_COLUMNS = {
    "I": ("I", "I_STOKES", "T", "TEMPERATURE", "INTENSITY"),
    "Q": ("Q", "Q_STOKES", "Q_POLARISATION", "Q_POLARIZATION"),
    "U": ("U", "U_STOKES", "U_POLARISATION", "U_POLARIZATION"),
}


def healpix_columns(path: Path) -> list[HealpixInfo]:
    """Every map column of every HEALPix table in ``path``; empty for other files.

    Raises
    ------
    FitsError
        A HEALPix table that cannot be served (NSIDE, ORDERING ...), one line.
    """
    try:
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
            tables = [
                number
                for number, hdu in enumerate(hdus)
                if isinstance(hdu, fits.BinTableHDU)
                and str(hdu.header.get("PIXTYPE", "")).strip().upper() == "HEALPIX"
            ]
    except (OSError, ValueError, IndexError, TypeError):
        return []
    columns = []
    for number in tables:
        first = inspect_healpix(path, hdu=number, field=0)
        columns.append(first)
        columns.extend(
            inspect_healpix(path, hdu=number, field=field) for field in range(1, len(first.columns))
        )
    return columns


def _healpix_product(column: str) -> tuple[Product, PlaneLayer]:
    name = column.strip().upper().replace("-", "_")
    for index, stokes in enumerate("IQU"):
        if name in _STOKES_COLUMNS[stokes]:
            return MAP, MAP.planes[index]
    if name in {token.upper() for token in HITS.name_tokens} | {"N_OBS", "NOBS"}:
        return HITS, HITS.planes[0]
    if name.endswith("_COV") or name.startswith("VAR"):
        layer = PlaneLayer(
            slug=slug(name, fallback="cov"),
            name=name,
            description=f"{name} covariance map",
            quantity="covariance",
            vmin=None,
            vmax=None,
        )
        return COVARIANCE, layer
    return UNKNOWN, PlaneLayer(slug(column, fallback="column"), column, "Map", "", None, None)


def _healpix_layers(
    path: Path, columns: Sequence[HealpixInfo], band_id: str, ids: _Ids, *, auto_contrast: bool
) -> list[dict]:
    layers = []
    several_hdus = len({info.hdu for info in columns}) > 1
    for healpix in columns:
        product, layer = _healpix_product(healpix.column)
        plane = virtual_plane(healpix)
        temperature = units_for(product=product, info=plane, file_name=path.name)
        scale = 1.0
        if temperature is not None and temperature.microkelvin_per_unit != 1.0:
            # Planck's K_CMB maps shown in uK, as every other CMB map here: the
            # provider multiplies the values, so tiles, cut-outs and apertures agree.
            scale = temperature.microkelvin_per_unit**temperature.power
            temperature = Temperature(microkelvin_per_unit=1.0, power=temperature.power)
        display = display_for(
            product=product,
            layer=layer,
            temperature=temperature,
            bunit=healpix.unit,
            auto_contrast=auto_contrast,
        )
        frame = FRAME_NAMES[healpix.frame]
        where = (
            f"{path.name}, HDU {healpix.hdu} column {healpix.column}: HEALPix NSIDE "
            f"{healpix.nside} {healpix.ordering}, {frame}"
        )
        layer_slug = f"hdu{healpix.hdu}-{layer.slug}" if several_hdus else layer.slug
        name = f"{layer.name} (HDU {healpix.hdu})" if several_hdus else layer.name
        entry = {
            "layer_id": ids.take(slug(f"{band_id}-{layer_slug}")),
            "name": name,
            "description": f"{layer.description} ({where})",
            "quantity": layer.quantity,
            "units": display.units,
            "vmin": display.vmin,
            "vmax": display.vmax,
            "cmap": product.cmap,
            "provider": HealpixProvider(
                str(path), healpix.hdu, healpix.column, scale=scale
            ).to_dict(),
        }
        if layer.stokes:
            entry["stokes"] = layer.stokes
        if layer.stokes == "Q":
            entry["polarisation_convention"] = healpix.convention
        layers.append(entry)
    return layers


def _unknown_layer(path: Path, info: PlaneInfo) -> PlaneLayer:
    log.info("%s: HDU %d not recognised as a known product; automatic contrast", path, info.hdu)
    label = info.extname or ("plane" if info.index is not None else "image")
    suffix = f" {info.index}" if info.index is not None else ""
    return PlaneLayer(
        slug=slug(f"{label}{suffix}", fallback="image"),
        name=f"{label}{suffix}",
        description="Image",
        quantity="",
        vmin=None,
        vmax=None,
    )


def _source_group(path: Path, group_id: str, ids: _Ids, problems: list[str]) -> dict | None:
    file_type = file_type_for(path)
    if file_type is None:
        problems.append(f"{path}: not a catalogue (expected one of {', '.join(SUFFIX_TYPES)})")
        return None
    try:
        records = read_catalogue(path, file_type=file_type).records
    except CatalogError as error:
        problems.append(error.problems[0])
        return None
    return {
        "source_group_id": ids.take(slug(f"{group_id}-{path.stem}")),
        "name": path.name,
        "description": f"Catalogue {path} ({len(records)} sources)",
        "provider": {"file_type": file_type, "filename": str(path)},
    }


def _common_folder(paths: Sequence[Path]) -> Path:
    if not paths:
        return Path.cwd()
    try:
        return Path(os.path.commonpath([str(p.parent) for p in paths]))
    except ValueError:
        return paths[0].parent
