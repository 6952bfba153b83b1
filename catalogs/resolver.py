"""Object names resolved by an online name resolver (CDS Sesame), asked by the server.

Sesame's ``-oxp`` output is XML: each ``Resolver`` that knows the name gives
``jradeg``/``jdedeg`` (ICRS degrees); one that does not gives an ``INFO``
such as ``*** Nothing found ***``. The first resolver with a position wins,
in the order asked (``SNV``: SIMBAD, NED, VizieR).
"""

import math
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

# A Sesame answer for one name is about 2 KB; more is not Sesame.
MAX_ANSWER_BYTES = 256 * 1024


class ResolverUnreachable(Exception):
    """No usable answer: network error, timeout, HTTP error or not Sesame's XML."""


@dataclass(frozen=True)
class Resolved:
    name: str
    ra_deg: float
    dec_deg: float
    resolver: str


def resolve_name(base_url: str, name: str, timeout_seconds: float) -> Resolved | None:
    """Ask the resolver at ``base_url`` for ``name``: its position, or None when unknown."""
    url = f"{base_url}?{urllib.parse.quote(name, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
            body = response.read(MAX_ANSWER_BYTES + 1)
    except (OSError, ValueError) as error:
        # URLError, HTTPError, timeouts and refused connections are OSErrors.
        raise ResolverUnreachable(str(error)) from None
    if len(body) > MAX_ANSWER_BYTES:
        raise ResolverUnreachable("answer too large")
    return parse_sesame(body, name)


def parse_sesame(body: bytes, name: str) -> Resolved | None:
    """The first position in a Sesame ``-oxp`` answer, or None when no resolver knew ``name``."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise ResolverUnreachable(f"not XML: {error}") from None
    if root.tag != "Sesame":
        raise ResolverUnreachable(f"not a Sesame answer: <{root.tag}>")
    for resolver in root.iter("Resolver"):
        ra_text, dec_text = resolver.findtext("jradeg"), resolver.findtext("jdedeg")
        if ra_text is None or dec_text is None:
            continue
        try:
            ra_deg, dec_deg = float(ra_text), float(dec_text)
        except ValueError:
            continue
        if math.isfinite(ra_deg) and math.isfinite(dec_deg) and -90 <= dec_deg <= 90:
            label = resolver.get("name", "").split("=")[-1].split(":")[0].strip()
            return Resolved(name, ra_deg % 360.0, dec_deg, label or "Sesame")
    return None
