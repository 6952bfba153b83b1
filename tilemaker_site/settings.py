"""Django settings for TileMaker.

The environment is read here, once, through the typed helpers in
``tilemaker_site.env``. The defaults are the embedded set-up that needs no
server at all (SQLite, in-process cache, in-memory channel layer, no login),
so ``manage.py dev`` works on a fresh machine. Production sets
``TILEMAKER_DEBUG=no`` together with a real secret key and host list, and is
refused without them.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tilemaker_site.accounts.github import parse_github_org_grants
from tilemaker_site.cache import memcached_cache
from tilemaker_site.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_optional_str,
    env_rate,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -----------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)

_INSECURE_LOCAL_KEY = "django-insecure-tilemaker-local-only"
SECRET_KEY = env_optional_str("SECRET_KEY") or _INSECURE_LOCAL_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
# Internal, set by tilemaker_site.cli for `open` and `dev` bound beyond
# loopback (why: see there).
if env_bool("ANY_HOST", False):
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "*"]

if not DEBUG:
    if SECRET_KEY == _INSECURE_LOCAL_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "TILEMAKER_DEBUG=no needs TILEMAKER_SECRET_KEY set to a random string of 32+ characters"
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "TILEMAKER_DEBUG=no needs TILEMAKER_ALLOWED_HOSTS (comma-separated host names)"
        )

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "cachalot",
    "social_django",
    "channels",
    "tilemaker_site",
    "maps",
    "catalogs",
    "sky_regions",
    "frontend",
]

MIDDLEWARE = [
    "tilemaker_site.middleware.RequestLogMiddleware",
    "tilemaker_site.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "tilemaker_site.errors.JsonErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tilemaker_site.urls"
ASGI_APPLICATION = "tilemaker_site.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "social_django.context_processors.backends",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{Path.cwd() / 'tilemaker.sqlite3'}")
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 8, minimum=1)
# No persistent connections: under ASGI each request runs in a thread of its
# own, so a connection kept for the next request of "its" thread is never
# reused, only leaked until the thread is collected (with memcached down,
# PostgreSQL ran out of connections within seconds). PostgreSQL gets a pool
# per process instead, shared by those threads.
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
except ValueError as error:
    raise ImproperlyConfigured(f"TILEMAKER_DATABASE_URL: {error}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        # A request waits this long for a free connection before failing.
        "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


class _NoMigrations(dict):
    """``MIGRATION_MODULES`` saying "no migrations" for every app."""

    def __contains__(self, app_label):
        return True

    def __getitem__(self, app_label):
        return None


# Internal, set by tilemaker_site.cli for `open` and `dev`: their database is
# fresh and thrown away on exit, so tables are created straight from the
# models (``migrate --run-syncdb``), about 0.1 s instead of 1-2 s for
# replaying every migration, and it never needs migrating later.
if env_bool("EPHEMERAL_DATABASE", False):
    MIGRATION_MODULES = _NoMigrations()

# --- Cache ------------------------------------------------------------------

CACHE_TYPE = env_choice("CACHE_TYPE", "in_memory", ("in_memory", "memcached"))
MEMCACHED_HOST = env_str("MEMCACHED_HOST", "localhost")
MEMCACHED_PORT = env_int("MEMCACHED_PORT", 11211, minimum=1)
MEMCACHED_CLIENT_POOL_SIZE = env_int("MEMCACHED_CLIENT_POOL_SIZE", 4, minimum=1)
MEMCACHED_TIMEOUT_SECONDS = env_float("MEMCACHED_TIMEOUT_SECONDS", 0.5, minimum=0.01)
MEMCACHED_RETRY_SECONDS = env_float("MEMCACHED_RETRY_SECONDS", 5.0, minimum=0.1)
# LocMemCache bounds entries, not bytes: with float tiles of up to ~1.8 MB
# each, 512 entries keep the in-process cache near 1 GB at most.
CACHE_MAX_ENTRIES = env_int("CACHE_MAX_ENTRIES", 512, minimum=1)
# Encoded tiles each process keeps in front of memcached, so a warm tile
# costs no round trip (64 is a good size); the in-memory cache needs none.
TILE_MEMORY_MB = env_int("TILE_MEMORY_MB", 0, minimum=0)
# Tune glibc's allocator for the tile pipeline's megabyte buffers at server
# start (tilemaker_site.process.tune_malloc); "no" leaves glibc's defaults
# and MALLOC_* alone.
TUNE_MALLOC = env_bool("TUNE_MALLOC", True)

if CACHE_TYPE == "memcached":
    CACHES = {
        "default": memcached_cache(
            f"{MEMCACHED_HOST}:{MEMCACHED_PORT}",
            timeout_seconds=MEMCACHED_TIMEOUT_SECONDS,
            pool_size=MEMCACHED_CLIENT_POOL_SIZE,
            retry_seconds=MEMCACHED_RETRY_SECONDS,
        )
    }
    # cachalot checks the backend's dotted path against a list; this one is
    # Django's PyMemcacheCache with a shared client, which cachalot supports.
    SILENCED_SYSTEM_CHECKS = ["cachalot.W001"]
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tilemaker",
            "TIMEOUT": None,
            "OPTIONS": {"MAX_ENTRIES": CACHE_MAX_ENTRIES, "CULL_FREQUENCY": 4},
        }
    }

# Catalogue events reach sockets of this process only with the in-memory
# layer (open, dev, one worker); Redis carries them across daphne workers.
REDIS_URL = env_optional_str("REDIS_URL")
# redis-py 8 gives every socket a 5 s read timeout by default, as long as
# channels-redis' BRPOP wait: an idle socket's receive loop timed out and
# daphne closed the websocket with 1011 every 5.5 s (measured). Reads get a
# margin above that wait and still bound a save's wait on a hung Redis; a
# stopped Redis fails at once (refused).
REDIS_SOCKET_TIMEOUT_SECONDS = 10
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
                        "socket_connect_timeout": 2,
                    }
                ]
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- TileMaker behaviour ----------------------------------------------------

CONFIG_PATH = env_optional_str("CONFIG_PATH")
SERVE_FRONTEND = env_bool("SERVE_FRONTEND", True)
API_ENDPOINT = "/" + env_str("API_ENDPOINT", "/").strip("/")
PRECACHE = env_bool("PRECACHE", True)
# Watched folders (maps.watching): a new or rewritten file is taken once its
# size and mtime have not changed for WATCH_SETTLE_SECONDS. WATCH_POLLING
# "auto" uses inotify except on network filesystems (NFS, Lustre, GPFS ...),
# where inotify never hears other hosts' writes, and polls those every
# WATCH_POLL_SECONDS (stat only); "always" polls every folder, "never" never does.
WATCH_SETTLE_SECONDS = env_float("WATCH_SETTLE_SECONDS", 2.0, minimum=0.0)
WATCH_POLLING = env_choice("WATCH_POLLING", "auto", ("auto", "always", "never"))
WATCH_POLL_SECONDS = env_float("WATCH_POLL_SECONDS", 5.0, minimum=0.1)
AUTO_CONTRAST_PERCENTILE = env_float("ANALYSIS_AUTO_CONTRAST_PERCENTILE", 1.0, minimum=0.0)
MAX_CUTOUT_PIXELS = env_int("MAX_CUTOUT_PIXELS", 25_000_000, minimum=1)
# Most sources one /sources/{id}/view answer may hold (its ``limit``); 20000
# markers still draw at 60 frames per second in the viewer's WebGL layer.
MAX_VIEW_SOURCES = env_int("MAX_VIEW_SOURCES", 20_000, minimum=1)
# Most rows of a box one filtered /sources/{id}/view request tests: a sparse
# filter stops there (``truncated``) rather than decode a million rows' extras.
# About 8.6 us of CPU a row (bench/bench_million.py): 0.43 s at the cap.
MAX_VIEW_SCAN_ROWS = env_int("MAX_VIEW_SCAN_ROWS", 50_000, minimum=1)
MAX_APERTURE_RADIUS_ARCMIN = env_float("MAX_APERTURE_RADIUS_ARCMIN", 600.0, minimum=0.0)
# Saved regions (sky_regions): the largest DS9/CRTF upload, the regions one
# file may hold, a polygon's vertices, the candidate pixels of one region's
# statistics (its enclosing cap's bounding box, per plane) and a line's samples.
MAX_REGION_FILE_BYTES = env_int("MAX_REGION_FILE_BYTES", 1_000_000, minimum=1)
MAX_REGIONS_PER_FILE = env_int("MAX_REGIONS_PER_FILE", 1000, minimum=1)
MAX_POLYGON_VERTICES = env_int("MAX_POLYGON_VERTICES", 10_000, minimum=3)
MAX_REGION_PIXELS = env_int("MAX_REGION_PIXELS", 25_000_000, minimum=1)
MAX_PROFILE_SAMPLES = env_int("MAX_PROFILE_SAMPLES", 100_000, minimum=2)
# Tile, cut-out and aperture work that runs at the same time in one process;
# further requests wait their turn instead of all allocating at once.
MAX_CONCURRENT_RENDERS = env_int("MAX_CONCURRENT_RENDERS", max(2, os.cpu_count() or 2), minimum=1)
# Bytes of cut-outs held outside the render slots at once in one process:
# their pixels waiting to be encoded and their bodies until the client has
# read them (or left). 256 MB admits the largest default cut-out (25 Mpx:
# 100 MB of float32 pixels plus a 100 MB FITS body) with room for many small
# ones; a cut-out over it waits up to INFLIGHT_WAIT_SECONDS, then gets a 503.
MAX_INFLIGHT_MB = env_int("MAX_INFLIGHT_MB", 256, minimum=1)
INFLIGHT_WAIT_SECONDS = env_float("INFLIGHT_WAIT_SECONDS", 10.0, minimum=0.0)
# Go-to by name beyond the catalogues: the server asks this name resolver
# (CDS Sesame's XML output, the name appended after "?"), so the page's
# connect-src stays 'self'. Empty (the default) sends nothing outside.
NAME_RESOLVER_URL = env_str("NAME_RESOLVER_URL", "")
NAME_RESOLVER_TIMEOUT_SECONDS = env_float("NAME_RESOLVER_TIMEOUT_SECONDS", 5.0, minimum=0.1)
# Folders that confine every FITS and catalogue path (after resolving
# symlinks); empty means any readable regular file.
DATA_ROOTS = [Path(p).resolve() for p in env_list("DATA_ROOTS", [])]

# --- CORS -------------------------------------------------------------------

ADD_CORS = env_bool("ADD_CORS", True)
ORIGINS = env_list("ORIGINS", ["*"])
if ADD_CORS:
    CORS_ALLOW_ALL_ORIGINS = ORIGINS == ["*"]
    CORS_ALLOWED_ORIGINS = [] if CORS_ALLOW_ALL_ORIGINS else ORIGINS
    # Allowing every origin together with credentials would echo any Origin
    # back with cookies: credentials only go to an explicit origin list.
    CORS_ALLOW_CREDENTIALS = not CORS_ALLOW_ALL_ORIGINS
else:
    CORS_ALLOWED_ORIGINS = []
# A data tile's decoding headers (maps.image_views.DataTileView): a
# script on another origin may read only the headers listed here.
CORS_EXPOSE_HEADERS = [
    "X-Tile-Shape",
    "X-Tile-Dtype",
    "X-Tile-Encoding",
    "X-Tile-Block-Size",
    "X-Tile-Max-Error",
    "X-Tile-Base",
    "X-Tile-Step",
    "X-Tile-Exact-Because",
    "X-Derived-Op",
    "X-Polarisation-Convention",
]
# Django's CSRF check compares a POST's Origin header with the site's own
# host and with this list: without it, a page on an allowed origin (a
# viewer served elsewhere) is refused even when it sends a valid token.
# "*" is never trusted for unsafe methods.
CSRF_TRUSTED_ORIGINS = [origin for origin in ORIGINS if origin != "*"] if ADD_CORS else []

# --- Auth -------------------------------------------------------------------

AUTH_TYPE = env_choice("AUTH_TYPE", "mock", ("mock", "github"))
MOCK_GRANTS = frozenset(env_list("MOCK_GRANTS", []))
SOCIAL_AUTH_GITHUB_KEY = env_str("GITHUB_KEY", "")
SOCIAL_AUTH_GITHUB_SECRET = env_str("GITHUB_SECRET", "")
if AUTH_TYPE == "github" and not (SOCIAL_AUTH_GITHUB_KEY and SOCIAL_AUTH_GITHUB_SECRET):
    raise ImproperlyConfigured(
        "TILEMAKER_AUTH_TYPE=github needs TILEMAKER_GITHUB_KEY and TILEMAKER_GITHUB_SECRET"
    )
GITHUB_ORG_GRANTS = parse_github_org_grants(
    env_optional_str("GITHUB_ORG_GRANTS"), variable="TILEMAKER_GITHUB_ORG_GRANTS"
)
# Private organisation and team membership is only visible with read:org.
SOCIAL_AUTH_GITHUB_SCOPE = ["read:org"] if GITHUB_ORG_GRANTS else []
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_names",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
    "tilemaker_site.accounts.pipeline.sync_github_grants",
)
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/"
SOCIAL_AUTH_SANITIZE_REDIRECTS = True
SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS: list[str] = []

# Organisation grants are only re-read at login, so a session must end
# within a day for a removed member to lose access within a day.
SESSION_HOURS = env_int("SESSION_HOURS", 12, minimum=1)
if AUTH_TYPE == "github" and SESSION_HOURS > 24:
    raise ImproperlyConfigured(
        f"TILEMAKER_SESSION_HOURS={SESSION_HOURS}: at most 24 with TILEMAKER_AUTH_TYPE=github"
    )
SESSION_COOKIE_AGE = SESSION_HOURS * 3600
# The database store, refusing malformed keys before any query (NUL bytes).
SESSION_ENGINE = "tilemaker_site.sessions"
SESSION_COOKIE_HTTPONLY = True
# Lax, not Strict: the return from GitHub is a cross-site top-level GET that
# must carry the session holding the OAuth state.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "tilemaker_site.accounts.views.csrf_failure"

AUTHENTICATION_BACKENDS = [
    "social_core.backends.github.GithubOAuth2",
    "django.contrib.auth.backends.ModelBackend",
]

# --- HTTPS behind a TLS-terminating proxy (production) ----------------------

# docker/nginx.conf terminates TLS and overwrites X-Forwarded-Proto with the
# scheme the browser used; the workers are reachable only through it, so
# the header can be trusted. Off in debug: `open` and `dev` speak plain HTTP.
HTTPS = env_bool("HTTPS", not DEBUG)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31_536_000, minimum=0)
    # Both only concern names under the serving host (a.maps.example.org for
    # maps.example.org), never its parent domain.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Secure cookies whenever the browser reaches us over HTTPS, and only then:
# a plain-HTTP deployment with Secure cookies could never log anyone in.
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# The callback GitHub sends the browser back to uses the scheme it reached us by.
SOCIAL_AUTH_REDIRECT_IS_HTTPS = HTTPS

# --- Static files, i18n, logging --------------------------------------------

STATIC_URL = "static/"
# Only collectstatic needs a folder (the Docker image sets one); without it
# ServeStatic serves straight from the apps' static folders.
_static_root = env_optional_str("STATIC_ROOT")
STATIC_ROOT = Path(_static_root) if _static_root else None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SERVESTATIC_USE_FINDERS = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Personal API tokens (tilemaker_site.accounts): the lifetime a new token
# gets unless its owner asks for less, and the most it may ask for. A token
# never lives forever, in debug or not: a forgotten one in an old notebook
# must die by itself.
API_TOKEN_DEFAULT_DAYS = env_int("API_TOKEN_DEFAULT_DAYS", 90, minimum=1)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365, minimum=1)
if API_TOKEN_DEFAULT_DAYS > API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured(
        "TILEMAKER_API_TOKEN_DEFAULT_DAYS must not exceed TILEMAKER_API_TOKEN_MAX_DAYS"
    )

# Fair use (tilemaker_site.rate_limits): requests per window to the
# expensive endpoints (cut-outs, apertures, histograms, limits, region
# statistics), counted per user (every token and session of one user share
# one count) and per client address for anonymous callers. Off in debug:
# `open` and `dev` serve one person's own laptop.
RATE_LIMIT_EXPENSIVE = env_rate("RATE_LIMIT_EXPENSIVE", "off" if DEBUG else "60/minute")
RATE_LIMIT_EXPENSIVE_ANON = env_rate("RATE_LIMIT_EXPENSIVE_ANON", "off" if DEBUG else "30/minute")
# Peers whose X-Forwarded-For is believed (docker/compose.yaml: nginx on
# 127.0.0.1); from anyone else the header is ignored, since a client can
# write anything there.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: DRF asks the first class for the 401's WWW-Authenticate.
        "tilemaker_site.accounts.tokens.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "tilemaker_site.errors.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TileMaker API",
    "DESCRIPTION": "Tiles, cut-outs and catalogues of CAR sky maps.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc served from the installed sidecar package, not a
    # CDN: the docs must work on an offline laptop or HPC login node.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# cachalot forgets a cached query when its own process, or another one
# sharing the cache, writes a table. With the in-process cache nobody tells
# a process about writes made by another (the other worker, `import_config`,
# a shell): a newly restricted layer stayed in its menus, a deactivated user
# stayed logged in, for CACHALOT_TIMEOUT. So queries are cached only in the
# shared cache.
CACHALOT_ENABLED = CACHE_TYPE == "memcached"
# A big catalogue's rows (100k sources: several MB pickled) cost more to
# store in the cache than to read from the database, and exceed memcached's
# 1 MB item limit, so every request would pay for a failed store. The
# visibility generation is written by triggers, which cachalot never sees.
CACHALOT_UNCACHABLE_TABLES = frozenset(
    {"django_migrations", "catalogs_source", "maps_visibilitygeneration"}
)
# cachalot invalidates by writing to the cache, and a hung or restarting
# memcached drops that write silently: without an expiry, a query cached
# before the outage (which maps a grant reveals, say) would be served stale
# until the next write to its tables. This bounds how long.
CACHALOT_TIMEOUT = env_int("CACHALOT_TIMEOUT_SECONDS", 60, minimum=1)

# On in production; `open` and `dev` keep the console for their own messages.
LOG_REQUESTS = env_bool("LOG_REQUESTS", not DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "tilemaker": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "maps": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # One line per request (tilemaker_site.middleware); server errors are
        # logged whatever this says.
        "tilemaker.requests": {"level": "INFO" if LOG_REQUESTS else "ERROR"},
    },
}
