from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "regions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from maps import restricted
        from regions.models import Box

        restricted.register(Box)
