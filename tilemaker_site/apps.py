from django.apps import AppConfig


class TilemakerSiteConfig(AppConfig):
    """What makes the site: accounts, the error layer, deploy checks, templates."""

    name = "tilemaker_site"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tilemaker_site import checks  # noqa: F401  (registers the system checks)
