"""Layers imported before 0003 have no pixel placement (all four fields 0, which
viewers take as "unknown, draw unshifted"): read it from their FITS headers.

A header that cannot be read now (file moved, disk not mounted) leaves the
layer as it was; the admin's "re-read the FITS headers" action fills it in
later, as does the next import.
"""

import logging

from django.db import migrations

log = logging.getLogger(__name__)

PLACEMENT_FIELDS = (
    "pixel_scale_ra_deg",
    "pixel_scale_dec_deg",
    "pixel_offset_ra_deg",
    "pixel_offset_dec_deg",
)


def fill_pixel_placement(apps, schema_editor):
    from maps.engine.providers import ProviderError, parse_provider
    from maps.layer_geometry import derived_fields, read_provider

    layer_model = apps.get_model("maps", "Layer")
    for layer in layer_model.objects.filter(pixel_scale_ra_deg=0).iterator():
        try:
            _, plane = read_provider(parse_provider(layer.provider))
        except ProviderError as error:
            log.warning("layer %s: pixel placement not read (%s)", layer.layer_id, error)
            continue
        fields = derived_fields(plane)
        for name in PLACEMENT_FIELDS:
            setattr(layer, name, fields[name])
        layer.save(update_fields=PLACEMENT_FIELDS)


class Migration(migrations.Migration):
    dependencies = [
        ("maps", "0004_layer_stokes"),
    ]

    operations = [
        migrations.RunPython(fill_pixel_placement, migrations.RunPython.noop),
    ]
