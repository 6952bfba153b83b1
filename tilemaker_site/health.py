"""``/healthz``: is the database answering, is the cache storing and returning values.

Load balancers and container health checks poll this without credentials,
so the answer is two words and a status code; the reason for a failure goes
to the server log only (a connection error can name hosts, users, paths).

Only a dead database makes the answer 503. Without memcached every worker
still serves tiles from disk (slower), so a health check that failed on the
cache would take all workers out of rotation for an outage they survive;
the body still says ``"cache": "error"`` for monitoring to alert on.
"""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger("tilemaker.health")

_PROBE_TIMEOUT_SECONDS = 30


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health check: database unreachable")
        return False


def cache_ok() -> bool:
    # The memcached backend is configured to swallow errors (a dead cache
    # must not break tile serving), so reachability is only visible as a
    # value that does not come back.
    key = f"tilemaker:healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "ok", timeout=_PROBE_TIMEOUT_SECONDS)
        stored = cache.get(key)
        cache.delete(key)
    except Exception:
        logger.exception("health check: cache unreachable")
        return False
    if stored != "ok":
        logger.warning("health check: cache did not return a value just stored")
        return False
    return True


# Exempt so that a POST gets the JSON 405 below rather than the HTML CSRF
# page: the view changes nothing whatever the method.
@csrf_exempt
@never_cache
def healthz(request):
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"detail": f"method {request.method} not allowed"}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    checks = {
        "database": "ok" if database_ok() else "error",
        "cache": "ok" if cache_ok() else "error",
    }
    return JsonResponse(checks, status=200 if checks["database"] == "ok" else 503)
