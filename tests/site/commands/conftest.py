"""Folders for command tests: maps, working directory, TMPDIR and HOME all apart."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fits import write_car_map
from tests.support.servers import command_env

CATALOG = [
    {"name": "Alpha", "ra": 10.0, "dec": -5.0, "extra": {"flux": 9.5}},
    {"name": "Beta", "ra": 340.0, "dec": 20.0, "extra": {"flux": 1.25}},
]


@dataclass
class Workspace:
    maps: Path
    cwd: Path
    tmpdir: Path
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        return command_env(tmpdir=self.tmpdir, home=self.home, extra=extra)


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    folders = {name: tmp_path / name for name in ("maps", "cwd", "tmpdir", "home")}
    for folder in folders.values():
        folder.mkdir()
    return Workspace(**folders)


@pytest.fixture
def iqu_map(workspace) -> Path:
    """A 3-plane CAR map: RA 90 .. -90 (CDELT1 < 0), Dec -45 .. 45, 0.5 deg pixels."""
    return write_car_map(workspace.maps / "iqu_map.fits", n_planes=3)


@pytest.fixture
def catalog_file(workspace) -> Path:
    path = workspace.maps / "sources.json"
    path.write_text(json.dumps(CATALOG))
    return path
