"""Swagger UI for ``/docs`` under the site's Content-Security-Policy.

drf-spectacular's plain view writes its start-up script inline, which
``script-src 'self'`` forbids; the split view serves it from ``/docs?script``
instead. The page names the schema in a ``service-desc`` link (RFC 8631),
since the script, not the page, now carries its URL.
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerDocsView(SpectacularSwaggerSplitView):
    template_name = "tilemaker_site/swagger_ui.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if request.GET.get("script") is None:
            response.data["schema_url"] = self._get_schema_url(request)
        return response

    def options(self, request, *args, **kwargs):
        # DRF's OPTIONS answer is a metadata dict, which the page's HTML
        # template cannot render: it was a 500.
        return HttpResponse(status=204, headers={"Allow": ", ".join(self.allowed_methods)})
