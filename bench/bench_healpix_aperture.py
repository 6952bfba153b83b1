"""HEALPix apertures: a synthetic NSIDE 2048 galactic I/Q/U map (temp dir, not kept).

Prints the p50 time of an aperture over the I column (HEALPix pixel selection)
and over the Q column (plus the spin-2 rotation), for radii 5, 60 and 600
arcmin, with the pixel count.
Run: PYTHONPATH=$PWD python3 bench/bench_healpix_aperture.py [NSIDE]
"""

import statistics
import sys
import tempfile
import time
import warnings

import healpy as hp
import numpy as np

from maps.engine import source_from_provider


def main(nside: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/iqu_{nside}.fits"
        rng = np.random.default_rng(1)
        maps = [rng.normal(size=12 * nside**2).astype(np.float32) for _ in range(3)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hp.write_map(path, maps, coord="G", dtype=np.float32)
        del maps
        for field in (0, 1):
            source = source_from_provider(
                {"provider_type": "healpix", "filename": path, "field": field}
            )
            for radius in (5.0, 60.0, 600.0):
                times, count = [], 0
                for n in range(7):
                    started = time.perf_counter()
                    stats = source.aperture(
                        ra_deg=(53.0 * n) % 360,
                        dec_deg=-60.0 + 17.0 * n,
                        radius_arcmin=radius,
                        max_radius_arcmin=600.0,
                    )
                    times.append(time.perf_counter() - started)
                    count = stats["n_pixels"]
                print(
                    f"field {field}, radius {radius:g} arcmin: p50 "
                    f"{1000 * statistics.median(times):.0f} ms ({count} pixels)"
                )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2048)
