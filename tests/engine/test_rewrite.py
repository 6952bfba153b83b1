"""A FITS file rewritten in place under a reader: clean errors, never a crash.

``cp new.fits old.fits`` truncates the file and writes it again; a reader
that touched a mapping of the truncated part died with SIGBUS. Every test
runs with the kernel gather (``process_vm_readv``) and with the
``os.preadv`` fallback used where the kernel refuses it.
"""

import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from maps.engine import (
    FileChangedError,
    FitsError,
    NoDataError,
    TileIndex,
    fits_source,
    open_plane,
    source_from_provider,
)
from tests.support.fits import bump_mtime, write_constant_map

NX, NY = 2000, 1000
REWRITE_PERIOD_SECONDS = 0.05
REWRITE_SECONDS = 2.0


@pytest.fixture(params=["vm_readv", "preadv"])
def copy_mode(request, monkeypatch):
    if request.param == "preadv":
        monkeypatch.setattr(fits_source, "_vm_readv", None)
    elif fits_source._vm_readv is None:
        pytest.fail("process_vm_readv is not available on this machine")
    return request.param


@pytest.fixture
def maps(tmp_path):
    """(served path, a map of 1.0, a map of 2.0); the served file starts as 1.0."""
    ones, twos, served = tmp_path / "ones.fits", tmp_path / "twos.fits", tmp_path / "served.fits"
    # 0.01 deg pixels: level 0 has a block factor above the overview's, so
    # the overview is built and used.
    write_constant_map(ones, 1.0, nx=NX, ny=NY, pixel_scale_deg=0.01)
    write_constant_map(twos, 2.0, nx=NX, ny=NY, pixel_scale_deg=0.01)
    shutil.copyfile(ones, served)
    return served, ones, twos


def test_a_truncated_file_raises_file_changed(maps, copy_mode):
    served, _, _ = maps
    reader = open_plane(served)
    assert float(reader.read(y0=10, y1=20, x0=30, x1=40).max()) == 1.0
    os.truncate(served, 2 * fits_source.FITS_BLOCK_BYTES)
    with pytest.raises(FileChangedError):
        reader.read(y0=900, y1=910, x0=30, x1=40)
    with pytest.raises(FileChangedError):
        reader.take(rows=np.array([5, 950]), cols=np.array([3, 1999]))
    with pytest.raises(FileChangedError):
        reader.read_oriented(y0=0, y1=NY, x0=0, x1=9, reverse_rows=True, reverse_cols=True)
    with pytest.raises(FitsError):
        open_plane(served)


def test_a_rewrite_of_the_same_size_is_noticed_and_the_next_open_reads_it(maps, copy_mode):
    served, _, twos = maps
    reader = open_plane(served)
    with open(twos, "rb") as source, open(served, "r+b") as target:
        target.write(source.read())
    bump_mtime(served)
    with pytest.raises(FileChangedError):
        reader.read(y0=0, y1=NY, x0=0, x1=NX)
    window = open_plane(served).read(y0=0, y1=NY, x0=0, x1=NX)
    assert np.unique(window).tolist() == [2.0]


def test_an_overview_build_over_a_rewrite_fails_and_is_not_kept(maps, copy_mode):
    served, _, twos = maps
    provider = {"provider_type": "fits", "filename": str(served)}
    source = source_from_provider(provider)
    assert not source.overview_ready
    shutil.copyfile(twos, served)
    bump_mtime(served)
    with pytest.raises(FileChangedError):
        source.build_overview()
    assert not source.overview_ready
    fresh = source_from_provider(provider)
    assert fresh is not source
    fresh.build_overview()
    assert _overview_values(fresh) == {2.0}


def _overview_values(source) -> set[float]:
    values = set()
    for x in range(2):
        try:
            tile = source.tile(index=TileIndex(level=0, x=x, y=0))
        except NoDataError:
            continue
        values |= set(np.unique(tile[np.isfinite(tile)]).tolist())
    return values


