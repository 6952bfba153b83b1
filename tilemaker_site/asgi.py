"""ASGI entry point served by daphne: HTTP through Django, websockets reserved for later."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilemaker_site.settings")

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

application = ProtocolTypeRouter({"http": django_asgi_app})
