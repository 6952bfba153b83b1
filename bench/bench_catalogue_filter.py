"""Server-side catalogue filter (catalogs/filterexpr.py): rows tested per second.

``/sources/{id}?filter=`` decodes each row's stored extras and runs the
parsed filter on it, batch by batch; this prints that rate for 200,000
ACT-like rows (no database), and the whole-catalogue answer for the same
rows without a filter for scale: ``python3 bench/bench_catalogue_filter.py``.
"""

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from catalogs.filterexpr import parse_filter
from catalogs.serializers import sources_json

N_ROWS = 200_000
FILTERS = [
    "snr > 5 and flux_mJy < 100",
    'name ~ "ACT-CL" and not (z >= 0.5)',
    "ra between 10 and 20 or dec < -60",
]


def main() -> None:
    rng = random.Random(16)
    rows = [
        (
            i,
            f"ACT-CL J{i:06d}" if i % 2 else f"PS {i}",
            rng.uniform(0, 360),
            rng.uniform(-70, 20),
            json.dumps(
                {"snr": rng.uniform(3, 50), "flux_mJy": rng.uniform(1, 500), "z": rng.random()}
            ),
        )
        for i in range(N_ROWS)
    ]
    start = time.perf_counter()
    sources_json([row[1:] for row in rows], first=True)
    encode_s = time.perf_counter() - start
    print(f"{N_ROWS} rows encoded without a filter: {encode_s:.2f} s")
    for text in FILTERS:
        keep = parse_filter(text, ["snr", "flux_mJy", "z"])
        start = time.perf_counter()
        kept = [
            row
            for row in rows
            if keep({"name": row[1], "ra": row[2], "dec": row[3], "extra": json.loads(row[4])})
        ]
        filter_s = time.perf_counter() - start
        rate = N_ROWS / filter_s
        print(f"{text!r}: {len(kept)} kept, {filter_s:.2f} s, {rate / 1e3:.0f}k rows/s")


if __name__ == "__main__":
    main()
