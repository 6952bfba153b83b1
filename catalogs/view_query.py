"""The sources of a sky box, at most ``limit`` of them, first by rank: ``/sources/{id}/view``.

Two plans, picked from the box's count (read from the ``source_box`` index
alone): a box holding few sources is read through ``source_box`` and sorted
by rank; a crowded one is walked in rank order through ``source_rank_box``
until ``limit`` sources inside the box are found, about
``limit * group size / count`` index entries. The unary ``+`` on a column
stops either database from using an index on it, which is how each query
is held to its plan (SQLite's planner has no statistics to choose by). On
1e6 sources both stay under ~100 ms (bench/bench_million.py).
"""

from dataclasses import dataclass

from django.db import connections, router

from catalogs.models import Source, SourceGroup


@dataclass(frozen=True)
class SkyBox:
    """RA from ``right_deg`` eastwards to ``left_deg`` (may wrap 0/360), Dec ``bottom..top``."""

    left_deg: float
    right_deg: float
    top_deg: float
    bottom_deg: float

    def where(self, plain: bool) -> tuple[str, list[float]]:
        """SQL condition and parameters; ``plain=False`` keeps indexes off dec and ra."""
        dec, ra = ('"dec"', "ra") if plain else ('+"dec"', "+ra")
        parts, params = [f"{dec} >= %s AND {dec} <= %s"], [self.bottom_deg, self.top_deg]
        if self.left_deg - self.right_deg < 360.0:
            east, west = self.left_deg % 360.0, self.right_deg % 360.0
            joint = "AND" if west <= east else "OR"
            parts.append(f"({ra} >= %s {joint} {ra} <= %s)")
            params += [west, east]
        return " AND ".join(parts), params


@dataclass(frozen=True)
class ViewAnswer:
    total: int
    rows: list[tuple]  # (id, name, ra, dec, extra_json)


def sources_in_box(group: SourceGroup, box: SkyBox, limit: int) -> ViewAnswer:
    """The sources in ``box``: all when at most ``limit``, else the first ``limit`` by rank."""
    connection = connections[router.db_for_read(Source)]
    table = connection.ops.quote_name(Source._meta.db_table)
    select = (
        f'SELECT id, name, ra, "dec", CAST(extra AS text) FROM {table} '
        "WHERE source_group_id = %s AND "
    )
    with connection.cursor() as cursor:
        condition, params = box.where(plain=True)
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE source_group_id = %s AND {condition}",
            [group.pk, *params],
        )
        total = cursor.fetchone()[0]
        if total == 0:
            return ViewAnswer(0, [])
        cursor.execute(f"SELECT MAX(rank) FROM {table} WHERE source_group_id = %s", [group.pk])
        group_size = (cursor.fetchone()[0] or 0) + 1
        # Reading the box costs about ``total`` rows, walking by rank about
        # ``limit * group_size / total``: equal where total = sqrt(limit * size).
        if total <= limit or total * total < limit * group_size:
            cursor.execute(
                select + condition + " ORDER BY rank + 0 LIMIT %s", [group.pk, *params, limit]
            )
        else:
            condition, params = box.where(plain=False)
            cursor.execute(
                select + condition + " ORDER BY rank LIMIT %s", [group.pk, *params, limit]
            )
        rows = cursor.fetchall()
    return ViewAnswer(total, rows)
