"""The admin curates the catalogue: pages render, filters by grant, re-read action, form errors."""

import json
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from catalogs.models import Source, SourceGroup
from maps.importers import import_config
from maps.models import Band, Grant, Layer, Map, MapGroup
from sky_regions.models import Box
from tests.support.configs import config_with_layers, layer_entry, write_json
from tests.support.fits import write_car_map

pytestmark = [
    pytest.mark.django_db,
]

ARCMIN = 1 / 60


@pytest.fixture
def catalogue(tmp_path):
    """Two layers (one restricted), a 3-source catalogue and a box, imported from a config."""
    write_car_map(tmp_path / "m.fits", nx=40, ny=20, pixel_scale_deg=0.5 * ARCMIN)
    write_car_map(tmp_path / "iqu.fits", nx=40, ny=20, pixel_scale_deg=0.5 * ARCMIN, n_planes=3)
    config = config_with_layers(
        layer_entry("open-layer", "m.fits"),
        layer_entry("secret-layer", "iqu.fits", index=1, grant="team"),
        source_groups=[
            {
                "source_group_id": "cat",
                "name": "Catalogue",
                "sources": [{"ra": i, "dec": -i, "name": f"src{i}"} for i in range(3)],
            }
        ],
        boxes=[
            {
                "name": "Deep",
                "grant": "team",
                "top_left_ra": 5,
                "top_left_dec": 5,
                "bottom_right_ra": 0,
                "bottom_right_dec": 0,
            }
        ],
    )
    import_config(write_json(tmp_path / "config.json", config))
    return tmp_path


@pytest.fixture
def staff():
    user = get_user_model().objects.create_superuser("admin", "admin@example.org", None)
    client = Client()
    client.force_login(user)
    return client


MODELS = [MapGroup, Map, Band, Layer, SourceGroup, Source, Box]


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("query", ["", "?restricted=yes", "?restricted=no", "?q=secret"])
def test_changelists_render(catalogue, staff, model, query):
    response = staff.get(changelist(model) + query)
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_change_forms_render(catalogue, staff, model):
    response = staff.get(change(model.objects.first()))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("model", "restricted", "public"),
    [
        (Layer, ["secret-layer"], ["open-layer"]),
        (Box, ["Deep"], []),
        (MapGroup, [], ["group"]),
    ],
)
def test_restricted_filter_follows_grants_above(catalogue, staff, model, restricted, public):
    key = {Layer: "layer_id", Box: "name", MapGroup: "map_group_id"}[model]

    def listed(value):
        response = staff.get(changelist(model) + f"?restricted={value}")
        return sorted(getattr(obj, key) for obj in response.context["cl"].queryset)

    assert listed("yes") == restricted
    assert listed("no") == public


def test_grant_on_a_parent_restricts_the_children_in_the_filter(catalogue, staff):
    MapGroup.objects.update(grant=Grant.objects.get(name="team"))
    response = staff.get(changelist(Layer) + "?restricted=no")
    assert list(response.context["cl"].queryset) == []


def test_search_by_id_and_name(catalogue, staff):
    response = staff.get(changelist(Layer) + "?q=secret-layer")
    assert [layer.layer_id for layer in response.context["cl"].queryset] == ["secret-layer"]
    response = staff.get(changelist(Map) + "?q=Map")
    assert [m.map_id for m in response.context["cl"].queryset] == ["map"]


def test_grant_filter(catalogue, staff):
    team = Grant.objects.get(name="team")
    response = staff.get(changelist(Layer) + f"?grant__id__exact={team.pk}")
    assert [layer.layer_id for layer in response.context["cl"].queryset] == ["secret-layer"]


@pytest.mark.parametrize(
    ("model", "lookup", "shown"),
    [
        (MapGroup, {"map_group_id": "group"}, ["map"]),
        (Map, {"map_id": "map"}, ["band"]),
        (Band, {"band_id": "band"}, ["open-layer", "secret-layer"]),
    ],
)
def test_inlines_show_the_level_below(catalogue, staff, model, lookup, shown):
    content = staff.get(change(model.objects.get(**lookup))).content.decode()
    for public_id in shown:
        assert f'value="{public_id}"' in content


