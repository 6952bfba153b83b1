"""The derived-layer endpoints: the image views, with the layer found by ``maps.derived``.

Each view is the stored-layer view it subclasses (same checks, caches,
ETags and errors); only ``find_layer`` differs, and the OpenAPI description.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from maps import derived, image_views
from maps.engine.derived import DERIVED_OPS
from maps.engine.polarisation import DEBIAS_METHODS

_INPUT_PARAMETERS = [
    OpenApiParameter(
        "op",
        str,
        OpenApiParameter.PATH,
        enum=list(DERIVED_OPS),
        description="difference a - b, ratio a / b, sum a + b (a = scale_a * A, b = scale_b * "
        "B); p = sqrt(Q^2 + U^2) and angle (polarisation angle in degrees from north through "
        "east, in (-90, 90]) of A = Q and B = U.",
    ),
    OpenApiParameter("a", str, OpenApiParameter.PATH, description="Layer id of A (Q for p/angle)."),
    OpenApiParameter("b", str, OpenApiParameter.PATH, description="Layer id of B (U for p/angle)."),
    OpenApiParameter("scale_a", float, description="Factor on A, finite; default 1."),
    OpenApiParameter("scale_b", float, description="Factor on B, finite; default 1."),
    OpenApiParameter(
        "debias",
        str,
        enum=list(DEBIAS_METHODS),
        description="op p only: debias P for a noise sigma of Q and U (mas: Plaszczynski et "
        "al. 2014; asymptotic: sqrt(max(P^2 - sigma^2, 0))); needs sigma. Default none.",
    ),
    OpenApiParameter(
        "sigma", float, description="op p only: the noise of Q and of U, in their unit, > 0."
    ),
]
_DERIVED_HEADERS = [
    OpenApiParameter("X-Derived-Op", str, OpenApiParameter.HEADER, response=[200]),
    OpenApiParameter(
        "X-Polarisation-Convention",
        str,
        OpenApiParameter.HEADER,
        response=[200],
        description="op angle: IAU or COSMO, the convention of Q and U used (POLCCONV of Q's "
        "file, else the Q layer's polarisation_convention, else IAU).",
    ),
]
_NOT_MODIFIED = OpenApiResponse(description="Not modified (If-None-Match matched the ETag).")
_DESCRIPTION = (
    "A derived layer computed on the fly from two layers on one pixel grid, pixel by "
    "pixel at native resolution (coarse levels average the derived values). Visible only "
    "when both inputs are; a hidden input answers exactly like a missing one (404). Inputs "
    "on different grids, an unknown op or a scale that is not a finite number answer 400. "
    "Where an input has no data or a ratio divides by zero the value is NaN (no data). "
)


class _DerivedLookup:
    def find_layer(self, request, kwargs: dict):
        rest = dict(kwargs)
        names = {key: rest.pop(key) for key in ("op", "a", "b")}
        return derived.visible_derived_layer(request.user, request.GET, **names), rest


_TILE_EXTRA = [
    OpenApiParameter("level", int, OpenApiParameter.PATH),
    OpenApiParameter("x", int, OpenApiParameter.PATH),
    OpenApiParameter("y", int, OpenApiParameter.PATH),
    OpenApiParameter(
        "method", str, enum=["mean", "stride"], description="Coarse levels, as for layer tiles."
    ),
]


class DerivedLayerView(_DerivedLookup, image_views.ImageAPIView):
    @extend_schema(
        operation_id="derived_layer",
        summary="A derived layer's description: geometry, units, colours, convention.",
        description=_DESCRIPTION + "Fields as in /layers/{id} (geometry, units, cmap, vmin, "
        "vmax), plus op, inputs, scale_a, scale_b; for angle polarisation_convention and "
        "polarisation_convention_from (POLCCONV, layer or default); for p debias and sigma.",
        parameters=_INPUT_PARAMETERS,
        responses={200: OpenApiResponse(description="Layer-like JSON."), **image_views._ERRORS},
        tags=["Derived layers"],
    )
    def get(self, request, **kwargs):
        layer, _ = self.find_layer(request, kwargs)
        return Response(derived.describe(layer), headers=derived.response_headers(layer))


class DerivedTileView(_DerivedLookup, image_views.TileView):
    @extend_schema(
        operation_id="derived_tile",
        summary="One tile of a derived layer, coloured (parameters as for layer tiles).",
        description=_DESCRIPTION,
        parameters=[
            *_INPUT_PARAMETERS,
            *_TILE_EXTRA,
            OpenApiParameter("ext", str, OpenApiParameter.PATH),
            *image_views._RENDER_PARAMETERS,
            *_DERIVED_HEADERS,
        ],
        responses={
            **image_views._binary("image/png", "image/webp", "image/jpeg"),
            304: _NOT_MODIFIED,
            **image_views._ERRORS,
        },
        tags=["Derived layers"],
    )
    async def get(self, request, **kwargs):
        return await super().get(request, **kwargs)


class DerivedDataTileView(_DerivedLookup, image_views.DataTileView):
    @extend_schema(
        operation_id="derived_data_tile",
        summary="One tile of a derived layer as float32 values (format as layer data tiles).",
        description=_DESCRIPTION,
        parameters=[
            *_INPUT_PARAMETERS,
            *_TILE_EXTRA,
            OpenApiParameter("ext", str, OpenApiParameter.PATH),
            OpenApiParameter("flip", bool),
            *_DERIVED_HEADERS,
        ],
        responses={
            **image_views._binary(image_views.DATA_TILE_MEDIA_TYPE),
            304: _NOT_MODIFIED,
            **image_views._ERRORS,
        },
        tags=["Derived layers"],
    )
    async def get(self, request, **kwargs):
        return await super().get(request, **kwargs)


class DerivedSubmapView(_DerivedLookup, image_views.SubmapView):
    @extend_schema(
        operation_id="derived_submap",
        summary="A cut-out of a derived layer (as layer cut-outs: FITS or an image).",
        description=_DESCRIPTION,
        parameters=[
            *_INPUT_PARAMETERS,
            *(OpenApiParameter(n, float, OpenApiParameter.PATH) for n in ("left", "right")),
            *(OpenApiParameter(n, float, OpenApiParameter.PATH) for n in ("top", "bottom")),
            OpenApiParameter("ext", str, OpenApiParameter.PATH),
            *image_views._RENDER_PARAMETERS,
            *_DERIVED_HEADERS,
        ],
        responses={
            **image_views._binary("application/fits", "image/png", "image/webp", "image/jpeg"),
            **image_views._ERRORS,
        },
        tags=["Derived layers"],
    )
    def get(self, request, **kwargs):
        return super().get(request, **kwargs)


class DerivedHistogramView(_DerivedLookup, image_views.HistogramDataView):
    @extend_schema(
        operation_id="derived_histogram",
        summary="128-bin histogram of a derived layer (as /histograms/data/{id}).",
        description=_DESCRIPTION,
        parameters=_INPUT_PARAMETERS,
        responses={200: image_views.HISTOGRAM_RESPONSE, **image_views._ERRORS},
        tags=["Derived layers"],
    )
    def get(self, request, **kwargs):
        return super().get(request, **kwargs)


class DerivedLimitsView(_DerivedLookup, image_views.LayerLimitsView):
    @extend_schema(
        operation_id="derived_limits",
        summary="Colour limits of a derived layer (as /layers/{id}/limits).",
        description=_DESCRIPTION,
        parameters=[
            *_INPUT_PARAMETERS,
            OpenApiParameter("method", str, description="As for /layers/{id}/limits."),
            OpenApiParameter("percent", float, description="As for /layers/{id}/limits."),
        ],
        responses={200: image_views.LIMITS_RESPONSE, **image_views._ERRORS},
        tags=["Derived layers"],
    )
    def get(self, request, **kwargs):
        return super().get(request, **kwargs)
