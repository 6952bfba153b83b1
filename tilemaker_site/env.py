"""Typed readers for ``TILEMAKER_*`` environment variables.

Settings call these once at import time; nothing else in the project reads
the environment. Every reader raises ``ImproperlyConfigured`` naming the
variable when its value cannot be understood, so a typo stops the server at
start-up instead of silently falling back to a default.
"""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured

from tilemaker_site.booleans import boolean_word

PREFIX = "TILEMAKER_"


def _raw(name: str) -> str | None:
    value = os.environ.get(PREFIX + name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None else value


def env_optional_str(name: str) -> str | None:
    return _raw(name)


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    answer = boolean_word(value)
    if answer is None:
        raise ImproperlyConfigured(
            f"{PREFIX}{name}={value!r}: expected yes/no (or true/false, 1/0)"
        )
    return answer


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{PREFIX}{name}={value!r}: expected an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{PREFIX}{name}={number}: must be at least {minimum}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{PREFIX}{name}={value!r}: expected a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{PREFIX}{name}={value!r}: expected a finite number")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{PREFIX}{name}={number}: must be at least {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; empty items are dropped."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        expected = ", ".join(choices)
        raise ImproperlyConfigured(f"{PREFIX}{name}={value!r}: expected one of {expected}")
    return value


RATE_UNITS_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def env_rate(name: str, default: str) -> tuple[int, int] | None:
    """A request rate ``"N/unit"`` (unit second, minute, hour or day) as
    ``(requests, window_seconds)``, or None for ``off``.

    Empty means unset, as for every other variable: Compose passes an unset
    variable on as an empty string, and that must not switch a limit off.
    """
    value = env_str(name, default).lower()
    if value == "off":
        return None
    requests, _, unit = value.partition("/")
    try:
        count = int(requests)
    except ValueError:
        count = 0
    if count < 1 or unit not in RATE_UNITS_SECONDS:
        units = ", ".join(RATE_UNITS_SECONDS)
        raise ImproperlyConfigured(
            f"{PREFIX}{name}={value!r}: expected N/unit (N >= 1, unit one of {units}) or off"
        )
    return count, RATE_UNITS_SECONDS[unit]


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A comma-separated list of addresses or CIDR networks; empty by default."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{PREFIX}{name}: {item!r} is not an IP address or network"
            ) from None
    return networks
