from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "maps"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from maps import (
            checks,  # noqa: F401  (registers the system checks)
            events,
            restricted,
        )
        from maps.models import Band, Layer, Map, MapGroup

        restricted.register(MapGroup)
        restricted.register(Map, parent="map_group")
        restricted.register(Band, parent="map")
        restricted.register(Layer, parent="band")
        events.connect()
