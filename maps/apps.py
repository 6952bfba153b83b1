from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "maps"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from maps import checks  # noqa: F401  (registers the system checks)
