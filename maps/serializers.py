"""JSON shapes of the map catalogue, field for field those of the original TileMaker.

The summaries and the layer are DRF serializers (they also document the
schema). The layer menu (``/layers/default``, ``/search``) is a nested tree
built from one ``.values()`` query per level and filtered as plain dicts;
its serializers here only describe that shape to OpenAPI.

No answer carries a layer's ``provider``: it holds server file paths.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from maps.derived import declared_convention
from maps.file_versions import provider_file_version
from maps.grants import visible
from maps.models import Band, Layer, Map, MapGroup

AUTO = "auto"


def _summary_serializer(id_field: str) -> type[serializers.Serializer]:
    """``{<id_field>, name, description, grant}``: the id first, as the original writes it."""
    fields = {
        id_field: serializers.CharField(),
        "name": serializers.CharField(),
        "description": serializers.CharField(),
        "grant": serializers.CharField(
            source="grant.name", allow_null=True, help_text="Grant name or null."
        ),
    }
    name = "".join(part.title() for part in id_field.removesuffix("_id").split("_"))
    return type(f"{name}SummarySerializer", (serializers.Serializer,), fields)


MapGroupSummarySerializer = _summary_serializer("map_group_id")
MapSummarySerializer = _summary_serializer("map_id")
BandSummarySerializer = _summary_serializer("band_id")
LayerSummarySerializer = _summary_serializer("layer_id")


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "enum": [AUTO]}]})
class NumberOrAutoField(serializers.Field):
    """A colour limit: a number, or ``"auto"`` (stored as null) for the histogram's percentiles."""

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        # DRF skips to_representation for None; "auto" must still be written.
        return AUTO if value is None else value

    def to_representation(self, value):
        return value if value == AUTO else float(value)


class LayerSerializer(LayerSummarySerializer):
    quantity = serializers.CharField()
    units = serializers.CharField()
    vmin = NumberOrAutoField()
    vmax = NumberOrAutoField()
    cmap = serializers.CharField()
    tile_size = serializers.IntegerField()
    number_of_levels = serializers.IntegerField()
    bounding_left = serializers.FloatField()
    bounding_right = serializers.FloatField()
    bounding_top = serializers.FloatField()
    bounding_bottom = serializers.FloatField()
    map_group_id = serializers.CharField(source="band.map.map_group.map_group_id")
    map_id = serializers.CharField(source="band.map.map_id")
    band_id = serializers.CharField(source="band.band_id")
    # Not in the original: where the tiles' pixels are on the sky (README "Pixel placement").
    pixel_scale_ra_deg = serializers.FloatField(help_text="|CDELT1| of the map, degrees.")
    pixel_scale_dec_deg = serializers.FloatField(help_text="|CDELT2| of the map, degrees.")
    pixel_offset_ra_deg = serializers.FloatField(
        help_text="RA from the centre of a deepest-level tile pixel to the centre of the map "
        "pixel it shows (unflipped tiles; mirrored with flip), degrees. Draw tiles shifted by it."
    )
    pixel_offset_dec_deg = serializers.FloatField(
        help_text="Dec from the centre of a deepest-level tile pixel to the centre of the map "
        "pixel it shows, degrees. Draw tiles shifted by it."
    )
    # Not in the original: the Stokes planes of the band, for I/Q/U/P readouts and polarisation.
    stokes = serializers.CharField(
        allow_null=True, help_text='"I", "Q" or "U" when the layer is that Stokes plane; else null.'
    )
    stokes_layers = serializers.SerializerMethodField(
        help_text='The layer ids of its band\'s Stokes planes that the caller may see, by "I", '
        '"Q", "U" (this layer included); {} for a layer that is none.'
    )

    file_version = serializers.SerializerMethodField(
        help_text="The version of the layer's map file as the server sees it now (opaque; "
        "null while the file cannot be read). Changes when the file is rewritten or replaced: "
        "add it to tile URLs as ?v= so that browsers keep tiles per version."
    )

    polarisation_convention = serializers.SerializerMethodField(
        help_text='For a Stokes Q or U layer, "IAU" or "COSMO" when its file (POLCCONV) or its '
        "configuration says which convention its Q and U follow; else null."
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["stokes"] = data["stokes"] or None
        return data

    @extend_schema_field({"type": "string", "nullable": True})
    def get_file_version(self, layer: Layer) -> str | None:
        return provider_file_version(layer.provider)

    @extend_schema_field({"type": "string", "enum": ["IAU", "COSMO"], "nullable": True})
    def get_polarisation_convention(self, layer: Layer) -> str | None:
        return declared_convention(layer)

    @extend_schema_field(
        {"type": "object", "additionalProperties": {"type": "string"}, "example": {"I": "f090-i"}}
    )
    def get_stokes_layers(self, layer: Layer) -> dict:
        if not layer.stokes:
            return {}
        planes = (
            visible(Layer, self.context["user"])
            .filter(band_id=layer.band_id)
            .exclude(stokes="")
            .order_by("position", "pk")
            .values_list("stokes", "layer_id")
        )
        found: dict = {}
        for stokes, layer_id in planes:
            found.setdefault(stokes, layer_id)
        return found


# Menu shapes, for the schema only (the trees themselves are built below).


class BandMenuSerializer(BandSummarySerializer):
    layers = LayerSummarySerializer(many=True)


class MapMenuSerializer(MapSummarySerializer):
    bands = BandMenuSerializer(many=True)


class MapGroupMenuSerializer(MapGroupSummarySerializer):
    maps = MapMenuSerializer(many=True)


class DefaultLayerSerializer(serializers.Serializer):
    layer = LayerSerializer(allow_null=True)
    default_layer_menu = MapGroupMenuSerializer(many=True)


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=200, help_text="Text to look for in names (surrounding spaces ignored)."
    )