def test_derived_fields_are_read_only(catalogue, staff):
    layer = Layer.objects.get(layer_id="open-layer")
    content = staff.get(change(layer)).content.decode()
    assert 'name="tile_size"' not in content
    assert 'name="bounding_left"' not in content
    assert "675" in content


def test_source_group_page_links_to_its_sources_instead_of_inlining_them(catalogue, staff):
    group = SourceGroup.objects.get()
    content = staff.get(change(group)).content.decode()
    assert f"?source_group__id__exact={group.pk}" in content
    assert "3 sources" in content
    assert "src1" not in content
    listing = staff.get(changelist(Source) + f"?source_group__id__exact={group.pk}&q=src1")
    assert [s.name for s in listing.context["cl"].queryset] == ["src1"]


def test_source_changelist_counts_sources_per_group(catalogue, staff):
    response = staff.get(changelist(SourceGroup))
    assert '<td class="field-source_count">3</td>' in response.content.decode()


def _reread(staff, layers):
    return staff.post(
        changelist(Layer),
        {"action": "reread_fits_header", "_selected_action": [layer.pk for layer in layers]},
        follow=True,
    )


def test_reread_action_updates_derived_fields(catalogue, staff):
    layer = Layer.objects.get(layer_id="open-layer")
    assert layer.number_of_levels == 6
    write_car_map(catalogue / "m.fits", nx=10, ny=5, pixel_scale_deg=2 * ARCMIN)
    response = _reread(staff, [layer])
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["Re-read the FITS header of 1 layer."]
    layer.refresh_from_db()
    assert (layer.tile_size, layer.number_of_levels) == (675, 4)


def test_reread_action_reports_each_failing_layer(catalogue, staff):
    (catalogue / "m.fits").unlink()
    layers = list(Layer.objects.order_by("layer_id"))
    response = _reread(staff, layers)
    assert response.status_code == 200
    shown = sorted(str(m) for m in response.context["messages"])
    assert shown == [
        "Re-read the FITS header of 1 layer.",
        f"open-layer: provider.filename: {catalogue.resolve() / 'm.fits'}: no such file",
    ]


