from django.apps import AppConfig


class CatalogsConfig(AppConfig):
    name = "catalogs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from catalogs.models import Source, SourceGroup
        from maps import restricted

        restricted.register(SourceGroup)
        # Not remembered: its table has no visibility trigger, as a catalogue
        # import writes up to a million rows.
        restricted.register(Source, parent="source_group", remembered=False)
