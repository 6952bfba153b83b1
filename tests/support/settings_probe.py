"""Run code against the settings module in a fresh interpreter, under a chosen environment.

Settings read the environment once, at import; a new interpreter is the only
way to see what another environment makes of them. The caller's TILEMAKER_*
variables are left out so the machine running the tests cannot leak in.
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = "tilemaker_site.settings"


def probe_env(extra_env: dict[str, str]) -> dict[str, str]:
    """This environment minus TILEMAKER_*, plus ``extra_env`` and the settings module."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMAKER_")}
    return {**env, **extra_env, "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE}


def run_probe(
    code: str, extra_env: dict[str, str], *, timeout: float = 60, **options
) -> subprocess.CompletedProcess:
    """``python -c code`` in the repository under ``probe_env(extra_env)``; text output."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env=probe_env(extra_env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        **options,
    )


def start_probe(code: str, extra_env: dict[str, str]) -> subprocess.Popen:
    """``run_probe`` without waiting, so several environments can be probed side by side."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=probe_env(extra_env),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