class SearchResultSerializer(serializers.Serializer):
    filtered_layer_menu = MapGroupMenuSerializer(many=True)
    matched_ids = serializers.ListField(child=serializers.CharField())


# --- The layer menu as a tree of dicts ---------------------------------------

# Public id field and children key at each depth: group > map > band > layer.
_MENU_LEVELS = (
    ("map_group_id", "maps"),
    ("map_id", "bands"),
    ("band_id", "layers"),
    ("layer_id", None),
)


def _menu_rows(model, user, id_field: str, *extra_columns: str, **filters):
    columns = ("pk", id_field, "name", "description", "grant__name", *extra_columns)
    return visible(model, user).filter(**filters).values(*columns)


def _summary(row: dict, id_field: str) -> dict:
    return {
        id_field: row[id_field],
        "name": row["name"],
        "description": row["description"],
        "grant": row["grant__name"],
    }


def layer_menu_tree(user) -> list[dict]:
    """Every map group ``user`` may see, with its visible maps, bands and layers nested.

    One query per level; ``visible`` already drops every row under a hidden
    parent. A row whose parent is missing was written between two of these
    queries: it is left out, as it would have been a moment earlier.
    """
    levels = ((MapGroup, None), (Map, "map_group"), (Band, "map"), (Layer, "band"))
    roots: list[dict] = []
    parents: dict[int, list] = {}
    for depth, (model, parent_column) in enumerate(levels):
        id_field, children_key = _MENU_LEVELS[depth]
        columns = (parent_column,) if parent_column else ()
        current: dict[int, list] = {}
        for row in _menu_rows(model, user, id_field, *columns):
            siblings = parents.get(row[parent_column]) if parent_column else roots
            if siblings is None:
                continue
            entry = _summary(row, id_field)
            if children_key:
                entry[children_key] = current[row["pk"]] = []
            siblings.append(entry)
        parents = current
    return roots


def default_layer_menu(user, layer: Layer | None) -> list[dict]:
    """All visible map groups; only the path down to ``layer`` is expanded (as the original)."""
    groups = [
        {**_summary(row, "map_group_id"), "maps": []}
        for row in _menu_rows(MapGroup, user, "map_group_id")
    ]
    if layer is None:
        return groups
    band = layer.band
    layers = [_summary(row, "layer_id") for row in _menu_rows(Layer, user, "layer_id", band=band)]
    bands = [
        {**_summary(row, "band_id"), "layers": layers if row["pk"] == band.pk else []}
        for row in _menu_rows(Band, user, "band_id", map=band.map_id)
    ]
    maps = [
        {**_summary(row, "map_id"), "bands": bands if row["pk"] == band.map_id else []}
        for row in _menu_rows(Map, user, "map_id", map_group=band.map.map_group_id)
    ]
    for group in groups:
        if group["map_group_id"] == band.map.map_group.map_group_id:
            group["maps"] = maps
    return groups


def filter_menu(tree: list[dict], query: str) -> tuple[list[dict], list[str]]:
    """Entries whose name contains ``query`` (any case), with their whole subtree, and their ids.

    An entry that does not match is kept, with only its matching
    descendants, when some descendant matches.
    """
    matched_ids: list[str] = []
    return _filter_level(tree, 0, query.casefold(), matched_ids), matched_ids


def _filter_level(entries: list[dict], depth: int, needle: str, matched_ids: list[str]):
    id_field, children_key = _MENU_LEVELS[depth]
    kept = []
    for entry in entries:
        if needle in entry["name"].casefold():
            matched_ids.append(entry[id_field])
            kept.append(entry)
        elif children_key:
            children = _filter_level(entry[children_key], depth + 1, needle, matched_ids)
            if children:
                kept.append({**entry, children_key: children})
    return kept
