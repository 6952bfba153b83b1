"""Watching folders: new, rewritten and removed map and catalogue files, a few seconds later.

``open --watch DIR`` and ``manage.py watch_data`` (folders from the
``WatchedFolder`` admin) run a ``FolderWatcher``. It learns of changes from
``watchfiles`` (inotify through a kept library) or, on network filesystems
where inotify never hears another host's writes (NFS, Lustre, GPFS ...), from
``watchfiles``' own polling, which only stats files. The tree is listed once,
at start-up (``catch_up``); afterwards only the files named by a change are
looked at.

A file is taken once its size and mtime have been unchanged for the settle
time (``WATCH_SETTLE_SECONDS``): a map still being written is neither read
nor reported as broken. Then:

- a new file goes through the same scanning as ``open`` (``maps.scanning``)
  and is placed into the target map group: into the map and band of the
  same name when they exist, else new ones, appended after their siblings;
  a catalogue file becomes a catalogue. Rows are saved one by one through
  the ORM, so open viewers hear of them (``maps.events``).
- a rewritten file has its layers' header-derived fields re-read and is
  announced as rewritten, so viewers refetch its tiles.
- a removed file's layers (or catalogue) are deleted, and so are a band and
  map left empty: an astronomer who deleted a map expects it gone from the
  menu, not a dead entry. It comes back as new if the file reappears.

The watched files are only ever read.
"""

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import watchfiles
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, transaction

from catalogs.models import SourceGroup
from catalogs.tables import SUFFIX_TYPES
from maps import events
from maps.importers import ConfigError, _replace_sources, plan_config_data
from maps.layer_geometry import refresh_layer_geometry
from maps.models import DERIVED_LAYER_FIELDS, Band, Grant, Layer, Map, MapGroup
from maps.scanning import config_for_files, is_catalogue_file, slug

log = logging.getLogger("maps.watching")

MAP_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fits.fz")
# Filesystems whose changes made on another host inotify never reports.
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "lustre", "gpfs", "cifs", "smb3", "smbfs", "beegfs", "ceph", "fuse.sshfs"}
)
# How often the watch loop wakes without a change, to take settled files.
TICK_SECONDS = 0.25


@dataclass(frozen=True)
class Destination:
    """Where a folder's new files go: a map group (by public id) and an optional grant name."""

    map_group_id: str
    grant: str | None = None


@dataclass
class _Pending:
    stat_key: tuple[int, int] | None
    since: float


