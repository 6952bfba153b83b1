"""One error shape for the whole API: ``{"detail": "<what was wrong>"}``.

Three pieces cooperate so that no client ever sees an HTML error page or a
body that differs between a missing and a hidden object:

- ``api_exception_handler`` (DRF's ``EXCEPTION_HANDLER``) flattens DRF's
  field-keyed validation errors into one sentence and keeps ``Http404``
  messages as raised by ``maps.grants``, which never depend on whether the
  object exists.
- ``JsonErrorMiddleware`` answers for everything outside DRF: unknown URLs,
  plain Django views, and exceptions nothing else caught. It replaces
  non-JSON 4xx/5xx bodies (Django's HTML pages, including the DEBUG
  technical pages) with the JSON shape, keeping the status.
- ``error_response`` / ``BadRequest`` for views that want to answer an error
  themselves.
"""

import logging

from django.conf import settings
from django.core.exceptions import BadRequest as DjangoBadRequest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.http.multipartparser import MultiPartParserError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from tilemaker_site.middleware import HybridMiddleware

logger = logging.getLogger("maps.api")

_GENERIC_DETAIL = {
    400: "Bad request.",
    403: "Forbidden.",
    404: "Not found.",
    405: "Method not allowed.",
    406: "Not acceptable.",
    413: "Request too large.",
    414: "URI too long.",
    415: "Unsupported media type.",
    429: "Too many requests.",
    500: "Internal server error.",
    503: "Service unavailable.",
}

# For ``extend_schema(responses={404: NOT_FOUND, ...})``: documents the error shape.
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "What was wrong."}},
    "required": ["detail"],
}
NOT_FOUND = OpenApiResponse(ERROR_SCHEMA, description="Unknown id, or hidden from this user.")
BAD_REQUEST = OpenApiResponse(ERROR_SCHEMA, description="Malformed request; `detail` says why.")

_CLIENT_ERRORS = (DjangoBadRequest, PermissionDenied, SuspiciousOperation, MultiPartParserError)


class BadRequest(exceptions.APIException):
    """A 400 whose message says what was wrong, e.g. ``BadRequest("vmin must be < vmax")``."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "bad_request"


def error_response(detail: str, status_code: int = 400) -> JsonResponse:
    """The API's error answer for plain Django views."""
    return JsonResponse({"detail": detail}, status=status_code)


def flatten_detail(detail) -> str:
    """One readable sentence from DRF's nested error detail (str, list or dict)."""
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            text = flatten_detail(value)
            parts.append(text if field in ("detail", "non_field_errors") else f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list | tuple):
        return "; ".join(flatten_detail(item) for item in detail)
    return str(detail)


def api_exception_handler(exc, context):
    """DRF exception handler answering every handled error as ``{"detail": str}``."""
    response = exception_handler(exc, context)
    if response is None:
        # Unexpected: let it propagate to JsonErrorMiddleware, which logs it
        # with the traceback and answers a JSON 500.
        return None
    response.data = {"detail": flatten_detail(response.data)}
    return response


def _answers_json(request) -> bool:
    """Whether an error for this request belongs to the API (not the admin or static files)."""
    path = request.path_info
    if path.startswith(("/admin/", "/" + settings.STATIC_URL.lstrip("/"))):
        return False
    prefix = settings.API_ENDPOINT.rstrip("/")
    if prefix:
        return path == prefix or path.startswith(prefix + "/")
    return True


def _has_nul(request) -> bool:
    return "\x00" in request.path_info or any(
        "\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values
    )


class JsonErrorMiddleware(HybridMiddleware):
    """Turn non-JSON error answers and uncaught exceptions under the API into JSON.

    Place it just inside ``CorsMiddleware`` so that the JSON error still
    carries the CORS headers (browsers hide the body of an error without
    them, and the viewer could not show what went wrong).
    """

    def before(self, request):
        if not _answers_json(request):
            return None
        try:
            has_nul = _has_nul(request)
        except SuspiciousOperation as error:
            # More than DATA_UPLOAD_MAX_NUMBER_FIELDS query parameters: raised
            # here, outside any view, it would get Django's HTML page.
            return error_response(f"Bad request: {error}", 400)
        if has_nul:
            # No id or parameter can contain NUL, and PostgreSQL refuses it in
            # a query with an exception (a 500) instead of finding nothing.
            return error_response("The URL contains a NUL character.", 400)
        return None

    def after(self, request, response):
        if response.status_code < 400 or not _answers_json(request):
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith("application/json"):
            return response
        detail = _GENERIC_DETAIL.get(response.status_code, response.reason_phrase or "Error.")
        replacement = error_response(detail, response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement

    def process_exception(self, request, exception):
        if not _answers_json(request):
            return None
        if isinstance(exception, Http404):
            # maps.grants words these the same for a missing and a hidden id.
            return error_response(str(exception) or _GENERIC_DETAIL[404], 404)
        if isinstance(exception, _CLIENT_ERRORS):
            # Django maps these to 400/403 itself; __call__ makes the body JSON.
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(_GENERIC_DETAIL[500], 500)
