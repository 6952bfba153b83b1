"""The engine must stay usable without Django."""

import subprocess
import sys

IMPORT_EVERY_ENGINE_MODULE = """
import importlib, pkgutil, sys
import maps.engine
for module in pkgutil.iter_modules(maps.engine.__path__):
    importlib.import_module(f"maps.engine.{module.name}")
print('django' in sys.modules)
"""


def test_engine_import_does_not_load_django():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_ENGINE_MODULE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"