@dataclass
class FolderWatcher:
    """Watch ``folders`` (path -> Destination) and keep the catalogue in step with their files.

    ``poll_seconds`` forces polling at that interval; ``None`` follows
    ``WATCH_POLLING``. ``rewritten`` is called with the path of a rewritten file
    (default: ``maps.events.file_rewritten``, so viewers refetch its tiles).
    """

    folders: dict[Path, Destination]
    poll_seconds: float | None = None
    settle_seconds: float = field(default_factory=lambda: settings.WATCH_SETTLE_SECONDS)
    auto_contrast: bool = False
    rewritten: Callable[[str], None] | None = None
    report: Callable[[str], None] = log.info
    _pending: dict[str, _Pending] = field(default_factory=dict)
    # Files that could not be used, by their (size, mtime) then: not retried until they change.
    _failed: dict[str, tuple[int, int]] = field(default_factory=dict)
    _catalogues: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Symlink-free, as the importer stores providers' file names (maps.paths).
        self.folders = {Path(os.path.realpath(path)): where for path, where in self.folders.items()}

    # --- what the loop runs ---------------------------------------------------------------

    def polling(self) -> tuple[bool, float]:
        """Whether to poll, and how often (seconds)."""
        if self.poll_seconds is not None:
            return True, self.poll_seconds
        mode = settings.WATCH_POLLING
        network = any(filesystem_type(path) in NETWORK_FILESYSTEMS for path in self.folders)
        return mode == "always" or (mode == "auto" and network), settings.WATCH_POLL_SECONDS

    def run(self, stop: threading.Event, on_started: Callable[[], None] | None = None) -> None:
        """Catch up with the folders, then follow their changes until ``stop`` is set."""
        try:
            self.catch_up()
            poll, every_seconds = self.polling()
            try:
                self._follow(stop, poll, every_seconds, on_started)
            except OSError as error:
                if poll:
                    raise
                # inotify can be refused (fs.inotify.max_user_watches reached on a big tree).
                self.report(f"Watching: inotify unavailable ({error}); polling instead")
                self._follow(stop, True, settings.WATCH_POLL_SECONDS, on_started)
        finally:
            connections.close_all()

    def _follow(self, stop, poll: bool, every_seconds: float, on_started) -> None:
        how = f"polling every {every_seconds:g} s" if poll else "inotify"
        names = ", ".join(str(path) for path in self.folders)
        settle = f"files taken {self.settle_seconds:g} s after their last write"
        self.report(f"Watching {names} ({how}; {settle})")
        changes = watchfiles.watch(
            *self.folders,
            watch_filter=lambda change, path: self.wanted(path),
            debounce=int(TICK_SECONDS * 1000),
            step=50,
            stop_event=stop,
            rust_timeout=int(TICK_SECONDS * 1000),
            yield_on_timeout=True,
            raise_interrupt=False,
            force_polling=poll,
            poll_delay_ms=int(every_seconds * 1000),
        )
        started = False
        for batch in changes:
            if not started and on_started is not None:
                on_started()
            started = True
            for _, path in batch:
                self._pending[path] = _Pending(_stat_key(path), time.monotonic())
            self.settle()

    # --- the decisions ------------------------------------------------------------------

    @staticmethod
    def wanted(path: str) -> bool:
        """A map or catalogue file name, not a hidden or temporary file of a writer."""
        name = os.path.basename(path).lower()
        if name.startswith(".") or name.endswith(("~", ".tmp", ".part", ".swp")):
            return False
        return name.endswith((*MAP_SUFFIXES, *SUFFIX_TYPES))

    def catch_up(self) -> None:
        """List the folders once: add files not in the catalogue yet, drop layers of gone files."""
        close_old_connections()
        present = set()
        for folder in self.folders:
            for path in files_in(folder):
                present.add(path)
                if not self._known(path):
                    self._take(path)
        for folder in self.folders:
            prefix = str(folder).rstrip(os.sep) + os.sep
            gone = {
                filename
                for filename in Layer.objects.filter(
                    provider__filename__startswith=prefix
                ).values_list("provider__filename", flat=True)
                if filename not in present and not os.path.exists(filename)
            }
            for filename in sorted(gone):
                self._remove(filename)

    def settle(self) -> None:
        """Take every pending file whose size and mtime have been stable for the settle time."""
        now = time.monotonic()
        for path, pending in list(self._pending.items()):
            current = _stat_key(path)
            if current != pending.stat_key:
                self._pending[path] = _Pending(current, now)
                continue
            if now - pending.since < self.settle_seconds:
                continue
            del self._pending[path]
            close_old_connections()
            try:
                if current is None:
                    self._remove(path)
                elif self._known(path):
                    self._rewritten(path)
                else:
                    self._take(path)
            except DatabaseError as error:
                # A database that is busy or away for a moment: the file is
                # still there to be taken, so try again after another settle time.
                log.warning("Watching: %s postponed (%s)", path, error)
                self._pending[path] = _Pending(current, time.monotonic())
            except Exception:
                # One bad file must not stop the watch of every other one.
                log.exception("Watching: %s could not be handled", path)

    def _known(self, path: str) -> bool:
        return path in self._catalogues or _layers_of(path).exists() or self._catalogue_id(path)

    def _catalogue_id(self, path: str) -> str | None:
        """The catalogue a file became (remembered, or its id by the ``open`` rule)."""
        if path in self._catalogues:
            return self._catalogues[path]
        destination = self._destination(path)
        if destination is None:
            return None
        wanted = slug(f"{destination.map_group_id}-{Path(path).stem}")
        if SourceGroup.objects.filter(source_group_id=wanted).exists():
            self._catalogues[path] = wanted
            return wanted
        return None

    def _destination(self, path: str) -> Destination | None:
        for folder, destination in self.folders.items():
            if Path(path).is_relative_to(folder):
                return destination
        return None

    # --- writing ------------------------------------------------------------------------

    def _take(self, path: str) -> None:
        stat_key = _stat_key(path)
        if stat_key is None or self._failed.get(path) == stat_key:
            return
        destination = self._destination(path)
        try:
            catalogue = is_catalogue_file(path)
        except OSError:
            catalogue = False
        if catalogue:
            config, problems = config_for_files([], [path])
        elif path.lower().endswith(MAP_SUFFIXES):
            config, problems = config_for_files([path], auto_contrast=self.auto_contrast)
        else:
            return
        try:
            if problems:
                raise ConfigError(problems)
            plan = plan_config_data(config, base_dir=Path(path).parent, source_name=path)
        except ConfigError as error:
            self._failed[path] = stat_key
            self.report(f"Watching: skipped {'; '.join(error.problems)}")
            return
        self._failed.pop(path, None)
        with transaction.atomic():
            grant = (
                Grant.objects.get_or_create(name=destination.grant)[0]
                if destination.grant
                else None
            )
            if catalogue:
                self._add_catalogue(path, plan.source_groups[0], destination, grant)
            else:
                group = MapGroup.objects.get(map_group_id=destination.map_group_id)
                count = _place_layers(plan.map_groups[0], group, grant)
                self.report(f"Watching: added {count} layer{'s' * (count != 1)} from {path}")

    def _add_catalogue(self, path: str, row, destination: Destination, grant) -> None:
        wanted = slug(f"{destination.map_group_id}-{Path(path).stem}")
        group = _new_child(
            SourceGroup,
            "source_group_id",
            wanted,
            SourceGroup.objects.all(),
            grant=grant,
            **row.fields,
        )
        count = _replace_sources(group, row.records or [])
        self._catalogues[path] = group.source_group_id
        self.report(f"Watching: added catalogue {group.source_group_id} ({count} sources)")

    def _rewritten(self, path: str) -> None:
        source_group_id = self._catalogue_id(path)
        if source_group_id is not None:
            self._reload_catalogue(path, source_group_id)
            return
        for layer in _layers_of(path):
            before = [getattr(layer, name) for name in DERIVED_LAYER_FIELDS]
            refresh_layer_geometry(layer)
            if [getattr(layer, name) for name in DERIVED_LAYER_FIELDS] != before:
                # The shape or WCS changed: the menu's bounds and zoom levels follow.
                layer.save()
        (self.rewritten or events.file_rewritten)(path)
        self.report(f"Watching: {path} rewritten")

    def _reload_catalogue(self, path: str, source_group_id: str) -> None:
        config, problems = config_for_files([], [path])
        try:
            if problems:
                raise ConfigError(problems)
            row = plan_config_data(config, base_dir=Path(path).parent, source_name=path)
        except ConfigError as error:
            problems = "; ".join(error.problems)
            self.report(f"Watching: kept the previous {source_group_id}: {problems}")
            return
        row = row.source_groups[0]
        with transaction.atomic():
            group = SourceGroup.objects.get(source_group_id=source_group_id)
            for name in ("description", "columns", "brightness_column"):
                setattr(group, name, row.fields[name])
            group.save()
            count = _replace_sources(group, row.records or [])
        self.report(f"Watching: reloaded catalogue {source_group_id} ({count} sources)")

    def _remove(self, path: str) -> None:
        self._failed.pop(path, None)
        source_group_id = self._catalogue_id(path)
        if source_group_id is not None:
            SourceGroup.objects.filter(source_group_id=source_group_id).first().delete()
            del self._catalogues[path]
            self.report(f"Watching: removed catalogue {source_group_id} ({path} is gone)")
            return
        layers = list(_layers_of(path).select_related("band__map"))
        if not layers:
            return
        with transaction.atomic():
            for layer in layers:
                band = layer.band
                layer.delete()
                if not band.layers.exists():
                    map_object = band.map
                    band.delete()
                    if not map_object.bands.exists():
                        map_object.delete()
        self.report(f"Watching: removed {len(layers)} layer(s) ({path} is gone)")


