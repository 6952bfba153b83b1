"""System checks of the maps: that every layer's FITS files can be read.

Registered in ``MapsConfig.ready()``. The FITS check reads the layer table,
so, like Django's database checks, it only runs when a database is named
(``manage.py check --database default``; ``migrate`` does so too). The
site-wide deploy checks are in ``tilemaker_site.checks``.
"""

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError

from maps.paths import DataPathError, resolve_data_path

FITS_MAGIC = b"SIMPLE  ="


def fits_file_problem(filename: str) -> str | None:
    """Why ``filename`` cannot be served, or None when it opens as FITS."""
    try:
        path = resolve_data_path(filename)
    except DataPathError as error:
        return str(error)
    try:
        with path.open("rb") as stream:
            start = stream.read(len(FITS_MAGIC))
    except OSError as error:
        return error.strerror or type(error).__name__
    if start != FITS_MAGIC:
        return "not a FITS file (no SIMPLE card at the start)"
    return None


@register(Tags.database)
def check_layer_files(app_configs=None, databases=None, **kwargs):
    if not databases or "default" not in databases:
        return []
    from maps.engine.providers import filenames
    from maps.models import Layer

    try:
        layers = list(Layer.objects.values_list("layer_id", "provider"))
    except DatabaseError:
        # Not migrated yet (check runs before migrate does): nothing to check.
        return []
    problems = {}
    messages = []
    for layer_id, provider in layers:
        for filename in filenames(provider):
            if filename not in problems:
                problems[filename] = fits_file_problem(filename)
            if problems[filename] is not None:
                messages.append(
                    Warning(
                        f"layer {layer_id!r}: cannot read {filename}: {problems[filename]}",
                        hint="Mount the maps (read-only is enough) where the configuration "
                        "says, or re-import a configuration with the right paths.",
                        obj=f"layer {layer_id}",
                        id="tilemaker.W001",
                    )
                )
    return messages
