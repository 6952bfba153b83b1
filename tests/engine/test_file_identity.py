"""The version of a file and the per-process tracker that every reader asks."""

import os
import shutil

import pytest

from maps.engine import FileChangedError, file_identity, open_plane
from maps.engine.file_identity import FileUnreadableError, VersionTracker, file_version
from tests.support.fits import write_constant_map


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(tmp_path):
    return write_constant_map(tmp_path / "served.fits", 1.0, nx=200, ny=100)


def _same_stat_as(path, source) -> None:
    """Give ``path`` the size it has and the mtime of ``source``'s stat result."""
    os.utime(path, ns=(source.st_atime_ns, source.st_mtime_ns))


def test_a_rename_over_with_the_same_size_and_mtime_is_a_new_version(served, tmp_path):
    before = os.stat(served)
    version = file_version(str(served))
    incoming = tmp_path / "incoming.fits"
    shutil.copyfile(served, incoming)
    _same_stat_as(incoming, before)
    os.replace(incoming, served)
    assert os.stat(served).st_size == before.st_size
    assert os.stat(served).st_mtime_ns == before.st_mtime_ns
    assert file_version(str(served)) != version


def test_a_header_rewritten_in_place_with_the_same_size_and_mtime_is_a_new_version(served):
    before = os.stat(served)
    version = file_version(str(served))
    with open(served, "r+b") as handle:
        handle.seek(80 * 3)
        card = handle.read(80)
        handle.seek(80 * 3)
        handle.write(card.replace(b"2 ", b"3 ", 1) if b"2 " in card else card[::-1])
    _same_stat_as(served, before)
    assert file_version(str(served)) != version


def test_a_missing_file_or_a_folder_is_unreadable(tmp_path):
    with pytest.raises(FileUnreadableError):
        file_version(str(tmp_path / "gone.fits"))
    with pytest.raises(FileUnreadableError):
        file_version(str(tmp_path))


def test_the_tracker_looks_again_only_after_the_recheck_interval(served, tmp_path):
    clock = Clock()
    tracker = VersionTracker(recheck_seconds=0.25, clock=clock)
    announced = []
    tracker.on_new_version = lambda path, version: announced.append((path, version))
    first = tracker.current(str(served)).version
    write_constant_map(tmp_path / "twos.fits", 2.0, nx=300, ny=100)
    os.replace(tmp_path / "twos.fits", served)
    clock.now += 0.2
    assert tracker.current(str(served)).version == first
    clock.now += 0.1
    second = tracker.current(str(served)).version
    assert second != first
    assert tracker.current(str(served)).version == second
    clock.now += 1.0
    assert tracker.current(str(served)).version == second
    # Once per new version; the first version seen is not news.
    assert announced == [(str(served), second)]


def test_expire_makes_the_next_use_look_again(served, tmp_path):
    clock = Clock()
    tracker = VersionTracker(recheck_seconds=0.25, clock=clock)
    first = tracker.current(str(served)).version
    write_constant_map(tmp_path / "twos.fits", 2.0, nx=300, ny=100)
    os.replace(tmp_path / "twos.fits", served)
    tracker.expire(str(served))
    assert tracker.current(str(served)).version != first


def test_a_missing_file_is_looked_at_again_on_every_use(served, tmp_path):
    clock = Clock()
    tracker = VersionTracker(recheck_seconds=0.25, clock=clock)
    kept = tmp_path / "kept.fits"
    shutil.copyfile(served, kept)
    os.remove(served)
    with pytest.raises(FileUnreadableError):
        tracker.current(str(served))
    os.replace(kept, served)
    assert tracker.current(str(served)).version == file_version(str(served))


def test_a_reader_that_finds_its_file_rewritten_in_place_makes_the_next_open_read_it(
    served, tmp_path, monkeypatch
):
    """As served (readers trust a version for RECHECK_SECONDS): the read that meets the
    rewrite fails with FileChangedError and the next open reads the new file at once."""
    monkeypatch.setattr(file_identity.tracker, "recheck_seconds", 3600.0)
    reader = open_plane(served)
    assert float(reader.read(y0=0, y1=10, x0=0, x1=10).max()) == 1.0
    twos = write_constant_map(tmp_path / "twos.fits", 2.0, nx=200, ny=100)
    with open(twos, "rb") as source, open(served, "r+b") as target:
        target.write(source.read())
    os.utime(served, ns=(0, os.stat(served).st_mtime_ns + 10**9))
    with pytest.raises(FileChangedError):
        reader.read(y0=0, y1=10, x0=0, x1=10)
    assert float(open_plane(served).read(y0=0, y1=10, x0=0, x1=10).min()) == 2.0


def test_a_file_renamed_over_is_read_once_the_version_is_looked_at_again(served, tmp_path):
    """The old reader's descriptor still reads the old inode without error: only the
    version (its inode) tells the new file apart."""
    reader = open_plane(served)
    twos = write_constant_map(tmp_path / "twos.fits", 2.0, nx=200, ny=100)
    _same_stat_as(twos, os.stat(served))
    os.replace(twos, served)
    assert float(reader.read(y0=0, y1=10, x0=0, x1=10).max()) == 1.0
    assert float(open_plane(served).read(y0=0, y1=10, x0=0, x1=10).max()) == 2.0
