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
from collections.abc import Callable
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
        group_size = _group_size(cursor, table, group)
        if group_size == 0:
            return ViewAnswer(0, False, [])
        # Reading the box costs about its count, walking by rank about
        # ``limit * group_size / count``: equal at the crossover.
        crossover = max(limit, math.isqrt(limit * group_size))
        count_cap = max(crossover, EXACT_COUNT_MIN)
        arms = box.arms()
        counted = _count_in_box(cursor, table, group, arms, count_cap)
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


# Rows fetched and tested at a time by a filtered view query: few enough
# that a dense filter reads little past its ``limit`` matches.
FILTER_BATCH_ROWS = 2000
# Rows of the rest of the box, spread evenly over its rank order, tested to
# estimate the matches the walk did not reach: about 1/sqrt(hits) off. Not
# the walked rows' match rate, which a filter on brightness skews: with
# ``snr > 20`` (the brightest 1.8% of 1e6) that said 1,000,000, not 18,000.
FILTER_SAMPLE_ROWS = 2000


@dataclass(frozen=True)
class FilteredViewAnswer:
    total: int
    total_is_estimate: bool
    truncated: bool  # the walk stopped at ``max_rows`` examined
    rows: list[tuple]  # (id, name, ra, dec, extra_json)


def matching_sources_in_box(
    group: SourceGroup,
    box: SkyBox,
    limit: int,
    keep: Callable[[tuple], bool],
    max_rows: int,
) -> FilteredViewAnswer:
    """The first ``limit`` sources in ``box`` by rank that ``keep``, examining at most ``max_rows``.

    The box's rows are read in rank order, ``FILTER_BATCH_ROWS`` at a time,
    by the plan ``sources_in_box`` would pick, and tested in Python (the
    filter language is evaluated there, catalogs/views.py ``_row_filter``).
    The walk stops at ``limit`` matches, at the end of the box, or after
    ``max_rows`` rows of the box (``truncated``), so a sparse filter costs a
    bounded amount per request. Stopped early, ``total`` is the matches
    found plus those of the rest of the box estimated from at most
    ``FILTER_SAMPLE_ROWS`` rows spread evenly over its rank order (exact,
    and not ``total_is_estimate``, when that is all of the rest).
    """
    connection = connections[router.db_for_read(Source)]
    table = connection.ops.quote_name(Source._meta.db_table)
    columns = 'id, name, ra, "dec", CAST(extra AS text), rank'
    with connection.cursor() as cursor:
        group_size = _group_size(cursor, table, group)
        if group_size == 0:
            return FilteredViewAnswer(0, False, False, [])
        crossover = max(limit, math.isqrt(limit * group_size))
        arms = box.arms()
        counted = _count_in_box(cursor, table, group, arms, crossover)
        prefix = "" if connection.vendor == "postgresql" else "+"
        if counted <= crossover:
            ids = _zone_ids(cursor, table, group, arms, max_rows)
            batches = _id_batches(cursor, table, columns, ids)
        else:
            condition, params = box.filter(prefix)
            batches = _rank_batches(cursor, table, columns, group, condition, params)
        kept: list[tuple] = []
        examined = 0
        last_rank = -1
        stopped = False
        for batch in batches:
            for row in batch:
                if len(kept) == limit or examined == max_rows:
                    stopped = True
                    break
                examined += 1
                last_rank = row[5]
                if keep(row[:5]):
                    kept.append(row[:5])
            if stopped:
                break
        # The zone plan's ids stop at ``max_rows``: the box may hold more.
        if not stopped and counted <= crossover and examined < counted:
            stopped = True
        if not stopped:
            return FilteredViewAnswer(len(kept), False, False, kept)
        truncated = len(kept) < limit
        if counted <= crossover:
            rest = counted - examined
            hits, tested, exact = _sample_ids(cursor, table, columns, ids[examined:], keep)
            exact = exact and examined + tested == counted
        else:
            rest = group_size - last_rank - 1
            ranks = _spread(last_rank + 1, rest)
            condition, params = box.filter(prefix)
            hits = 0
            if ranks:
                marks = ", ".join(["%s"] * len(ranks))
                cursor.execute(
                    f"SELECT {columns} FROM {table} WHERE source_group_id = %s "
                    f"AND rank IN ({marks}) AND {condition}",
                    [group.pk, *ranks, *params],
                )
                hits = sum(keep(row[:5]) for row in cursor.fetchall())
            tested, exact = len(ranks), len(ranks) == rest
    # tested == 0: the zone plan walked all its ids, and the box holds more.
    estimate = len(kept) + hits * rest / tested if tested else len(kept) * counted / examined
    return FilteredViewAnswer(round(estimate), not exact, truncated, kept)