def _stat_key(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def _layers_of(path: str):
    return Layer.objects.filter(provider__filename=os.path.realpath(path))


def _unique(model, field_name: str, wanted: str) -> str:
    candidate, n = wanted, 1
    while model.objects.filter(**{field_name: candidate}).exists():
        n += 1
        candidate = f"{wanted[: 199 - len(str(n))]}-{n}"
    return candidate


def _next_position(queryset) -> int:
    last = queryset.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


def _new_child(model, id_field: str, wanted_id: str, siblings, **fields):
    """A new ``model`` row placed after its ``siblings``, its id made unique from ``wanted_id``."""
    child = model(
        **{id_field: _unique(model, id_field, wanted_id)},
        position=_next_position(siblings),
        **fields,
    )
    child.save()
    return child


def _named_child(siblings, model, id_field: str, parent_id: str, fields: dict, **links):
    """The row of ``siblings`` (a related manager) named ``fields["name"]``, else a new one."""
    existing = siblings.filter(name=fields["name"]).first()
    if existing is not None:
        return existing
    wanted_id = slug(f"{parent_id}-{fields['name']}")
    return _new_child(model, id_field, wanted_id, siblings.all(), **links, **fields)


def _place_layers(group_row, group: MapGroup, grant: Grant | None) -> int:
    """Put a scanned file's layers into ``group``: its map and band by name, else new ones."""
    count = 0
    for map_row in group_row.children:
        map_object = _named_child(
            group.maps,
            Map,
            "map_id",
            group.map_group_id,
            map_row.fields,
            map_group=group,
            grant=grant,
        )
        for band_row in map_row.children:
            band = _named_child(
                map_object.bands,
                Band,
                "band_id",
                map_object.map_id,
                band_row.fields,
                map=map_object,
                grant=grant,
            )
            for layer_row in band_row.children:
                suffix = layer_row.key.removeprefix(f"{band_row.key}-")
                _new_child(
                    Layer,
                    "layer_id",
                    slug(f"{band.band_id}-{suffix}"),
                    band.layers.all(),
                    band=band,
                    grant=grant,
                    **layer_row.fields,
                )
                count += 1
    return count


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding ``path`` ("ext4", "nfs4" ...), from /proc/mounts."""
    best, kind = "", ""
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        return ""
    target = os.path.realpath(path)
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > len(best):
            best, kind = mount_point, parts[2]
    return kind


def folders_of(paths: Iterable[str]) -> list[Path]:
    """The directories among command-line paths."""
    return [Path(os.path.abspath(path)) for path in paths if os.path.isdir(path)]


def files_in(folder: Path) -> list[str]:
    """The map and catalogue files under ``folder``, sorted (the one start-up listing)."""
    found = []
    for root, _, names in os.walk(folder):
        found.extend(os.path.join(root, name) for name in names)
    return sorted(path for path in found if FolderWatcher.wanted(path))


def start_thread(watcher: FolderWatcher) -> tuple[threading.Thread, threading.Event]:
    """Run ``watcher`` in a daemon thread; set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), name="watch", daemon=True)
    thread.start()
    return thread, stop


def watched_folders() -> dict[Path, Destination]:
    """The enabled ``WatchedFolder`` rows, as a watcher's folders."""
    from maps.models import WatchedFolder

    return {
        Path(folder.path): Destination(
            folder.map_group.map_group_id, folder.grant.name if folder.grant else None
        )
        for folder in WatchedFolder.objects.filter(enabled=True).select_related(
            "map_group", "grant"
        )
    }
