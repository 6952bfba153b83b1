"""Catalogue events: an object a viewer may show was added, changed or removed.

Django signals on the restricted kinds send one message per write to one
channel group, after the transaction commits (a rolled-back save announces
nothing). The message holds the grants restricting the object before and
after the write; each socket decides from them, through ``maps.grants``, what
its own user is told. What reaches a browser is only the action, the kind and
the public id, and only when the user may see the object before or after the
write: becoming hidden arrives as "removed", becoming visible as "added".

A map file rewritten on disk (``file_rewritten``, called by the folder
watcher and by a worker that first sees a new version of a file) is announced
as ``"rewritten"`` for every layer reading the file, with the file's new
version, to the users who may see that layer.

Writes that send no signal (``QuerySet.update``, ``bulk_create``, raw SQL,
another process writing the database) announce nothing here.
"""

import logging
import os

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.apps import apps
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from maps import grants
from maps.engine.providers import filenames
from maps.file_versions import provider_file_version

logger = logging.getLogger(__name__)

GROUP = "catalogue-events"
MESSAGE_TYPE = "catalogue.event"
REWRITTEN_TYPE = "layer.rewritten"

# Announced kinds by model label (maps imports no other app): the name a
# viewer knows the kind by and the field that is its public id. A box has no
# other public id than its unique name.
KINDS = {
    "maps.mapgroup": ("group", "map_group_id"),
    "maps.map": ("map", "map_id"),
    "maps.band": ("band", "band_id"),
    "maps.layer": ("layer", "layer_id"),
    "catalogs.sourcegroup": ("catalogue", "source_group_id"),
    "regions.box": ("box", "name"),
}

# What an instance carried before its write, set by the pre_ signals.
_BEFORE = "_tilemaker_event_before"


def connect() -> None:
    """Listen to writes of the announced kinds (called once the models are loaded).

    Only those senders: a delete listener on every model would stop Django from
    deleting a catalogue's sources in bulk when the catalogue is deleted.
    """
    for label in KINDS:
        model = apps.get_model(label)
        pre_save.connect(_remember_before, sender=model, dispatch_uid=f"events-pre-save-{label}")
        pre_delete.connect(_remember_before, sender=model, dispatch_uid=f"events-pre-del-{label}")
        post_save.connect(_saved, sender=model, dispatch_uid=f"events-post-save-{label}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"events-post-del-{label}")


def action_for(granted: frozenset[str], message: dict) -> str | None:
    """What a holder of the grants ``granted`` is told about ``message``: "added",
    "changed", "removed", or None when they could see the object neither before nor after."""
    before = grants.may_see(granted, _names(message["before"]))
    after = grants.may_see(granted, _names(message["after"]))
    if before and after:
        return "changed"
    if after:
        return "added"
    if before:
        return "removed"
    return None


def _names(names: list[str] | None) -> frozenset[str] | None:
    return None if names is None else frozenset(names)


def _remember_before(sender, instance, **kwargs) -> None:
    if instance.pk is None:
        return
    id_field = KINDS[sender._meta.label_lower][1]
    old_id = sender.objects.filter(pk=instance.pk).values_list(id_field, flat=True).first()
    setattr(instance, _BEFORE, (old_id, grants.required_grants(sender, instance.pk)))


def _saved(sender, instance, created, **kwargs) -> None:
    kind, id_field = KINDS[sender._meta.label_lower]
    old_id, before = getattr(instance, _BEFORE, (None, None))
    after = grants.required_grants(sender, instance.pk)
    new_id = getattr(instance, id_field)
    if old_id is not None and old_id != new_id:
        # A new public id is a new object to a viewer: the old one is gone.
        _send(kind, old_id, before, None)
        before = None
    _send(kind, new_id, before, after)


def _deleted(sender, instance, **kwargs) -> None:
    kind, id_field = KINDS[sender._meta.label_lower]
    _, before = getattr(instance, _BEFORE, (None, None))
    _send(kind, getattr(instance, id_field), before, None)


def _send(kind: str, public_id: str, before: frozenset | None, after: frozenset | None) -> None:
    if before is None and after is None:
        return
    message = {
        "type": MESSAGE_TYPE,
        "kind": kind,
        "id": public_id,
        "before": None if before is None else sorted(before),
        "after": None if after is None else sorted(after),
    }
    transaction.on_commit(lambda: _group_send(message))


def _group_send(message: dict) -> None:
    # An event only spares viewers a reload: a channel layer that is down
    # (Redis stopped) must not turn the admin's committed save into an error.
    try:
        async_to_sync(get_channel_layer().group_send)(GROUP, message)
    except Exception:
        logger.exception("catalogue event not sent: %s %s", message["kind"], message["id"])


def file_rewritten(filename: str) -> None:
    """Announce that the map file ``filename`` changed on disk: one ``"rewritten"``
    event for every layer whose provider reads it (a combination through any of
    its inputs), with the layer's ``file_version`` now (None while it cannot be read).

    Sent after the current transaction commits, like the other events. Calling it
    twice for one version (the watcher and a worker both noticed) sends the event
    twice; a viewer refetching tiles it already has for that version costs only
    304s, so duplicates are harmless.
    """
    wanted = os.path.realpath(filename)
    layer_model = apps.get_model("maps.layer")
    for pk, layer_id, provider in layer_model.objects.values_list("pk", "layer_id", "provider"):
        if any(os.path.realpath(name) == wanted for name in filenames(provider)):
            required = grants.required_grants(layer_model, pk)
            if required is None:
                continue
            message = {
                "type": REWRITTEN_TYPE,
                "kind": "layer",
                "id": layer_id,
                "grants": sorted(required),
                "version": provider_file_version(provider),
            }
            transaction.on_commit(lambda message=message: _group_send(message))


def rewritten_for(granted: frozenset[str], message: dict) -> dict | None:
    """The browser message a holder of the grants ``granted`` gets for a
    ``file_rewritten`` group message, or None when they may not see the layer."""
    if not grants.may_see(granted, frozenset(message["grants"])):
        return None
    return {
        "event": "rewritten",
        "kind": message["kind"],
        "id": message["id"],
        "version": message["version"],
    }
