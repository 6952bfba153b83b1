"""ASGI entry point served by daphne: HTTP through Django, websockets through channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilemaker_site.settings")

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

from tilemaker_site.process import tune_process

# Before Django loads the apps: every daphne worker imports this module first.
tune_process()

django_asgi_app = get_asgi_application()

# After the apps are loaded: the websocket routes import consumers and models.
from maps.file_versions import announce_new_versions  # noqa: E402
from tilemaker_site import websockets  # noqa: E402

# A served process tells open viewers about a map file it sees rewritten.
announce_new_versions()

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websockets.application})
