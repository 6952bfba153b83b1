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

A change to what a user holds (a grant given to or taken from them or one of
their Django groups, their membership of a group, the GitHub organisation
grants set at login, their account deactivated, reactivated or deleted, a
Django group of theirs deleted) changes what they see without any object
changing: it is sent to that user's own channel group only (``user_group``),
listing the objects that became visible or hidden to them with the grants
each needs; each socket compares the grants its viewer was last shown the
catalogue under with those the user holds when the message arrives, and says
"added" or "removed" only where the two differ.

Writes that send no signal (``QuerySet.update``, ``bulk_create``, raw SQL,
another process writing the database) announce nothing here.
"""

import asyncio
import logging
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from maps import grants
from maps.engine.providers import filenames
from maps.file_versions import provider_file_version
from maps.models import Grant

logger = logging.getLogger(__name__)

GROUP = "catalogue-events"
MESSAGE_TYPE = "catalogue.event"
REWRITTEN_TYPE = "layer.rewritten"
USER_MESSAGE_TYPE = "grants.changed"

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
# The grants of the users a membership change touches, before it.
_HOLDERS_BEFORE = "_tilemaker_event_holders_before"


def user_group(user_id: int) -> str:
    """The channel group of every socket of the user with primary key ``user_id``."""
    return f"user-{user_id}"


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
    for through in _membership_tables():
        m2m_changed.connect(
            _membership_changed, sender=through, dispatch_uid=f"events-m2m-{through._meta.label}"
        )
    user_model = get_user_model()
    pre_save.connect(_user_before, sender=user_model, dispatch_uid="events-user-pre-save")
    pre_delete.connect(_user_before, sender=user_model, dispatch_uid="events-user-pre-delete")
    post_save.connect(_announce_holders, sender=user_model, dispatch_uid="events-user-post-save")
    post_delete.connect(
        _announce_holders, sender=user_model, dispatch_uid="events-user-post-delete"
    )
    # Deleting a group drops its memberships and grants without m2m_changed.
    pre_delete.connect(_group_before_delete, sender=Group, dispatch_uid="events-group-pre-delete")
    post_delete.connect(_announce_holders, sender=Group, dispatch_uid="events-group-post-delete")


def _membership_tables() -> tuple:
    """The many-to-many tables that decide who holds which grant."""
    return (Grant.users.through, Grant.groups.through, get_user_model().groups.through)


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


def membership_action(known: frozenset[str], now: frozenset[str], item: dict) -> str | None:
    """What a viewer last shown the catalogue under the grants ``known``, whose user
    holds ``now``, is told about ``item`` (an object needing the grants ``item["required"]``)."""
    required = frozenset(item["required"])
    was, is_ = grants.may_see(known, required), grants.may_see(now, required)
    if is_ and not was:
        return "added"
    if was and not is_:
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


def _group_send(message: dict, group: str = GROUP) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _send_now(message, group)
        return
    # async_to_sync refuses a thread that runs an event loop (a save made
    # there: Playwright's sync API in tests, code called from async code):
    # the send then runs from a thread of its own, as from any sync thread.
    sender = threading.Thread(target=_send_now, args=(message, group), name="catalogue-event")
    sender.start()
    sender.join()


def _send_now(message: dict, group: str) -> None:
    # An event only spares viewers a reload: a channel layer that is down
    # (Redis stopped) must not turn the admin's committed save into an error.
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:
        logger.exception(
            "catalogue event not sent: %s %s", message.get("kind", group), message.get("id", "")
        )


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


def _holders(sender, instance, reverse: bool, pk_set: set | None) -> set[int]:
    """Primary keys of the users whose grants a change of the table ``sender`` may change
    (``pk_set`` None: the relation is being cleared, so everything it holds now)."""
    if sender is Grant.users.through:
        # Forward: a grant's users; reverse: one user's grants.
        if reverse:
            return {instance.pk}
        return set(pk_set if pk_set is not None else instance.users.values_list("pk", flat=True))
    if sender is Grant.groups.through:
        # Forward: a grant's groups; reverse: one group's grants.
        if reverse:
            group_ids = {instance.pk}
        elif pk_set is not None:
            group_ids = pk_set
        else:
            group_ids = set(instance.groups.values_list("pk", flat=True))
        members = get_user_model().objects.filter(groups__in=group_ids)
        return set(members.values_list("pk", flat=True))
    # A user's groups; reverse: a group's users.
    if not reverse:
        return {instance.pk}
    return set(pk_set if pk_set is not None else instance.user_set.values_list("pk", flat=True))


def _membership_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action.startswith("pre_"):
        holders = _holders(sender, instance, reverse, pk_set)
        setattr(instance, _HOLDERS_BEFORE, grants.grants_of_users(holders))
        return
    _announce_holders(sender, instance)


def _group_before_delete(sender, instance, **kwargs) -> None:
    members = instance.user_set.values_list("pk", flat=True)
    setattr(instance, _HOLDERS_BEFORE, grants.grants_of_users(members))


def _announce_holders(sender, instance, **kwargs) -> None:
    """Tell each user remembered by a pre_ signal on ``instance`` what they gained or lost.

    A user deactivated holds no grant (``maps.grants``); a user deleted is gone
    from the answer, and their open sockets live on as an anonymous visitor's.
    """
    before_by_user = getattr(instance, _HOLDERS_BEFORE, None)
    if before_by_user is None:
        return
    delattr(instance, _HOLDERS_BEFORE)
    after_by_user = grants.grants_of_users(before_by_user)
    anonymous = grants.current_grants(None)
    for user_id, before in before_by_user.items():
        after = after_by_user.get(user_id, anonymous)
        if after != before:
            _send_to_user(user_id, before, after)


def _user_before(sender, instance, update_fields=None, **kwargs) -> None:
    # A save naming its fields without is_active (the last_login of every
    # login) cannot change the user's grants: no query.
    if instance.pk is None or (update_fields is not None and "is_active" not in update_fields):
        return
    setattr(instance, _HOLDERS_BEFORE, grants.grants_of_users([instance.pk]))


def _send_to_user(user_id: int, before: frozenset[str], after: frozenset[str]) -> None:
    """Tell one user's sockets about every object they now see or no longer see."""
    items = []
    for label, (kind, id_field) in KINDS.items():
        model = apps.get_model(label)
        for gained, lost in ((after, before), (before, after)):
            for pk, public_id in grants.newly_visible(model, lost, gained).values_list(
                "pk", id_field
            ):
                required = grants.required_grants(model, pk)
                if required is not None:
                    items.append({"kind": kind, "id": public_id, "required": sorted(required)})
    if not items:
        return
    message = {"type": USER_MESSAGE_TYPE, "items": items}
    transaction.on_commit(lambda: _group_send(message, user_group(user_id)))