def _group_size(cursor, table, group) -> int:
    """Sources in the catalogue: ranks run 0..n-1, so the top rank answers from the index."""
    cursor.execute(f"SELECT MAX(rank) FROM {table} WHERE source_group_id = %s", [group.pk])
    highest_rank = cursor.fetchone()[0]
    return 0 if highest_rank is None else highest_rank + 1


def _count_in_box(cursor, table, group, arms, cap: int) -> int:
    """Sources in the box's arms, counted up to ``cap + 1`` (past it, "more than cap")."""
    counted = 0
    for condition, params in arms:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} "
            f"WHERE source_group_id = %s AND {condition} LIMIT %s) AS inside",
            [group.pk, *params, cap + 1 - counted],
        )
        counted += cursor.fetchone()[0]
    return counted


def _spread(first: int, count: int) -> list[int]:
    """``count`` values from ``first`` on, or ``FILTER_SAMPLE_ROWS`` of them spread evenly."""
    if count <= FILTER_SAMPLE_ROWS:
        return list(range(first, first + count))
    return [
        first + (2 * i + 1) * count // (2 * FILTER_SAMPLE_ROWS) for i in range(FILTER_SAMPLE_ROWS)
    ]


def _sample_ids(cursor, table, columns, ids, keep) -> tuple[int, int, bool]:
    """(matches, rows tested, whether that was all of ``ids``) for a spread sample of ``ids``."""
    chosen = [ids[i] for i in _spread(0, len(ids))]
    hits = 0
    for start in range(0, len(chosen), FILTER_BATCH_ROWS):
        chunk = chosen[start : start + FILTER_BATCH_ROWS]
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id IN ({marks})", chunk)
        hits += sum(keep(row[:5]) for row in cursor.fetchall())
    return hits, len(chosen), len(chosen) == len(ids)


def _zone_ids(cursor, table, group, arms, max_rows) -> list[int]:
    """The ids of a sparse box's first ``max_rows`` rows by rank, read from ``source_zone_box``."""
    union = " UNION ALL ".join(
        f"SELECT id, rank + 0 AS priority FROM {table} WHERE source_group_id = %s AND {condition}"
        for condition, _ in arms
    )
    params = [value for _, arm in arms for value in (group.pk, *arm)]
    cursor.execute(
        f"SELECT id FROM ({union} ORDER BY priority LIMIT %s) AS chosen", [*params, max_rows]
    )
    return [row[0] for row in cursor.fetchall()]


def _id_batches(cursor, table, columns, ids):
    """The rows of ``ids`` (in rank order), ``FILTER_BATCH_ROWS`` at a time."""
    for start in range(0, len(ids), FILTER_BATCH_ROWS):
        chunk = ids[start : start + FILTER_BATCH_ROWS]
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id IN ({marks}) ORDER BY rank", chunk)
        yield cursor.fetchall()


def _rank_batches(cursor, table, columns, group, condition, params):
    """The rows of a crowded box in rank order, walked through ``source_rank_box`` by rank."""
    last_rank = -1
    while True:
        cursor.execute(
            f"SELECT {columns} FROM {table} WHERE source_group_id = %s AND rank > %s "
            f"AND {condition} ORDER BY rank LIMIT %s",
            [group.pk, last_rank, *params, FILTER_BATCH_ROWS],
        )
        batch = cursor.fetchall()
        if batch:
            yield batch
        if len(batch) < FILTER_BATCH_ROWS:
            return
        last_rank = batch[-1][5]
