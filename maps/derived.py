"""Derived layers: a virtual layer described by a URL, served by the ordinary image views.

``/derived/{op}/{a}/{b}/...`` names ``op`` on layers ``a`` and ``b`` (Q and U
for ``p`` and ``angle``) with the query's ``scale_a``, ``scale_b``, ``debias``
and ``sigma``. ``visible_derived_layer`` turns it into an unsaved ``Layer``
whose pixel source is the engine's ``DerivedSource``; the tile, data tile,
cut-out, histogram and limits views then run exactly as for a stored layer,
with the same caches, keyed by every input (see ``derived_provider``).

Grants: both inputs are looked up through ``maps.grants`` before anything
else is read or checked, so a derived map is visible only to who may see
every input, a hidden input answers exactly like a missing one, and nothing
cached for a derived map is reached without that check.
"""

from dataclasses import dataclass

from maps import tiles
from maps.engine import PixelSource
from maps.engine.derived import (
    DERIVED_OPS,
    POLARISATION_OPS,
    DerivedSpec,
    check_derivable,
    derived_source,
    derived_unit,
)
from maps.engine.polarisation import DEFAULT_CONVENTION, convention_from_header
from maps.models import DERIVED_LAYER_FIELDS, Layer
from maps.query import echo, optional, parse_number
from tilemaker_site.errors import BadRequest

# Colour maps of derived layers: the first input's for a difference or sum
# (same quantity); a sequential one for a ratio and P; a cyclic one for the
# angle, whose ends (-90 and 90 degrees) are the same orientation.
_CMAPS = {"ratio": "viridis", "p": "viridis", "angle": "twilight"}


@dataclass(frozen=True)
class Derived:
    """What an unsaved derived ``Layer`` stands for (its ``derived`` attribute)."""

    inputs: tuple[Layer, Layer]
    spec: DerivedSpec
    source: PixelSource
    # Where the angle convention came from: "POLCCONV" (Q's header), "layer"
    # (Layer.polarisation_convention) or "default" (IAU).
    convention_source: str


def derived_of(layer: Layer) -> Derived | None:
    return getattr(layer, "derived", None)


def inputs_of(layer: Layer) -> tuple[Layer, ...]:
    """The stored layers whose pixels ``layer`` shows: itself, or a derived layer's inputs."""
    derived = derived_of(layer)
    return derived.inputs if derived is not None else (layer,)


def visible_derived_layer(user, query, *, op: str, a: str, b: str) -> Layer:
    """The derived layer ``op(a, b)`` described by ``query``, for ``user``.

    Raises
    ------
    Http404
        Either input is missing or hidden from ``user`` (the same answer).
    BadRequest
        An unknown op, a scale or sigma that is not a finite number, a
        debias option that does not apply, Stokes planes in the wrong place,
        or inputs on different pixel grids (naming both layers).
    """
    layer_a = tiles.visible_layer(user, a)
    layer_b = tiles.visible_layer(user, b)
    if op not in DERIVED_OPS:
        raise BadRequest(f"op must be one of {', '.join(DERIVED_OPS)}, got {echo(op)}")
    scale_a = optional(query, "scale_a", parse_number, 1.0)
    scale_b = optional(query, "scale_b", parse_number, 1.0)
    debias = query.get("debias", "none")
    sigma = optional(query, "sigma", parse_number, 0.0)
    if op in POLARISATION_OPS:
        for layer, wanted in ((layer_a, "Q"), (layer_b, "U")):
            if layer.stokes and layer.stokes != wanted:
                raise BadRequest(
                    f"{op} takes the Q and U layers in that order; {layer.layer_id} is "
                    f"Stokes {layer.stokes}"
                )
    elif "debias" in query or "sigma" in query:
        raise BadRequest("debias and sigma apply to op p only")
    source_a, source_b = tiles.pixel_source(layer_a), tiles.pixel_source(layer_b)
    check_derivable(source_a, source_b, name_a=layer_a.layer_id, name_b=layer_b.layer_id)
    convention, convention_source = DEFAULT_CONVENTION, "default"
    if op == "angle":
        convention, convention_source = _convention(layer_a, source_a)
    spec = DerivedSpec(
        op=op,
        scale_a=scale_a,
        scale_b=scale_b,
        convention=convention,
        debias=debias if op == "p" else "none",
        sigma=sigma if op == "p" else 0.0,
    )
    layer = Layer(
        layer_id=f"derived-{op}-{layer_a.layer_id}-{layer_b.layer_id}",
        name=f"{op}({layer_a.layer_id}, {layer_b.layer_id})",
        band_id=layer_a.band_id,
        provider=derived_provider(spec, layer_a, layer_b),
        units=derived_unit(spec, layer_a.units or None, layer_b.units or None) or "",
        cmap=_CMAPS.get(op, layer_a.cmap),
        vmin=-90.0 if op == "angle" else None,
        vmax=90.0 if op == "angle" else None,
        **{field: getattr(layer_a, field) for field in DERIVED_LAYER_FIELDS},
    )
    layer.derived = Derived(
        inputs=(layer_a, layer_b),
        spec=spec,
        source=derived_source(source_a, source_b, spec),
        convention_source=convention_source,
    )
    return layer


