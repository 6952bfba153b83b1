"""Watched folders (``maps.watching``): files appear, change and vanish in the catalogue.

Every test runs twice: with inotify and with watchfiles' forced polling (the
NFS/Lustre fallback). Waits poll the database up to a deadline, never a
fixed sleep; the deadline is a hang guard, not a timed assertion.
"""

import io
import logging
import threading
import time
import warnings

import healpy as hp
import numpy as np
import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client

from catalogs.models import SourceGroup
from maps import events, watching
from maps.models import Band, Grant, Layer, Map, MapGroup, WatchedFolder
from tests.support.fits import bump_mtime, write_car_map

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE_SECONDS = 30
SETTLE_SECONDS = 1.0


def wait_until(predicate, what: str):
    give_up = time.monotonic() + DEADLINE_SECONDS
    while not _holds(predicate):
        assert time.monotonic() < give_up, f"still waiting for {what}"
        time.sleep(0.05)


def _holds(predicate) -> bool:
    try:
        return predicate()
    except OperationalError:
        # The test database is SQLite's shared-cache memory database: a read
        # while the watcher's thread writes finds the table locked.
        return False


@pytest.fixture(params=["inotify", "polling"])
def poll_seconds(request):
    return None if request.param == "inotify" else 0.2


@pytest.fixture
def folder(tmp_path):
    watched = tmp_path / "night"
    watched.mkdir()
    return watched


@pytest.fixture
def group(db):
    return MapGroup.objects.create(map_group_id="nightly", name="Nightly", position=3)


class Running:
    """A watcher in its thread, with what it reported and the files it announced rewritten."""

    def __init__(self, watcher: watching.FolderWatcher):
        self.watcher = watcher
        self.reports: list[str] = []
        self.rewritten: list[str] = []
        watcher.report = self.reports.append
        self.stop = threading.Event()
        started = threading.Event()
        self.thread = threading.Thread(target=watcher.run, args=(self.stop, started.set))
        self.thread.start()
        wait_until(started.is_set, "the watch to start")

    def close(self):
        self.stop.set()
        self.thread.join(DEADLINE_SECONDS)
        assert not self.thread.is_alive()


@pytest.fixture
def run_watcher(poll_seconds):
    running = []

    def start(folders, **options):
        watcher = watching.FolderWatcher(
            folders, poll_seconds=poll_seconds, settle_seconds=SETTLE_SECONDS, **options
        )
        running.append(Running(watcher))
        return running[-1]

    yield start
    for item in running:
        item.close()


def _layer_ids():
    return sorted(Layer.objects.values_list("layer_id", flat=True))


def test_a_new_map_file_becomes_layers_of_the_watched_group(folder, group, run_watcher):
    run_watcher({folder: watching.Destination("nightly")})
    write_car_map(folder / "depth1_f090_map.fits", n_planes=3)
    wait_until(lambda: Layer.objects.count() == 3, "the new file's layers")
    assert _layer_ids() == [
        "nightly-depth1-f090-i",
        "nightly-depth1-f090-q",
        "nightly-depth1-f090-u",
    ]
    map_object = Map.objects.get()
    assert (map_object.map_id, map_object.name, map_object.map_group_id) == (
        "nightly-depth1",
        "depth1",
        group.pk,
    )
    assert Band.objects.get().name == "f090"
    # The group the admin made keeps its own place and fields.
    group.refresh_from_db()
    assert (group.name, group.position) == ("Nightly", 3)
    # An ivar file of the same map and band joins them.
    write_car_map(folder / "depth1_f090_ivar.fits", bunit="uK^-2")
    wait_until(lambda: Layer.objects.count() == 4, "the ivar layer")
    assert (Map.objects.count(), Band.objects.count()) == (1, 1)
    ivar = Layer.objects.get(layer_id="nightly-depth1-f090-ivar")
    assert ivar.position == 3


