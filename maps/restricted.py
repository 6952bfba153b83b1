"""The registry of restricted kinds: every model a grant can hide, and how.

Each app registers its own kinds in its ``AppConfig.ready()`` (maps: the
catalogue tree; catalogs: source groups and sources; sky_regions: boxes), so the
grant rule (``maps.grants``), the remembered lookups (``maps.remembered``)
and the admin read one list without ``maps`` importing the other apps.
"""

from dataclasses import dataclass

from django.db.models import Model


@dataclass(frozen=True)
class RestrictedKind:
    """A model a grant can hide, with the lookups from it to every grant restricting it."""

    model: type[Model]
    grant_paths: tuple[str, ...]
    # Lookups by id are remembered per process only for kinds whose table,
    # and every table along ``grant_paths``, changes the visibility
    # generation when written (triggers of maps/migrations/0002).
    remembered: bool

    @property
    def has_own_grant(self) -> bool:
        """Whether the model carries a ``grant`` field (rather than only its parents' grants)."""
        return "grant" in self.grant_paths


_kinds: dict[type[Model], RestrictedKind] = {}


def register(model: type[Model], *, parent: str | None = None, remembered: bool = True) -> None:
    """Make ``model`` a restricted kind: hidden by its own ``grant`` field, if it has
    one, and by every grant restricting the object its foreign key ``parent`` points
    to (a kind registered before it)."""
    paths = ["grant"] if any(field.name == "grant" for field in model._meta.fields) else []
    if parent is not None:
        above = kind(model._meta.get_field(parent).related_model)
        paths += [f"{parent}__{path}" for path in above.grant_paths]
    _kinds[model] = RestrictedKind(model, tuple(paths), remembered)


def kind(model: type[Model]) -> RestrictedKind:
    """The registered kind of ``model``; ``LookupError`` for a model no grant can hide."""
    try:
        return _kinds[model]
    except KeyError:
        raise LookupError(f"{model._meta.label} is not a registered restricted kind") from None


def kinds() -> tuple[RestrictedKind, ...]:
    """Every restricted kind, in the order the apps registered them."""
    return tuple(_kinds.values())