def derived_provider(spec: DerivedSpec, layer_a: Layer, layer_b: Layer) -> dict:
    """The derived layer's ``provider``: every input and option, so cache keys built from
    it (with the source's version, which follows the input files) name the map exactly."""
    return {
        "provider_type": "derived",
        "op": spec.op,
        "layers": [layer_a.layer_id, layer_b.layer_id],
        "providers": [layer_a.provider, layer_b.provider],
        "scale_a": spec.scale_a,
        "scale_b": spec.scale_b,
        "convention": spec.convention,
        "debias": spec.debias,
        "sigma": spec.sigma,
    }


def declared_convention(layer: Layer) -> str | None:
    """The Q/U convention a Stokes Q or U layer declares: its file's ``POLCCONV``, else
    its ``polarisation_convention``; None when neither says (or the layer is not Q or U).

    A file that cannot be read now declares nothing: the layer's answer must not fail.
    """
    if layer.stokes not in ("Q", "U"):
        return None
    try:
        from_header = convention_from_header(tiles.pixel_source(layer).info.header)
    except tiles.LayerUnavailable:
        from_header = None
    return from_header or layer.polarisation_convention or None


def _convention(layer_q: Layer, source_q: PixelSource) -> tuple[str, str]:
    from_header = convention_from_header(source_q.info.header)
    if from_header is not None:
        return from_header, "POLCCONV"
    if layer_q.polarisation_convention:
        return layer_q.polarisation_convention, "layer"
    return DEFAULT_CONVENTION, "default"


def response_headers(layer: Layer) -> dict:
    """Headers telling what a derived layer computed (none for a stored layer)."""
    derived = derived_of(layer)
    if derived is None:
        return {}
    headers = {"X-Derived-Op": derived.spec.op}
    if derived.spec.op == "angle":
        headers["X-Polarisation-Convention"] = derived.spec.convention
    return headers


def describe(layer: Layer) -> dict:
    """The layer-like JSON of a derived layer (``GET /derived/{op}/{a}/{b}``)."""
    derived = derived_of(layer)
    spec = derived.spec
    answer = {
        "layer_id": layer.layer_id,
        "name": layer.name,
        "op": spec.op,
        "inputs": [each.layer_id for each in derived.inputs],
        "scale_a": spec.scale_a,
        "scale_b": spec.scale_b,
        "units": layer.units or None,
        "cmap": layer.cmap,
        "vmin": layer.vmin,
        "vmax": layer.vmax,
        **{field: getattr(layer, field) for field in DERIVED_LAYER_FIELDS},
    }
    if spec.op == "angle":
        answer["polarisation_convention"] = spec.convention
        answer["polarisation_convention_from"] = derived.convention_source
    if spec.op == "p":
        answer["debias"] = spec.debias
        answer["sigma"] = spec.sigma
    return answer