# Runs in a child process so that a SIGBUS shows as its exit status instead
# of killing the test run. Says "ready" after its first round, reads until
# the stop file appears, then once more.
READ_LOOP = """
import json, os, sys
import numpy as np
from maps.engine import FitsError, NoDataError, TileIndex, open_plane, source_from_provider
from maps.engine import fits_source

path, stop_file, mode = sys.argv[1:4]
if mode == "preadv":
    fits_source._vm_readv = None
provider = {"provider_type": "fits", "filename": path}
seen, errors, reads, last = set(), {}, 0, None

def values(array):
    return set(np.unique(array[np.isfinite(array)]).tolist())

def one_round():
    reader = open_plane(path)
    found = values(reader.read(y0=0, y1=reader.info.shape[0], x0=0, x1=50))
    found |= values(reader.read(y0=400, y1=600, x0=1000, x1=1200))
    found |= values(reader.take(rows=np.arange(3, 1000, 7), cols=np.arange(5, 2000, 11)))
    source = source_from_provider(provider)
    found |= values(source.cutout(
        left_ra_deg=15.0, right_ra_deg=10.0, top_dec_deg=2.0, bottom_dec_deg=-2.0,
        max_pixels=10**7).data)
    stats = source.aperture(ra_deg=12.0, dec_deg=0.0, radius_arcmin=30.0, max_radius_arcmin=60.0)
    found |= {stats["min"], stats["max"]}
    source.build_overview()
    for x in range(2):
        try:
            found |= values(source.tile(index=TileIndex(level=0, x=x, y=0)))
        except NoDataError:
            pass
    return found

while True:
    stopping = os.path.exists(stop_file)
    try:
        found = one_round()
    except FitsError as error:
        kind = type(error).__name__
        errors[kind] = errors.get(kind, 0) + 1
        if stopping:
            print("error after the rewrites stopped:", error, file=sys.stderr)
            sys.exit(2)
        continue
    reads += 1
    if len(found) != 1:
        print("one round saw several versions:", sorted(found), file=sys.stderr)
        sys.exit(3)
    seen |= found
    last = found.pop()
    if reads == 1:
        print("ready", flush=True)
    if stopping:
        break
print(json.dumps({"seen": sorted(seen), "errors": errors, "reads": reads, "last": last}))
"""


def test_reads_during_rewrites_every_50_ms_fail_cleanly_and_see_the_new_file(
    maps, copy_mode, tmp_path
):
    served, ones, twos = maps
    stop_file = tmp_path / "stop"
    child = subprocess.Popen(
        [sys.executable, "-c", READ_LOOP, str(served), str(stop_file), copy_mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == "ready\n"
    stop = threading.Event()

    def rewrite():
        # cp's way: truncate, then write the new content into the same inode.
        for number in range(int(REWRITE_SECONDS / REWRITE_PERIOD_SECONDS)):
            shutil.copyfile(twos if number % 2 == 0 else ones, served)
            if stop.wait(REWRITE_PERIOD_SECONDS):
                return

    writer = threading.Thread(target=rewrite)
    writer.start()
    writer.join()
    shutil.copyfile(twos, served)
    bump_mtime(served)
    stop_file.touch()
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, f"reader exited with {child.returncode}: {err[-2000:]}"
    report = json.loads(out)
    assert report["seen"] == [1.0, 2.0]
    assert report["reads"] > 1
    assert set(report["errors"]) <= {"FileChangedError", "FitsError"}
    assert report["last"] == 2.0


def test_ranges_beyond_the_file_are_refused_before_any_copy(tmp_path, copy_mode):
    path = tmp_path / "bytes.bin"
    path.write_bytes(bytes(range(256)) * 32)
    data = fits_source._FileBytes(str(path))
    out = np.zeros(16, dtype=np.uint8)
    with pytest.raises(FileChangedError):
        data.fill(out, np.array([8190]), 16)
    assert not out.any()
    data.fill(out, np.array([8176]), 16)
    assert out.tolist() == list(range(240, 256))
