"""Saved regions API: list/create/get/update/delete, DS9/CRTF import and export,
statistics and cut-outs of any region on any layer the caller may see.

Writes use DRF's session authentication, so they need the CSRF token like
every other POST. Only a region's owner may change or delete it; public is
set by staff in the admin, never through the API.
"""

import io

import numpy as np
from astropy.io import fits
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from maps import render_limits, tiles
from maps.engine.region_stats import checked_region, cutout_bounds, line_profile, region_stats
from maps.grants import visible
from maps.image_errors import api_error_for
from maps.models import Layer
from sky_regions import shapes
from sky_regions.models import Region
from sky_regions.visibility import visible_region_or_404, visible_regions
from tilemaker_site.errors import BadRequest
from tilemaker_site.rate_limits import ExpensiveRateThrottle

EXPORT_MEDIA_TYPES = {"ds9": "text/plain", "crtf": "text/plain"}
_ERRORS = {status: OpenApiTypes.OBJECT for status in (400, 403, 404)}


def _doc(operation_id: str, summary: str, *, body=None, ok=200, answer=OpenApiTypes.OBJECT, **more):
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=body,
        responses={ok: answer, **_ERRORS},
        tags=["Regions"],
        **more,
    )


_TYPE = OpenApiParameter("type", str, enum=list(shapes.FORMATS), description="ds9 or crtf.")


def _to_json(region: Region) -> dict:
    return {
        "id": region.pk,
        "name": region.name,
        "owner": region.owner.get_username(),
        "region": region.params,
        "ds9": shapes.serialize([region.params], file_format="ds9"),
        "group": region.group.name if region.group else None,
        "public": region.public,
    }


def _shape_from(value) -> dict:
    """A checked engine dict from a DS9 string (one region) or a JSON object."""
    limit = settings.MAX_POLYGON_VERTICES
    if isinstance(value, str):
        found = shapes.parse(
            value, file_format=shapes.guess_format(value), max_regions=1, max_vertices=limit
        )
        return found[0]
    if isinstance(value, dict):
        return checked_region(value, max_vertices=limit)
    raise BadRequest('"region" must be a DS9 string or a JSON object with a "kind"')


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise BadRequest("the body must be a JSON object")
    return request.data


def _owner(request):
    if not request.user.is_authenticated:
        raise NotAuthenticated("log in to save regions")
    return request.user


def _group(request, name):
    if name is None:
        return None
    group = request.user.groups.filter(name=name).first() if isinstance(name, str) else None
    if group is None:
        raise BadRequest(f"you are not a member of a group named {str(name)[:80]!r}")
    return group


class RegionAPIView(APIView):
    def handle_exception(self, exc):
        if isinstance(exc, shapes.RegionError):
            exc = BadRequest(str(exc))
        return super().handle_exception(api_error_for(exc))


class RegionList(RegionAPIView):
    @_doc("regions_list", "Regions the caller may see: own, shared with a group, public.")
    def get(self, request):
        found = visible_regions(request.user).select_related("owner", "group")
        return Response([_to_json(region) for region in found])

    @_doc(
        "regions_create",
        "Save a region: {name, region (DS9 string or JSON), group}.",
        body=OpenApiTypes.OBJECT,
        ok=201,
    )
    def post(self, request):
        owner = _owner(request)
        body = _body(request)
        name = body.get("name", "")
        if not isinstance(name, str) or len(name) > 300:
            raise BadRequest('"name" must be a string of at most 300 characters')
        shape = _shape_from(body.get("region"))
        region = Region.objects.create(
            owner=owner,
            name=name,
            shape=shape["kind"],
            params=shape,
            group=_group(request, body.get("group")),
        )
        return Response(_to_json(region), status=201)


