"""django-cachalot serves repeated catalogue queries from the cache and forgets them on writes.

cachalot is on only with a shared cache (memcached); here the in-process
cache stands in for it. Answers to lookups by id still read the visibility
generation, the one query a repeated request makes.
"""

import pytest
from cachalot.settings import cachalot_settings
from django.contrib import admin
from django.contrib.auth.models import User

from maps import importers, remembered
from maps.models import Band, Layer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cachalot_on(settings):
    # cachalot reads its settings, and patches the ORM, only when told to.
    configured = settings.CACHALOT_ENABLED
    settings.CACHALOT_ENABLED = True
    cachalot_settings.reload()
    yield
    settings.CACHALOT_ENABLED = configured
    cachalot_settings.reload()


def other_than_the_generation(queries):
    return [query["sql"] for query in queries if query["sql"] != remembered.GENERATION_SQL]


def layer_name(client, layer_id="coadd-f090-i"):
    response = client.get(f"/layers/{layer_id}")
    assert response.status_code == 200
    return response.json()["name"]


@pytest.mark.parametrize(
    "url",
    [
        "/map-groups",
        "/map-groups/act-dr6/maps",
        "/maps/act-coadd/bands",
        "/bands/coadd-f090/layers",
        "/layers/default",
        "/layers/coadd-f090-i",
        "/search?q=f0",
        "/sources",
        "/highlights/boxes",
    ],
)
def test_second_identical_request_runs_no_query(
    catalogue, anonymous_client, django_assert_max_num_queries, url
):
    with django_assert_max_num_queries(20) as first:
        first_body = anonymous_client.get(url).content
    assert len(first.captured_queries) > 0
    with django_assert_max_num_queries(1) as second:
        assert anonymous_client.get(url).content == first_body
    assert other_than_the_generation(second.captured_queries) == []


def test_source_rows_are_read_from_the_database_every_time(
    catalogue, anonymous_client, django_assert_max_num_queries
):
    # catalogs_source is in CACHALOT_UNCACHABLE_TABLES (a big catalogue costs
    # more to pickle than to read); the catalogue lookup itself stays cached.
    first = anonymous_client.get("/sources/bright").content
    with django_assert_max_num_queries(2) as second:
        assert anonymous_client.get("/sources/bright").content == first
    (source_query,) = other_than_the_generation(second.captured_queries)
    assert 'FROM "catalogs_source"' in source_query


def rename_with_orm_update(layer, name):
    Layer.objects.filter(pk=layer.pk).update(name=name)


def rename_with_save(layer, name):
    layer.name = name
    layer.save()


def rename_with_raw_sql(layer, name):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Layer._meta.db_table} SET name = %s WHERE id = %s", [name, layer.pk]
        )


@pytest.mark.parametrize("rename", [rename_with_orm_update, rename_with_save, rename_with_raw_sql])
def test_rename_shows_in_the_next_answer(catalogue, anonymous_client, rename):
    layer = catalogue["coadd-f090-i"]
    assert layer_name(anonymous_client) == "I"
    assert layer_name(anonymous_client) == "I"  # now served from the cache
    rename(Layer.objects.get(pk=layer.pk), "Intensity")
    assert layer_name(anonymous_client) == "Intensity"
    menu = anonymous_client.get("/bands/coadd-f090/layers").json()
    assert [entry["name"] for entry in menu] == ["Intensity", "U"]


def test_rename_of_a_parent_shows_in_the_layer_menu(catalogue, anonymous_client):
    assert anonymous_client.get("/search?q=f090").json()["matched_ids"] == ["coadd-f090"]
    Band.objects.filter(band_id="coadd-f090").update(name="90 GHz")
    assert anonymous_client.get("/search?q=f090").json()["matched_ids"] == []
    assert anonymous_client.get("/search?q=GHz").json()["matched_ids"] == ["coadd-f090"]


def _admin_post_data(model_admin, request, obj):
    """The change form of ``obj`` as the admin would submit it unchanged (form and inlines)."""
    data = {}

    def add(bound_fields):
        for bound in bound_fields:
            value = bound.value()
            if value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value

    form = model_admin.get_form(request, obj, change=True)(instance=obj)
    add(form)
    for formset, _inline in model_admin.get_formsets_with_inlines(request, obj):
        instance = formset(instance=obj, prefix=formset.get_default_prefix())
        add(instance.management_form)
        for inline_form in instance.forms:
            add(inline_form)
    return data


def test_rename_in_the_admin_shows_in_the_next_answer(catalogue, anonymous_client, client, rf):
    superuser = User.objects.create_superuser("curator", password="pw-not-used")
    client.force_login(superuser)
    layer = Layer.objects.get(layer_id="coadd-f090-i")
    request = rf.get("/")
    request.user = superuser
    model_admin = admin.site.get_model_admin(Layer)
    data = _admin_post_data(model_admin, request, layer)
    assert layer_name(anonymous_client) == "I"
    data["name"] = "Renamed in admin"
    data["_save"] = "Save"
    response = client.post(f"/admin/maps/layer/{layer.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert layer_name(anonymous_client) == "Renamed in admin"


def test_reimport_shows_in_the_next_answer(db, anonymous_client, make_car_map, tmp_path):
    fits_path = str(make_car_map("imported.fits"))

    def config(layer_name_):
        return {
            "map_groups": [
                {
                    "map_group_id": "imported",
                    "name": "Imported",
                    "description": "From a config",
                    "maps": [
                        {
                            "map_id": "imported-map",
                            "name": "Map",
                            "description": "",
                            "bands": [
                                {
                                    "band_id": "imported-band",
                                    "name": "Band",
                                    "description": "",
                                    "layers": [
                                        {
                                            "layer_id": "imported-layer",
                                            "name": layer_name_,
                                            "provider": {
                                                "provider_type": "fits",
                                                "filename": fits_path,
                                            },
                                        }
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ]
        }

    importers.import_config_data(config("Before"), base_dir=tmp_path, source_name="test")
    assert layer_name(anonymous_client, "imported-layer") == "Before"
    importers.import_config_data(config("After"), base_dir=tmp_path, source_name="test")
    assert layer_name(anonymous_client, "imported-layer") == "After"


def test_grant_given_and_taken_shows_in_the_next_answer(catalogue, grant, client):
    user = User.objects.create_user("newcomer")
    client.force_login(user)
    assert client.get("/layers/coadd-f090-q").status_code == 404
    assert client.get("/layers/coadd-f090-q").status_code == 404
    grant.users.add(user)
    assert client.get("/layers/coadd-f090-q").status_code == 200
    grant.users.remove(user)
    assert client.get("/layers/coadd-f090-q").status_code == 404


def test_cached_answer_for_a_holder_never_reaches_others(catalogue, grant, client):
    holder = User.objects.create_user("holder")
    grant.users.add(holder)
    client.force_login(holder)
    for _ in range(2):
        assert client.get("/layers/coadd-f090-q").status_code == 200
        assert "coadd-f090-q" in client.get("/search?q=Q").json()["matched_ids"]
    client.logout()
    assert client.get("/layers/coadd-f090-q").status_code == 404
    assert client.get("/search?q=Q").json()["matched_ids"] == []
