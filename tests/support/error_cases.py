"""The table of hostile requests every server answers with a JSON 4xx (issue 11).

Each case is a request no client should send and what the server must
answer; ``every_method_cases`` adds each method on each route. Run by
``test_error_table`` against ``serve`` (daphne, SQLite) and against the
production stack (nginx, daphne, PostgreSQL), with and without a session.
"""

from dataclasses import dataclass, field

import requests

HUGE = ("1e308", "-1e308", "1e309", "99999999999999999999999", "nan", "inf")
# A session cookie whose quoted octal escape Django unquotes to a NUL byte
# (PostgreSQL refuses NUL in a query: every endpoint answered 500).
NUL_SESSION_COOKIE = 'sessionid="abcdefgh\\000ijklmnop"'
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FOO")


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    method: str = "GET"
    headers: dict = field(default_factory=dict)
    # None: any status below 500 (and JSON with "detail" when 4xx).
    status: int | None = None


def routes(layer: str, broken_layer: str | None = None) -> list[str]:
    """One URL per route of the API and the site (the OpenAPI ones and the others)."""
    paths = [
        "/",
        "/healthz",
        "/openapi.json",
        "/docs",
        "/auth/me",
        "/auth/logout/",
        "/auth/login/github/",
        "/auth/complete/github/",
        "/map-groups",
        "/map-groups/nope/maps",
        "/maps/nope/bands",
        "/bands/nope/layers",
        "/layers/default",
        f"/layers/{layer}",
        "/search?q=a",
        f"/layers/{layer}/0/0/0/tile.png",
        f"/layers/{layer}/0/0/0/data.f32",
        f"/layers/{layer}/submap/10/20/5/-5/image.png",
        f"/histograms/data/{layer}",
        f"/layers/{layer}/limits?method=zscale",
        "/histograms/viridis.png",
        f"/analysis/aperture/{layer}?ra=10&dec=0&radius=5",
        "/sources",
        "/sources/nope",
        "/highlights/boxes",
    ]
    if broken_layer:
        paths.append(f"/layers/{broken_layer}/0/0/0/tile.png")
    return paths