class RegionDetail(RegionAPIView):
    def _own(self, request, pk) -> Region:
        region = visible_region_or_404(request.user, pk)
        if region.owner_id != request.user.pk:
            raise PermissionDenied("only the region's owner may change it")
        return region

    @_doc("region", "One region the caller may see.")
    def get(self, request, pk):
        return Response(_to_json(visible_region_or_404(request.user, pk)))

    @_doc("region_update", "Change an own region's name, shape or group.", body=OpenApiTypes.OBJECT)
    def patch(self, request, pk):
        region = self._own(request, pk)
        body = _body(request)
        if "public" in body:
            raise BadRequest("only a curator can make a region public (in the admin)")
        if "name" in body:
            if not isinstance(body["name"], str) or len(body["name"]) > 300:
                raise BadRequest('"name" must be a string of at most 300 characters')
            region.name = body["name"]
        if "region" in body:
            shape = _shape_from(body["region"])
            region.shape, region.params = shape["kind"], shape
        if "group" in body:
            region.group = _group(request, body["group"])
        region.save()
        return Response(_to_json(region))

    @_doc("region_delete", "Delete an own region.", ok=204, answer=None)
    def delete(self, request, pk):
        self._own(request, pk).delete()
        return Response(status=204)


class RegionFileParser(BaseParser):
    """A text body as bytes, at most one byte past the file size limit.

    Without a parser for it, a browser session's text/plain upload fails
    DRF's CSRF check (it reads ``request.POST``, which parses the body) with
    415, and once a parser has read the stream ``request.body`` is gone.
    """

    media_type = "text/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read(settings.MAX_REGION_FILE_BYTES + 1)


