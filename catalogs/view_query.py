"""The sources of a sky box, at most ``limit`` of them, first by rank: ``/sources/{id}/view``.

Two plans, picked from a count of the box capped at the crossover
``sqrt(limit * group size)``:

- a box holding fewer sources is read through ``source_zone_box``: one range
  of RA per one-degree zone of Dec (two across RA 0), so about the box's own
  sources are read, from the index alone, sorted by rank, and only the first
  ``limit`` rows are then looked up;
- a crowded one is walked in rank order through ``source_rank_box`` until
  ``limit`` sources inside the box are found, about ``limit * group size /
  count`` index entries.

Either costs at most about the crossover's index entries (70,000 for 5000 of
1e6 sources) where counting a whole-sky box exactly would read all 1e6
(~460 ms on SQLite, bench/bench_million.py). So a crowded box's ``total`` is
estimated from how far the rank walk went, with a relative error of about
``1 / sqrt(limit)`` (ranks are independent of position when random;
brightness may cluster); boxes of up to ``EXACT_COUNT_MIN`` sources are
always counted exactly.

On SQLite, whose planner has no statistics to choose by, the unary ``+`` on
a column stops it from using an index on it, which holds the walk to its
plan; PostgreSQL's planner (statistics from the import's ``ANALYZE``) picks
the rank index for it by itself, and would mis-estimate ``+dec`` instead.
"""

import math
from dataclasses import dataclass

from django.db import connections, router

from catalogs.models import Source, SourceGroup, dec_zone

# Counting this many index entries costs a few ms: small boxes and small
# catalogues always get an exact ``total``.
EXACT_COUNT_MIN = 50_000


@dataclass(frozen=True)
class SkyBox:
    """RA from ``right_deg`` eastwards to ``left_deg`` (may wrap 0/360), Dec ``bottom..top``."""

    left_deg: float
    right_deg: float
    top_deg: float
    bottom_deg: float

    def ra_ranges(self) -> list[tuple[float, float]]:
        """The box's RA as ranges within 0..360: one, or two across RA 0."""
        if self.left_deg - self.right_deg >= 360.0:
            return [(0.0, 360.0)]
        east, west = self.left_deg % 360.0, self.right_deg % 360.0
        return [(west, east)] if west <= east else [(west, 360.0), (0.0, east)]

    def zones(self) -> list[int]:
        return list(range(dec_zone(self.bottom_deg), dec_zone(self.top_deg) + 1))

    def arms(self) -> list[tuple[str, list]]:
        """Conditions (with parameters) for each RA range, read through ``source_zone_box``."""
        zones = self.zones()
        marks = ", ".join(["%s"] * len(zones))
        return [
            (
                f'zone IN ({marks}) AND ra >= %s AND ra <= %s AND "dec" >= %s AND "dec" <= %s',
                [*zones, low, high, self.bottom_deg, self.top_deg],
            )
            for low, high in self.ra_ranges()
        ]

    def filter(self, prefix: str) -> tuple[str, list]:
        """One condition for the whole box, its columns written ``prefix + name``."""
        dec, ra = f'{prefix}"dec"', f"{prefix}ra"
        ranges = [f"({ra} >= %s AND {ra} <= %s)" for _ in self.ra_ranges()]
        params = [self.bottom_deg, self.top_deg]
        params += [edge for ra_range in self.ra_ranges() for edge in ra_range]
        return f"{dec} >= %s AND {dec} <= %s AND ({' OR '.join(ranges)})", params


@dataclass(frozen=True)
class ViewAnswer:
    total: int
    total_is_estimate: bool
    rows: list[tuple]  # (id, name, ra, dec, extra_json)


def sources_in_box(group: SourceGroup, box: SkyBox, limit: int) -> ViewAnswer:
    """The sources in ``box``: all when at most ``limit``, else the first ``limit`` by rank."""
    connection = connections[router.db_for_read(Source)]
    table = connection.ops.quote_name(Source._meta.db_table)
    columns = 'id, name, ra, "dec", CAST(extra AS text), rank'
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(rank) FROM {table} WHERE source_group_id = %s", [group.pk])
        highest_rank = cursor.fetchone()[0]
        if highest_rank is None:
            return ViewAnswer(0, False, [])
        group_size = highest_rank + 1
        # Reading the box costs about its count, walking by rank about
        # ``limit * group_size / count``: equal at the crossover.
        crossover = max(limit, math.isqrt(limit * group_size))
        count_cap = max(crossover, EXACT_COUNT_MIN)
        arms = box.arms()
        counted = 0
        for condition, params in arms:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} "
                f"WHERE source_group_id = %s AND {condition} LIMIT %s) AS inside",
                [group.pk, *params, count_cap + 1 - counted],
            )
            counted += cursor.fetchone()[0]
        if counted <= crossover:
            union = " UNION ALL ".join(
                # ``rank + 0``: not the rank index's order, which SQLite would walk.
                f"SELECT id, rank + 0 AS priority FROM {table} "
                f"WHERE source_group_id = %s AND {condition}"
                for condition, _ in arms
            )
            params = [value for _, arm in arms for value in (group.pk, *arm)]
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE id IN "
                f"(SELECT id FROM ({union} ORDER BY priority LIMIT %s) AS chosen) ORDER BY rank",
                [*params, limit],
            )
        else:
            condition, params = box.filter("" if connection.vendor == "postgresql" else "+")
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE source_group_id = %s AND {condition} "
                "ORDER BY rank LIMIT %s",
                [group.pk, *params, limit],
            )
        rows = cursor.fetchall()
    if counted <= count_cap:
        return ViewAnswer(counted, False, [row[:5] for row in rows])
    if len(rows) < limit:  # the walk went through the whole group
        return ViewAnswer(len(rows), False, [row[:5] for row in rows])
    # The walk read about ``last rank + 1`` entries to find ``limit`` inside.
    estimate = round(limit * group_size / (rows[-1][5] + 1))
    return ViewAnswer(max(estimate, count_cap + 1), True, [row[:5] for row in rows])