class FormValues(HTMLParser):
    """The values a browser would submit for the first form with a given field."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.values.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values.setdefault(name, []).append("")
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select].append(attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][-1] += data


def form_data(staff, url) -> dict:
    parser = FormValues()
    parser.feed(staff.get(url).content.decode())
    data = {
        name: values
        for name, values in parser.values.items()
        if name != "action" and "__prefix__" not in name
    }
    data["_save"] = "Save"
    return data


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        (
            '{"provider_type": "fits", "filename": "/nowhere/x.fits"}',
            "/nowhere/x.fits: no such file",
        ),
        ('{"provider_type": "fits", "filename": "m.fits"}', "m.fits: give an absolute path"),
        (
            '{"provider_type": "hips"}',
            "provider.provider_type: &#x27;hips&#x27; is not one of",
        ),
        ('{"provider_type": "fits", "filename": "{iqu}"}', "an index 0..2 is needed"),
        ("{not json", "Enter a valid JSON."),
    ],
    ids=["missing-file", "relative", "unknown-type", "3d-without-index", "invalid-json"],
)
def test_bad_provider_is_a_form_error_not_a_500(catalogue, staff, provider, message):
    layer = Layer.objects.get(layer_id="open-layer")
    before = layer.provider
    data = form_data(staff, change(layer))
    data["provider"] = provider.replace("{iqu}", str(catalogue / "iqu.fits"))
    response = staff.post(change(layer), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["adminform"].form.errors
    layer.refresh_from_db()
    assert layer.provider == before


def test_good_provider_edit_rereads_the_geometry(catalogue, staff):
    coarse = write_car_map(catalogue / "coarse.fits", nx=10, ny=5, pixel_scale_deg=2 * ARCMIN)
    layer = Layer.objects.get(layer_id="open-layer")
    data = form_data(staff, change(layer))
    data["provider"] = json.dumps({"provider_type": "fits", "filename": str(coarse)})
    response = staff.post(change(layer), data)
    assert response.status_code == 302
    layer.refresh_from_db()
    assert (layer.number_of_levels, layer.provider["filename"]) == (4, str(coarse))


def test_bad_provider_in_the_band_inline_is_a_form_error(catalogue, staff):
    band = Band.objects.get()
    data = form_data(staff, change(band))
    provider_keys = sorted(key for key in data if key.endswith("-provider"))
    assert len(provider_keys) == 2
    data[provider_keys[0]] = '{"provider_type": "fits", "filename": "/nowhere/y.fits"}'
    response = staff.post(change(band), data)
    assert response.status_code == 200
    assert "/nowhere/y.fits: no such file" in response.content.decode()
    assert Layer.objects.filter(provider__filename="/nowhere/y.fits").count() == 0


def combination_of(*paths) -> str:
    inputs = [{"provider_type": "fits", "filename": str(path)} for path in paths]
    return json.dumps({"provider_type": "fits_combination", "function": "-", "providers": inputs})


def test_a_combination_of_maps_at_different_sky_positions_is_a_form_error(catalogue, staff):
    """Same shape, same pixel scale, another RA: the engine could serve no tile of it."""
    here = catalogue / "m.fits"
    same = write_car_map(catalogue / "same.fits", nx=40, ny=20, pixel_scale_deg=0.5 * ARCMIN)
    elsewhere = write_car_map(
        catalogue / "elsewhere.fits", nx=40, ny=20, pixel_scale_deg=0.5 * ARCMIN, ra_left_deg=30
    )
    layer = Layer.objects.get(layer_id="open-layer")
    before = Layer.objects.filter(pk=layer.pk).values().get()
    data = form_data(staff, change(layer))

    response = staff.post(change(layer), {**data, "provider": combination_of(here, elsewhere)})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["provider"]
    (message,) = errors["provider"]
    assert message.startswith(f"provider.providers[1]: {elsewhere.resolve()}: pixel grid 40 x 20")
    assert message.endswith("in sky position or pixel scale (WCS): inputs must share one grid"), (
        message
    )
    assert Layer.objects.filter(pk=layer.pk).values().get() == before

    response = staff.post(change(layer), {**data, "provider": combination_of(here, same)})
    assert response.status_code == 302
    layer.refresh_from_db()
    assert [entry["filename"] for entry in layer.provider["providers"]] == [str(here), str(same)]


def test_hdu_null_means_hdu_0_in_a_config_and_in_the_admin(tmp_path, staff):
    path = write_car_map(tmp_path / "m.fits", nx=40, ny=20, pixel_scale_deg=0.5 * ARCMIN)
    config = config_with_layers(layer_entry("a", str(path), hdu=None))
    import_config(write_json(tmp_path / "config.json", config))
    layer = Layer.objects.get(layer_id="a")
    canonical = {"provider_type": "fits", "filename": str(path.resolve()), "hdu": 0, "index": None}
    assert layer.provider == canonical
    imported = Layer.objects.filter(pk=layer.pk).values().get()

    data = form_data(staff, change(layer))
    edited = {"provider_type": "fits", "filename": canonical["filename"], "hdu": None}
    data["provider"] = json.dumps(edited)
    response = staff.post(change(layer), data)
    assert response.status_code == 302
    assert Layer.objects.filter(pk=layer.pk).values().get() == imported


LONG_FILENAME = "/" + "x" * 5000 + ".fits"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"cmap": "nope"}, "cmap", "&#x27;nope&#x27; is not a matplotlib colour map"),
        (
            {"layer_id": "default"},
            "layer_id",
            "&#x27;default&#x27; is reserved: /layers/default is a route",
        ),
        (
            {"provider": '{"provider_type": "fits", "filename": "/data/a\\u0000b.fits"}'},
            "provider",
            "/data/a\\x00b.fits: a file name cannot contain a NUL character",
        ),
        (
            {"provider": json.dumps({"provider_type": "fits", "filename": LONG_FILENAME})},
            "provider",
            "... (5006 characters): the file name is too long (5006 bytes",
        ),
        (
            {
                "provider": json.dumps(
                    {
                        "provider_type": "fits_combination",
                        "function": "+",
                        "providers": [{"provider_type": "fits", "filename": "/d/\u0000.fits"}],
                    }
                )
            },
            "provider",
            "/d/\\x00.fits: a file name cannot contain a NUL character",
        ),
        (
            {"provider": '{"provider_type": "fits", "filename": "~no-such-user-here/m.fits"}'},
            "provider",
            "~no-such-user-here/m.fits: cannot resolve the path",
        ),
    ],
    ids=["unknown-cmap", "layer-id-default", "nul", "too-long", "nul-in-combination", "no-user"],
)
def test_layer_form_refuses_what_cannot_be_served(catalogue, staff, changes, field, message):
    layer = Layer.objects.get(layer_id="open-layer")
    before = Layer.objects.filter(pk=layer.pk).values().get()
    data = {**form_data(staff, change(layer)), **changes}
    response = staff.post(change(layer), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert field in response.context["adminform"].form.errors
    assert Layer.objects.filter(pk=layer.pk).values().get() == before


def test_band_inline_refuses_an_unknown_colour_map_and_a_default_id(catalogue, staff):
    band = Band.objects.get()
    before = list(Layer.objects.values())
    data = form_data(staff, change(band))
    (cmap_key, _) = sorted(key for key in data if key.endswith("-cmap"))
    (id_key, _) = sorted(key for key in data if key.endswith("-layer_id"))
    data[cmap_key] = "nope"
    data[id_key] = "default"
    response = staff.post(change(band), data)
    assert response.status_code == 200
    content = response.content.decode()
    assert "&#x27;nope&#x27; is not a matplotlib colour map" in content
    assert "&#x27;default&#x27; is reserved" in content
    assert list(Layer.objects.values()) == before


NON_FINITE_EXTRAS = [
    ('{"flux": NaN}', "extra", "flux: NaN and Infinity are not allowed; use null"),
    ('{"flux": Infinity}', "extra", "flux: NaN and Infinity are not allowed; use null"),
    ('{"a": {"b": [1, -Infinity]}}', "extra", "a.b[1]: NaN and Infinity are not allowed"),
    ('{"a": ["x\\u0000"]}', "extra", "a[0]: a NUL character is not allowed"),
    ("[1, 2]", "extra", "expected a JSON object"),
]


@pytest.mark.parametrize(
    ("extra", "field", "message"), NON_FINITE_EXTRAS, ids=["nan", "inf", "nested", "nul", "list"]
)
def test_source_form_refuses_non_finite_extras(catalogue, staff, extra, field, message):
    source = Source.objects.first()
    before = Source.objects.filter(pk=source.pk).values().get()
    data = {**form_data(staff, change(source)), "extra": extra}
    response = staff.post(change(source), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert field in response.context["adminform"].form.errors
    assert Source.objects.filter(pk=source.pk).values().get() == before


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"extra": '{"snr": NaN}'}, "extra", "snr: NaN and Infinity are not allowed"),
        ({"ra": "400"}, "ra", "outside -360..360 degrees"),
        ({"dec": "-91"}, "dec", "outside -90..90 degrees"),
    ],
    ids=["nan-extra", "ra-range", "dec-range"],
)
def test_adding_a_bad_source_saves_nothing(catalogue, staff, values, field, message):
    group = SourceGroup.objects.get()
    url = reverse("admin:catalogs_source_add")
    data = {"source_group": group.pk, "name": "new", "ra": "1", "dec": "2", "extra": "{}"}
    response = staff.post(url, {**data, **values, "_save": "Save"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert field in response.context["adminform"].form.errors
    assert not Source.objects.filter(name="new").exists()


def test_adding_a_good_source_still_works(catalogue, staff):
    group = SourceGroup.objects.get()
    data = {"source_group": group.pk, "name": "new", "ra": "-1", "dec": "2"}
    response = staff.post(
        reverse("admin:catalogs_source_add"), {**data, "extra": '{"snr": 5}', "_save": "Save"}
    )
    assert response.status_code == 302
    assert Source.objects.get(name="new").extra == {"snr": 5}