def reported_cases(layer: str, *, no_data_tile: str, broken_layer: str | None) -> list[Case]:
    submap = f"/layers/{layer}/submap"
    cases = [
        Case(
            "submap RA 1e308 (OverflowError)", f"{submap}/1e308/-1e308/5/-5/image.fits", status=400
        ),
        Case("submap RA 1e308 png", f"{submap}/1e308/10/5/-5/image.png", status=400),
        Case(
            "aperture RA 1e308",
            f"/analysis/aperture/{layer}?ra=1e308&dec=0&radius=1",
            status=400,
        ),
        Case("OPTIONS /docs", "/docs", method="OPTIONS", status=204),
        Case(
            "1001 query parameters",
            "/map-groups?" + "&".join(f"p{i}=1" for i in range(1001)),
            status=400,
        ),
        Case(
            "1001 query parameters on a tile",
            f"/layers/{layer}/0/0/0/tile.png?" + "&".join(f"p{i}=1" for i in range(1001)),
            status=400,
        ),
        Case(
            "If-None-Match * on a tile with no data",
            no_data_tile,
            headers={"If-None-Match": "*"},
            status=404,
        ),
        Case("TRACE /", "/", method="TRACE", status=405),
        Case("TRACE /map-groups", "/map-groups", method="TRACE", status=405),
        Case("20 kB URL", "/layers/" + "a" * 20_000, status=414),
        Case("20 kB header", "/map-groups", headers={"X-Big": "a" * 20_000}),
        Case("absurd Range", f"/layers/{layer}/0/0/0/tile.png", headers={"Range": "bytes=9" * 50}),
        Case(
            "absurd If-None-Match",
            f"/layers/{layer}/0/0/0/tile.png",
            headers={"If-None-Match": ",".join(['W/"x"'] * 500)},
        ),
        Case("NUL in a path segment", f"/layers/{layer}%00x", status=400),
        Case("NUL in a tile segment", f"/layers/{layer}/0/0%00/0/tile.png", status=400),
        Case(
            "NUL in a query value", f"/analysis/aperture/{layer}?ra=1%00&dec=0&radius=1", status=400
        ),
        Case(
            "invalid UTF-8 in query",
            f"/analysis/aperture/{layer}?ra=%ff%fe&dec=0&radius=1",
            status=400,
        ),
        Case("invalid UTF-8 in path", "/layers/%ff%fe"),
    ]
    for route in routes(layer):
        cases.append(
            Case(f"NUL session cookie on {route}", route, headers={"Cookie": NUL_SESSION_COOKIE})
        )
    for value in HUGE:
        for name, path in (
            ("level", f"/layers/{layer}/{value}/0/0/tile.png"),
            ("y", f"/layers/{layer}/0/{value}/0/tile.png"),
            ("x", f"/layers/{layer}/0/0/{value}/tile.png"),
            ("data tile level", f"/layers/{layer}/{value}/0/0/data.f32"),
            ("data tile x", f"/layers/{layer}/0/0/{value}/data.f32"),
            ("left", f"{submap}/{value}/20/5/-5/image.png"),
            ("right", f"{submap}/10/{value}/5/-5/image.fits"),
            ("top", f"{submap}/10/20/{value}/-5/image.png"),
            ("bottom", f"{submap}/10/20/5/{value}/image.png"),
            ("ra", f"/analysis/aperture/{layer}?ra={value}&dec=0&radius=5"),
            ("dec", f"/analysis/aperture/{layer}?ra=10&dec={value}&radius=5"),
            ("radius", f"/analysis/aperture/{layer}?ra=10&dec=0&radius={value}"),
            ("vmin", f"/layers/{layer}/0/0/0/tile.png?vmin={value}"),
            ("vmax", f"/layers/{layer}/0/0/0/tile.png?vmax={value}"),
            ("gamma", f"/layers/{layer}/0/0/0/tile.png?stretch=power&gamma={value}"),
            ("asinh_a", f"/layers/{layer}/0/0/0/tile.png?stretch=asinh&asinh_a={value}"),
            ("limits percent", f"/layers/{layer}/limits?percent={value}"),
        ):
            cases.append(Case(f"{name}={value}", path))
    if broken_layer:
        cases.append(
            Case(
                "corrupted tile-compressed FITS",
                f"/layers/{broken_layer}/0/0/0/tile.png",
                status=404,
            )
        )
    return cases


def every_method_cases(layer: str, broken_layer: str | None = None) -> list[Case]:
    return [
        Case(f"{method} {route}", route, method=method)
        for route in routes(layer, broken_layer)
        for method in METHODS
    ]


def check(http: requests.Session, base_url: str, case: Case) -> str | None:
    """What is wrong with the answer to ``case``, or None."""
    try:
        response = http.request(
            case.method,
            base_url + case.path,
            headers=case.headers,
            timeout=60,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return f"{case.name}: no answer ({type(error).__name__}: {error})"
    status = response.status_code
    if status >= 500:
        return f"{case.name}: {status} {response.text[:200]!r}"
    if case.status is not None and status != case.status:
        return f"{case.name}: {status} instead of {case.status}: {response.text[:200]!r}"
    if status < 400 or case.method == "HEAD":
        return None
    content_type = response.headers.get("Content-Type", "")
    if not content_type.startswith("application/json"):
        return f"{case.name}: {status} {content_type!r} {response.text[:120]!r}"
    try:
        body = response.json()
    except ValueError:
        return f"{case.name}: {status} body is not JSON: {response.text[:120]!r}"
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return f"{case.name}: {status} no detail: {body!r}"
    if status == 405 and "Allow" not in response.headers:
        return f"{case.name}: 405 without Allow"
    return None
