"""System checks for what a TileMaker site needs beyond Django's own.

Registered in ``TilemakerSiteConfig.ready()``. The deploy checks run with
``check --deploy`` and cover what Django's security checks cannot know:
TileMaker's own settings and how they combine. The checks of the maps
themselves (their files) are in ``maps.checks``.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.caches)
def check_cache_reachable(app_configs=None, **kwargs):
    if settings.CACHE_TYPE != "memcached":
        return []
    from tilemaker_site.health import cache_ok

    if cache_ok():
        return []
    return [
        Warning(
            f"memcached at {settings.MEMCACHED_HOST}:{settings.MEMCACHED_PORT} does not answer",
            hint="Tiles will be served from disk, uncached, until it does. Check "
            "TILEMAKER_MEMCACHED_HOST / TILEMAKER_MEMCACHED_PORT and that memcached runs "
            "with -I 16m (float tiles are up to ~1.8 MB).",
            id="tilemaker.W002",
        )
    ]


@register(Tags.security, deploy=True)
def check_deploy_settings(app_configs=None, **kwargs):
    messages = []
    if "*" in settings.ALLOWED_HOSTS:
        messages.append(
            Warning(
                'ALLOWED_HOSTS contains "*": any Host header is accepted.',
                hint="List the public host names in TILEMAKER_ALLOWED_HOSTS.",
                id="tilemaker.W010",
            )
        )
    cors_all = getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False) or any(
        origin == "*" for origin in getattr(settings, "CORS_ALLOWED_ORIGINS", [])
    )
    if cors_all and getattr(settings, "CORS_ALLOW_CREDENTIALS", False):
        messages.append(
            Error(
                "CORS allows every origin together with credentials: any web site "
                "could read restricted maps with a logged-in visitor's cookies.",
                hint="Set TILEMAKER_ORIGINS to the list of sites that may call the API.",
                id="tilemaker.E011",
            )
        )
    if settings.AUTH_TYPE == "mock":
        if settings.MOCK_GRANTS:
            messages.append(
                Error(
                    "TILEMAKER_AUTH_TYPE=mock with TILEMAKER_MOCK_GRANTS: every visitor "
                    "holds those grants and sees the maps they restrict.",
                    hint="Use TILEMAKER_AUTH_TYPE=github in production.",
                    id="tilemaker.E012",
                )
            )
        else:
            messages.append(
                Warning(
                    "TILEMAKER_AUTH_TYPE=mock: nobody can log in, restricted maps are "
                    "invisible to everyone.",
                    hint="Use TILEMAKER_AUTH_TYPE=github with an OAuth application.",
                    id="tilemaker.W013",
                )
            )
    if settings.DEBUG:
        messages.append(
            Warning(
                "TILEMAKER_DEBUG is on: error pages show settings and code to visitors.",
                hint="Set TILEMAKER_DEBUG=no (with TILEMAKER_SECRET_KEY and "
                "TILEMAKER_ALLOWED_HOSTS).",
                id="tilemaker.W015",
            )
        )
    if settings.CACHE_TYPE != "memcached":
        messages.append(
            Warning(
                "In-process cache in production: each worker renders its own tiles, and "
                "no database query is cached (django-cachalot needs a cache the workers "
                "share to hear of each other's writes).",
                hint="Set TILEMAKER_CACHE_TYPE=memcached.",
                id="tilemaker.W016",
            )
        )
    if settings.DATABASE_URL.startswith("sqlite"):
        messages.append(
            Warning(
                "SQLite database in production: several workers writing at once lock it.",
                hint="Set TILEMAKER_DATABASE_URL=postgres://...",
                id="tilemaker.W017",
            )
        )
    if not settings.DEBUG and not settings.HTTPS:
        messages.append(
            Warning(
                "TILEMAKER_HTTPS=no: session and CSRF cookies are not Secure and travel "
                "in clear text if the site is reachable over plain HTTP.",
                hint="Serve through a TLS-terminating proxy that sets X-Forwarded-Proto "
                "(docker/nginx.conf) and leave TILEMAKER_HTTPS at its default (yes).",
                id="tilemaker.W019",
            )
        )
    if not settings.DATA_ROOTS:
        messages.append(
            Warning(
                "TILEMAKER_DATA_ROOTS is empty: a layer curated in the admin may point at "
                "any file the server can read.",
                hint="Set TILEMAKER_DATA_ROOTS to the folder(s) where the maps are mounted.",
                id="tilemaker.W018",
            )
        )
    return messages
