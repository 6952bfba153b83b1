"""Hostile strings in every user-visible field, for the viewer's and the admin's escaping tests."""

from catalogs.models import Source, SourceGroup
from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Grant, Layer, Map, MapGroup
from sky_regions.models import Box

# An element with an inline handler, and a script closing an attribute first.
ATTACK = '<img src=x onerror="window.__xss=1">"><script>window.__xss=1</script>'
JAVASCRIPT_URL = "javascript:window.__xss=1"
CATALOGUE_ID = "xss-cat"


def hostile(field: str) -> str:
    return f"{field}{ATTACK}"


def create_hostile_sky(fits_path, *, source_ra_dec_deg, box_corners_deg) -> Grant:
    """A restricted group > map > band > layer (plane 0 of ``fits_path``), a catalogue with
    one source and a box, every text field hostile; returns the grant restricting the group."""
    grant = Grant.objects.create(name=hostile("grant"), description=hostile("grant-description"))
    group = MapGroup.objects.create(
        map_group_id="xss-group",
        name=hostile("group"),
        description=hostile("group-description"),
        grant=grant,
    )
    sky_map = Map.objects.create(
        map_id="xss-map",
        name=hostile("map"),
        description=hostile("map-description"),
        map_group=group,
    )
    band = Band.objects.create(
        band_id="xss-band",
        name=hostile("band"),
        description=hostile("band-description"),
        map=sky_map,
    )
    layer = Layer(
        layer_id="xss-layer",
        name=hostile("layer"),
        description=hostile("layer-description"),
        band=band,
        quantity=hostile("quantity"),
        units=hostile("u"),
        vmin=-300.0,
        vmax=300.0,
        cmap="viridis",
        provider={"provider_type": "fits", "filename": str(fits_path), "index": 0},
    )
    refresh_layer_geometry(layer)
    layer.save()
    catalogue = SourceGroup.objects.create(
        source_group_id=CATALOGUE_ID,
        name=hostile("catalogue"),
        description=hostile("catalogue-description"),
    )
    Source.objects.create(
        source_group=catalogue,
        name=hostile("source"),
        ra=source_ra_dec_deg[0],
        dec=source_ra_dec_deg[1],
        extra={hostile("key"): hostile("value"), "link": JAVASCRIPT_URL, "nested": [ATTACK]},
    )
    Box.objects.create(
        name=hostile("box"), description=hostile("box-description"), **box_corners_deg
    )
    return grant
