"""Source names by prefix for the viewer's go-to box, from the catalogues a caller may see."""

from django.db.models import QuerySet
from django.db.models.functions import Lower

from catalogs.models import Source
from maps.grants import visible

DEFAULT_NAME_LIMIT = 20
MAX_NAME_LIMIT = 100


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix`` (non-empty).

    The last character is incremented rather than a maximal character
    appended: on a PostgreSQL with a linguistic collation U+10FFFF may weigh
    nothing, which would cut the range short.
    """
    following = ord(prefix[-1]) + 1
    if following > 0x10FFFF:
        return prefix + "\U0010ffff"
    if 0xD800 <= following <= 0xDFFF:
        # Surrogates cannot be encoded for the database; none is in a name.
        following = 0xE000
    return prefix[:-1] + chr(following)


def names_with_prefix(user, prefix: str, limit: int) -> QuerySet:
    """Visible sources whose lower-cased name starts with ``prefix`` (lower-cased), by name.

    A range on ``lower(name)`` walks the ``source_name_lower`` index in order
    on SQLite and PostgreSQL (a ``LIKE`` would not on either without an
    operator class or a NOCASE column); the ``startswith`` keeps the range
    exact where a linguistic collation puts other strings inside it. SQLite's
    lower() folds ASCII letters only.
    """
    key = prefix.lower()
    return (
        visible(Source, user)
        .annotate(name_key=Lower("name"))
        .filter(name_key__gte=key, name_key__lt=prefix_upper_bound(key), name_key__startswith=key)
        .order_by("name_key", "id")
        .values("name", "ra", "dec", "source_group__source_group_id")[:limit]
    )
