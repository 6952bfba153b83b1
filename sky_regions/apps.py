from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "sky_regions"
    # The label stays "regions" so the tables (regions_box), migrations, content
    # types and admin URLs are unchanged; the package was renamed only so it no
    # longer shadows the astropy-affiliated `regions` package (DS9/CRTF files).
    label = "regions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from maps import restricted
        from sky_regions.models import Box

        restricted.register(Box)
