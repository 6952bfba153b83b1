"""Follow a presenter: what of a presenter's view a follower is sent.

The view state is the viewer's own URL query (``writeUrlState`` in
``frontend/static/frontend/js/main.js``), so a follower sees exactly what a
link would show. Every parameter naming a layer, catalogue or box is checked
through ``maps.grants`` for the follower; a hidden one is removed with the
parameters describing it (its colours, its contour settings, its table), so
nothing of it reaches the follower but the fact that something was removed.
"""

import re
from urllib.parse import parse_qsl, urlencode

from django.apps import apps

from maps import grants

# A presenter's link is a capability: 24 random bytes cannot be guessed.
SESSION_ID_BYTES = 24
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32}")
# Twice the longest view a viewer writes with every panel, overlay and table setting on.
MAX_STATE_CHARS = 16384
HIDDEN_NOTE = "The presenter shows something you cannot see."

_COLOUR = ("vmin", "vmax", "cmap", "log", "abs", "stretch", "asinh_a", "gamma")
_DERIVED = ("derived", "da", "db", "dsa", "dsb", "debias", "sigma")
_CONTOURS = ("ct", "ctm", "ctl", "ctn", "ctlo", "cthi", "ctc", "ctsm", "ctsf")
_TABLE = ("tcat", "tfilter", "tsort", "tsize", "tcolour")
_LAYER = ("maps.layer", "layer_id")
_CATALOGUE = ("catalogs.sourcegroup", "source_group_id")
_BOX = ("regions.box", "name")

# Parameter naming an object -> (model label, public id field), and the
# parameters that go with it when it is hidden (besides the pair itself).
_OBJECT_PARAMETERS = {
    "layer": (_LAYER, (*_COLOUR, "lock", *_DERIVED)),
    "da": (_LAYER, _DERIVED),
    "db": (_LAYER, _DERIVED),
    "cmpl": (_LAYER, ()),
    "ct": (_LAYER, _CONTOURS),
    "vsig": (_LAYER, ("vsig", "vdb")),
    "cat": (_CATALOGUE, ()),
    "tcat": (_CATALOGUE, _TABLE),
    "box": (_BOX, ()),
}
# A linked panel's layer: p1..p4, with its colours p1vmin, p1cmap...
_PANEL_LAYER = re.compile(r"p(\d+)")


class StateError(ValueError):
    """A presenter's state that is not a view's URL query."""


def checked_state(state) -> str:
    """``state`` if it can be a view's URL query; ``StateError`` saying why not."""
    if not isinstance(state, str):
        raise StateError("state must be the view's URL query, a string.")
    if len(state) > MAX_STATE_CHARS:
        raise StateError(f"state is longer than {MAX_STATE_CHARS} characters.")
    return state


def _rule(name: str) -> tuple[tuple[str, str], tuple[str, ...]] | None:
    if name in _OBJECT_PARAMETERS:
        return _OBJECT_PARAMETERS[name]
    panel = _PANEL_LAYER.fullmatch(name)
    if panel:
        return _LAYER, tuple(f"p{panel.group(1)}{colour}" for colour in _COLOUR)
    return None


def visible_state(state: str, granted: frozenset[str]) -> tuple[str, bool]:
    """The part of the view ``state`` a holder of the grants ``granted`` may see,
    and whether anything was removed.

    A missing object is removed like a hidden one: both are the same to a follower.
    """
    pairs = parse_qsl(state, keep_blank_values=True)
    removed_names: set[str] = set()
    removed_pairs: set[int] = set()
    for index, (name, value) in enumerate(pairs):
        rule = _rule(name)
        if rule is None or not value:
            continue
        (label, id_field), dependents = rule
        # No id holds a NUL, and PostgreSQL refuses one in a query: missing.
        model = apps.get_model(label)
        required = (
            None if "\x00" in value else grants.required_grants_by_id(model, {id_field: value})
        )
        if not grants.may_see(granted, required):
            removed_pairs.add(index)
            removed_names.update(dependents)
    kept = [
        pair
        for index, pair in enumerate(pairs)
        if index not in removed_pairs and pair[0] not in removed_names
    ]
    return urlencode(kept), bool(removed_pairs)
