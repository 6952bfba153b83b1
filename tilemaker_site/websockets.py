"""The websocket side of the ASGI application, mounted by ``tilemaker_site.asgi``.

Imported once the apps are loaded (the routes import consumers and models).
"""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from maps.routing import websocket_urlpatterns
from tilemaker_site.urls import API_PREFIX

# The session cookie decides the user, as for HTTP; the Origin check refuses
# pages of other sites, which would otherwise ride on that cookie.
application = AllowedHostsOriginValidator(
    AuthMiddlewareStack(URLRouter(websocket_urlpatterns(API_PREFIX)))
)