class RegionImport(RegionAPIView):
    """The request body is the file's text; ``?type=ds9|crtf`` (default: guessed).

    ``format`` would be DRF's renderer override, hence ``type``.
    """

    parser_classes = [RegionFileParser]

    @_doc(
        "regions_import",
        "Save every region of a DS9 or CRTF file (the body).",
        body=OpenApiTypes.STR,
        ok=201,
        parameters=[_TYPE],
    )
    def post(self, request):
        owner = _owner(request)
        # An empty body never reaches the parser: DRF gives an empty dict.
        raw = request.data if isinstance(request.data, bytes) else b""
        if len(raw) > settings.MAX_REGION_FILE_BYTES:
            raise BadRequest(
                f"the file is more than the limit of {settings.MAX_REGION_FILE_BYTES} bytes"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("a region file must be UTF-8 text") from None
        file_format = request.GET.get("type") or shapes.guess_format(text)
        found = shapes.parse(
            text,
            file_format=file_format,
            max_regions=settings.MAX_REGIONS_PER_FILE,
            max_vertices=settings.MAX_POLYGON_VERTICES,
        )
        with transaction.atomic():
            created = [
                Region.objects.create(owner=owner, shape=shape["kind"], params=shape)
                for shape in found
            ]
        return Response([_to_json(region) for region in created], status=201)


class RegionExport(RegionAPIView):
    """``?type=ds9|crtf`` and optional ``ids=1,2`` (default: every visible region)."""

    @_doc(
        "regions_export",
        "Download regions as a DS9 or CRTF file.",
        answer=OpenApiTypes.STR,
        parameters=[_TYPE, OpenApiParameter("ids", str, description="Comma-separated ids.")],
    )
    def get(self, request):
        file_format = request.GET.get("type", "ds9")
        if file_format not in shapes.FORMATS:
            raise BadRequest(f"type must be one of {', '.join(shapes.FORMATS)}")
        found = visible_regions(request.user)
        ids = request.GET.get("ids")
        if ids:
            try:
                wanted = [int(part) for part in ids.split(",")]
            except ValueError:
                raise BadRequest("ids must be comma-separated integers") from None
            found = found.filter(pk__in=wanted)
        params = [region.params for region in found]
        if not params:
            raise BadRequest("no region to export")
        text = shapes.serialize(params, file_format=file_format)
        extension = "reg" if file_format == "ds9" else "crtf"
        return HttpResponse(
            text,
            content_type=EXPORT_MEDIA_TYPES[file_format],
            headers={"Content-Disposition": f'attachment; filename="regions.{extension}"'},
        )


def _region_of_request(request, body) -> dict:
    if "region_id" in body:
        if not isinstance(body["region_id"], int) or isinstance(body["region_id"], bool):
            raise BadRequest('"region_id" must be an integer')
        return visible_region_or_404(request.user, body["region_id"]).params
    if "region" not in body:
        raise BadRequest('give "region" (DS9 string or JSON) or "region_id"')
    return _shape_from(body["region"])


def _planes(request, layer_id) -> list[tuple[str, Layer]]:
    """The layer and, for a Stokes plane, its band's visible I/Q/U planes, by label."""
    if not isinstance(layer_id, str):
        raise BadRequest('"layer_id" must be a string')
    layer = tiles.visible_layer(request.user, layer_id)
    if not layer.stokes:
        return [(layer.layer_id, layer)]
    found = {}
    planes = visible(Layer, request.user).filter(band_id=layer.band_id).exclude(stokes="")
    for plane in planes.order_by("position", "pk"):
        found.setdefault(plane.stokes, plane)
    return sorted(found.items())


class RegionStats(RegionAPIView):
    """``{layer_id, region | region_id, background?}``; statistics (a line: its profile)
    on the layer and, for a Stokes layer, on every I/Q/U plane of its band."""

    # Writes nothing: POST only because a region is too long for a URL,
    # so an API token (read-only) may call it.
    computes_only = True
    throttle_classes = (ExpensiveRateThrottle,)

    @_doc("region_stats", "Statistics (or a line's profile) of a region.", body=OpenApiTypes.OBJECT)
    def post(self, request):
        body = _body(request)
        region = _region_of_request(request, body)
        background = body.get("background")
        if background is not None and not isinstance(background, dict):
            raise BadRequest('"background" must be {"inner_radius_deg", "outer_radius_deg"}')
        planes = _planes(request, body.get("layer_id"))
        results = {}
        for label, layer in planes:
            source = tiles.pixel_source(layer)
            with render_limits.render_slot():
                if region["kind"] == "line":
                    profile = line_profile(
                        read=source.read_window,
                        pixel_grid=source.info.pixel_grid,
                        region=region,
                        max_samples=settings.MAX_PROFILE_SAMPLES,
                    )
                    profile["value"] = [None if np.isnan(v) else v for v in profile["value"]]
                    results[label] = {"layer_id": layer.layer_id, "profile": profile}
                else:
                    stats = region_stats(
                        read=source.read_window,
                        pixel_grid=source.info.pixel_grid,
                        region=region,
                        max_pixels=settings.MAX_REGION_PIXELS,
                        background=background,
                    )
                    results[label] = {"layer_id": layer.layer_id, **stats}
        return Response({"layer_id": body["layer_id"], "region": region, "planes": results})


class RegionCutout(RegionAPIView):
    """``{layer_id, region | region_id}``: a FITS file, one image HDU per plane.

    Multi-HDU rather than a cube: a band's Stokes planes may come from
    different files with their own headers (BUNIT, history); each HDU keeps
    its own CAR WCS and is named by its Stokes parameter (or layer id).
    """

    # Writes nothing: POST only because a region is too long for a URL,
    # so an API token (read-only) may call it.
    computes_only = True
    throttle_classes = (ExpensiveRateThrottle,)

    @_doc(
        "region_cutout",
        "FITS cut-out of a region's bounding box, one HDU per plane.",
        body=OpenApiTypes.OBJECT,
        answer=OpenApiTypes.BINARY,
    )
    def post(self, request):
        body = _body(request)
        bounds = cutout_bounds(_region_of_request(request, body))
        hdus = [fits.PrimaryHDU()]
        for label, layer in _planes(request, body.get("layer_id")):
            cut = tiles.cutout(layer, **bounds)
            header = cut.header.copy()
            header["EXTNAME"] = label
            header["LAYERID"] = layer.layer_id
            hdus.append(fits.ImageHDU(data=cut.data, header=header))
        buffer = io.BytesIO()
        fits.HDUList(hdus).writeto(buffer)
        return HttpResponse(
            buffer.getvalue(),
            content_type="application/fits",
            headers={"Content-Disposition": 'attachment; filename="region_cutout.fits"'},
        )