def test_a_file_written_slowly_is_taken_only_once_complete(
    folder, group, run_watcher, tmp_path, caplog
):
    running = run_watcher({folder: watching.Destination("nightly")})
    # Default-like settle time, longer than the pause between chunks.
    running.watcher.settle_seconds = 2.0
    complete = write_car_map(tmp_path / "whole.fits", nx=720, ny=360)
    data = complete.read_bytes()
    target = folder / "slow_f150_map.fits"
    chunks = 8
    size = -(-len(data) // chunks)
    with open(target, "wb") as out:
        for start in range(0, len(data), size):
            out.write(data[start : start + size])
            out.flush()
            # ~4 s in all: the watcher sees a growing, unreadable file the whole time.
            time.sleep(0.5)
            assert Layer.objects.count() == 0
    assert running.reports[1:] == []
    # Not a word about a truncated FITS file from the scanning or the watcher.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    wait_until(lambda: Layer.objects.count() == 1, "the completed file's layer")
    assert not [report for report in running.reports if "skipped" in report]


def test_a_removed_file_removes_its_layers_and_the_empty_band_and_map(folder, group, run_watcher):
    write_car_map(folder / "gone_f090_map.fits")
    write_car_map(folder / "kept_f090_map.fits")
    running = run_watcher({folder: watching.Destination("nightly")})
    # The start-up listing took both files.
    assert _layer_ids() == ["nightly-gone-f090-i", "nightly-kept-f090-i"]
    (folder / "gone_f090_map.fits").unlink()
    wait_until(lambda: Layer.objects.count() == 1, "the removed file's layer to go")
    assert _layer_ids() == ["nightly-kept-f090-i"]
    assert list(Map.objects.values_list("map_id", flat=True)) == ["nightly-kept"]
    assert list(Band.objects.values_list("band_id", flat=True)) == ["nightly-kept-f090"]
    wait_until(
        lambda: any("gone_f090_map.fits is gone" in report for report in running.reports),
        "the removal to be reported",
    )


def test_a_rewritten_file_is_announced_and_its_geometry_re_read(
    folder, group, run_watcher, monkeypatch
):
    path = write_car_map(folder / "coadd_f090_map.fits", nx=360, ny=180)
    rewritten = []
    monkeypatch.setattr(events, "file_rewritten", rewritten.append)
    run_watcher({folder: watching.Destination("nightly")})
    layer = Layer.objects.get()
    assert (layer.bounding_left, layer.bounding_right) == (-90.0, 90.0)
    write_car_map(path, nx=360, ny=180, ra_left_deg=60.0)
    # Polling compares whole-second mtimes (and this rewrite keeps the size).
    bump_mtime(path)
    wait_until(lambda: rewritten == [str(path)], "the rewrite to be announced")
    layer.refresh_from_db()
    # The map moved 30 degrees: its bounds in the menu follow.
    assert (layer.bounding_left, layer.bounding_right) == (-120.0, 60.0)
    assert Layer.objects.count() == 1


def test_a_catalogue_file_becomes_a_catalogue(folder, group, run_watcher):
    run_watcher({folder: watching.Destination("nightly")})
    (folder / "candidates.csv").write_text("name,ra,dec,flux\na,10.0,-2.0,3.5\nb,11.0,-3.0,1.0\n")
    wait_until(lambda: SourceGroup.objects.exists(), "the catalogue")
    catalogue = SourceGroup.objects.get()
    assert catalogue.source_group_id == "nightly-candidates"
    assert sorted(catalogue.sources.values_list("name", flat=True)) == ["a", "b"]
    (folder / "candidates.csv").unlink()
    wait_until(lambda: not SourceGroup.objects.exists(), "the catalogue to go")


def test_watch_data_places_files_into_the_admin_group_with_its_grant(folder, group, run_watcher):
    grant = Grant.objects.create(name="act-nightly")
    WatchedFolder.objects.create(path=str(folder), map_group=group, grant=grant)
    WatchedFolder.objects.create(path=str(folder.parent / "off"), map_group=group, enabled=False)
    folders = watching.watched_folders()
    assert folders == {folder: watching.Destination("nightly", "act-nightly")}
    run_watcher(folders)
    write_car_map(folder / "secret_f220_map.fits")
    wait_until(lambda: Layer.objects.exists(), "the layer")
    layer = Layer.objects.get()
    assert (layer.layer_id, layer.band.map.map_group_id) == ("nightly-secret-f220-i", group.pk)
    assert {layer.grant, layer.band.grant, layer.band.map.grant} == {grant}
    outsider = Client()
    outsider.force_login(User.objects.create_user("outsider"))
    insider = Client()
    member = User.objects.create_user("insider")
    grant.users.add(member)
    insider.force_login(member)
    assert outsider.get(f"/layers/{layer.layer_id}").status_code == 404
    assert insider.get(f"/layers/{layer.layer_id}").status_code == 200


def test_watch_data_once_catches_up_with_the_admin_folders(folder, group, tmp_path):
    grant = Grant.objects.create(name="act-nightly")
    WatchedFolder.objects.create(path=str(folder), map_group=group, grant=grant)
    write_car_map(folder / "early_f090_map.fits")
    (folder / "half.fits.part").write_bytes(b"SIMPLE  =")
    out = io.StringIO()
    call_command("watch_data", "--once", stdout=out)
    layer = Layer.objects.get()
    assert (layer.layer_id, layer.grant) == ("nightly-early-f090-i", grant)
    assert "added 1 layer from" in out.getvalue()
    # The file is gone while nothing watched: the next catch-up drops its layer.
    (folder / "early_f090_map.fits").unlink()
    call_command("watch_data", "--once", stdout=io.StringIO())
    assert (Layer.objects.count(), Band.objects.count(), Map.objects.count()) == (0, 0, 0)
    assert MapGroup.objects.get() == group


def test_a_watched_folder_must_be_an_absolute_folder(group, tmp_path):
    for path, message in (
        ("relative/night", "give an absolute path"),
        (str(tmp_path / "missing"), "not a folder (or not readable by the server)"),
    ):
        with pytest.raises(ValidationError) as raised:
            WatchedFolder(path=path, map_group=group).full_clean()
        assert raised.value.message_dict == {"path": [message]}


def test_a_healpix_file_moved_in_becomes_its_stokes_layers(folder, group, run_watcher, tmp_path):
    run_watcher({folder: watching.Destination("nightly")})
    nside = 16
    written = tmp_path / "sat_f090_map.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp.write_map(str(written), list(np.zeros((3, 12 * nside**2), np.float32)), dtype=np.float32)
    # Written elsewhere and renamed in, as careful pipelines do.
    written.rename(folder / written.name)
    wait_until(lambda: Layer.objects.count() == 3, "the HEALPix layers")
    assert list(Layer.objects.values_list("layer_id", "stokes", "provider__field")) == [
        ("nightly-sat-f090-i", "I", "TEMPERATURE"),
        ("nightly-sat-f090-q", "Q", "Q_POLARISATION"),
        ("nightly-sat-f090-u", "U", "U_POLARISATION"),
    ]


def test_a_new_file_and_its_removal_reach_an_open_viewer_and_only_grant_holders(folder, group):
    """The watcher writes through the ORM: its additions are catalogue events (``ws/events``)."""
    from tests.maps.test_events import _connect, _next

    Grant.objects.create(name="act-nightly")
    watcher = watching.FolderWatcher({folder: watching.Destination("nightly")}, report=print)
    hidden = watching.FolderWatcher(
        {folder / "secret": watching.Destination("nightly", "act-nightly")}, report=print
    )
    (folder / "secret").mkdir()

    async def scenario():
        socket = await _connect()
        write_car_map(folder / "secret" / "deep_f150_map.fits")
        await database_sync_to_async(hidden.catch_up)()
        write_car_map(folder / "open_f090_map.fits")
        await database_sync_to_async(watcher.catch_up)()
        # Nothing about the grant-restricted file: the public one is next.
        assert [await _next(socket) for _ in range(3)] == [
            {"event": "added", "kind": "map", "id": "nightly-open"},
            {"event": "added", "kind": "band", "id": "nightly-open-f090"},
            {"event": "added", "kind": "layer", "id": "nightly-open-f090-i"},
        ]
        (folder / "open_f090_map.fits").unlink()
        await database_sync_to_async(watcher.catch_up)()
        assert [await _next(socket) for _ in range(3)] == [
            {"event": "removed", "kind": "layer", "id": "nightly-open-f090-i"},
            {"event": "removed", "kind": "band", "id": "nightly-open-f090"},
            {"event": "removed", "kind": "map", "id": "nightly-open"},
        ]
        await socket.disconnect()

    async_to_sync(scenario)()
