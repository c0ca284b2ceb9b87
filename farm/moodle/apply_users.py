"""Applying people: create (or adopt), update, revive, suspend and delete accounts.

Before creating, every planned account is looked up by idnumber, username
and e-mail (as given and lowercased, since Moodle's e-mail lookup is
case-sensitive while its uniqueness check is not), and
:func:`farm.adoption.adopt_people` decides: adopt the account found (updated
to say what the source says), create a new one, or report the ambiguity.

Creations run in slices at once (see :mod:`farm.moodle.applier`). Two
creations that share an idnumber, a username or an e-mail (case aside) are
set apart by :func:`person_slices` and decided together after the others:
a slice could otherwise find, half-way, the account another slice is
creating, and adopt it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import anyio

from farm.adoption import MoodleAccount, Outcome, adopt_people
from farm.applied import Applied
from farm.model import Kind, Person
from farm.moodle.records import BatchResult, MoodleUser, NewUser, UserUpdate
from farm.moodle.site_writer import Handler, SiteWriter, Slicer, linked
from farm.operation import Action, Operation
from farm.passwords import new_password
from farm.secrets import Secret
from farm.site_rules import INTERNAL_AUTH_PLUGINS, PasswordDelivery

# Record values that are plain fields of a Moodle account.
_ACCOUNT_FIELDS = ("username", "firstname", "lastname", "email", "auth", "idnumber", "suspended")


def _account(user: MoodleUser) -> MoodleAccount:
    return MoodleAccount(
        id=user.id,
        username=user.username,
        idnumber=user.idnumber,
        email=user.email,
        firstname=user.firstname,
        lastname=user.lastname,
        auth=user.auth,
        suspended=user.suspended,
    )


def user_update(
    moodle_id: int, changes: Mapping[str, tuple[Any, Any]], *, suspended: bool | None = None
) -> UserUpdate | None:
    """The update that carries ``changes`` to Moodle, or None when Moodle stores none of them."""
    fields: dict[str, Any] = {
        name: new for name, (_, new) in changes.items() if name in _ACCOUNT_FIELDS
    }
    if suspended is not None:
        fields["suspended"] = suspended
    custom: dict[str, str] = {}
    if "profile_fields" in changes:
        old, new = changes["profile_fields"]
        new = dict(new or {})
        # A field the source no longer gives is cleared, not left stale.
        custom = {name: "" for name in (old or {}) if name not in new} | new
    if not fields and not custom:
        return None
    return UserUpdate(id=moodle_id, customfields=custom, **fields)


class FoundAccounts:
    """The accounts a step's lookups found, by the (field, value) each was looked up by.

    The applier looks up every creation of the step at once, before its
    slices (:func:`look_up_people`): a lookup call takes many more values
    than a creation call takes records (:data:`farm.moodle.users.LOOKUP_BATCHES`),
    so a 2,000-person site needs 6 lookup calls instead of 30. Each slice
    then takes the accounts its own people's values find, which are the
    accounts a lookup of that slice alone would have found.
    """

    __slots__ = ("_by",)

    def __init__(self, users: Iterable[MoodleUser]) -> None:
        self._by: dict[tuple[str, str], list[MoodleUser]] = {}
        for user in users:
            for key in (("idnumber", user.idnumber), ("username", user.username)):
                self._by.setdefault(key, []).append(user)
            self._by.setdefault(("email", user.email), []).append(user)

    def of(self, people: Sequence[Person]) -> list[MoodleUser]:
        """The accounts found for these people, each once."""
        found: dict[int, MoodleUser] = {}
        for field, value in _lookup_values(people):
            for user in self._by.get((field, value), ()):
                found.setdefault(user.id, user)
        return list(found.values())


def _lookup_values(people: Sequence[Person]) -> Iterator[tuple[str, str]]:
    """What people are looked up by: idnumber, username, e-mail as given and lowercased."""
    for person in people:
        if person.idnumber:
            yield ("idnumber", person.idnumber)
        yield ("username", person.username)
        if person.email:
            yield ("email", person.email)
            yield ("email", person.email.lower())


async def look_up_people(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    """Look up the step's creations at once; each slice decides with :class:`FoundAccounts`."""
    people = [op.record for op in ops if isinstance(op.record, Person)]
    writer.prepared[(Kind.PERSON, Action.CREATE)] = FoundAccounts(await _look_up(writer, people))


async def _look_up(writer: SiteWriter, people: Sequence[Person]) -> list[MoodleUser]:
    client = writer.client
    values: dict[str, set[str]] = {"idnumber": set(), "username": set(), "email": set()}
    for field, value in _lookup_values(people):
        values[field].add(value)
    lookups: dict[str, list[MoodleUser]] = {}

    async def look_up(field: str) -> None:
        lookups[field] = await client.get_users_by_field(field, sorted(values[field]))

    async with anyio.create_task_group() as group:
        for field in values:
            group.start_soon(look_up, field)
    return [u for field in ("idnumber", "username", "email") for u in lookups[field]]


async def create_people(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    client = writer.client
    people = [op.record for op in ops if isinstance(op.record, Person)]
    step = writer.prepared.get((Kind.PERSON, Action.CREATE))
    if isinstance(step, FoundAccounts):
        found = step.of(people)
    else:
        # A slice alone (no step looked up before it): its own lookups.
        found = await _look_up(writer, people)
    decisions = adopt_people(ops, [_account(u) for u in found], linked(writer, Kind.PERSON))
    claims = writer.claimed.setdefault(Kind.PERSON, {})
    for op, decision in zip(ops, decisions, strict=True):
        if decision.outcome is Outcome.ADOPT and decision.moodle_id is not None:
            claims[decision.moodle_id] = op.key
    accounts = {u.id: u for u in found}
    to_create: list[NewUser] = []
    creating: dict[int, Operation] = {}
    updates: list[UserUpdate] = []
    adopting: dict[int, tuple[Operation, int, Mapping[str, Any]]] = {}
    adopted_now: list[Applied] = []
    for op, decision in zip(ops, decisions, strict=True):
        person = op.record
        assert isinstance(person, Person)
        if decision.outcome is Outcome.AMBIGUOUS:
            writer.refuse(op, f"not created, ambiguous: {decision.reason}")
        elif decision.outcome is Outcome.ADOPT:
            assert decision.moodle_id is not None
            account = accounts[decision.moodle_id]
            before = {name: old for name, (old, _) in decision.changes.items()}
            before["matched_by"] = decision.matched_by
            update = user_update(account.id, decision.changes)
            if update is None:
                adopted_now.append(Applied(op, account.id, adopted=True, found=before))
            else:
                updates.append(update)
                adopting[id(update)] = (op, account.id, before)
        else:
            delivery = _password_delivery(writer, person)
            if isinstance(delivery, str):
                writer.refuse(op, delivery)
                continue
            password, createpassword = delivery
            defaults = writer.rules.user_defaults
            new = NewUser(
                username=person.username,
                firstname=person.firstname,
                lastname=person.lastname,
                email=person.email,
                auth=person.auth,
                idnumber=person.idnumber,
                password=password,
                customfields=dict(person.profile_fields),
                createpassword=createpassword,
                # The site's defaults, on creation only: no part of the digest, never updated.
                lang=defaults.lang,
                timezone=defaults.timezone,
                country=defaults.country,
            )
            to_create.append(new)
            creating[id(new)] = op
    await writer.confirm(adopted_now)
    # Written before Moodle sees them: a crash after the call never leaves an
    # account whose password nobody has.
    await writer.keep_credentials(
        [(new.username, new.password) for new in to_create if new.password is not None]
    )

    async def adopted(result: BatchResult[UserUpdate]) -> None:
        for failed in result.failed:
            op, _, _ = adopting[id(failed.item)]
            writer.refuse(op, f"adopting account id {failed.item.id}: {failed.reason}")
        await writer.confirm(
            [
                Applied(op, moodle_id, adopted=True, found=before)
                for op, moodle_id, before in (adopting[id(c.item)] for c in result.confirmed)
            ]
        )

    born_suspended: list[Applied] = []

    async def created(result: BatchResult[NewUser]) -> None:
        for failed in result.failed:
            writer.refuse(creating[id(failed.item)], failed.reason)
        # Who owns which account is read only when a retry adopted one: building it
        # for every batch would cost the whole index per batch.
        owners = linked(writer, Kind.PERSON) if any(c.adopted for c in result.confirmed) else {}
        confirmed: list[Applied] = []
        for item in result.confirmed:
            op = creating[id(item.item)]
            owner = owners.get(item.id) if item.id is not None else None
            if item.adopted and owner is not None and owner != op.key:
                # A retry found the account, but the index gives it to another person.
                writer.refuse(op, f"not adopted: account {item.id} belongs to {owner}")
                continue
            confirmed.append(Applied(op, item.id, adopted=item.adopted))
        # Accounts born suspended are suspended once the creations are done: this
        # callback runs inside the client's batch reporting, which cannot nest a call.
        born_suspended.extend(a for a in confirmed if _is_suspended(a))
        await writer.confirm([a for a in confirmed if not _is_suspended(a)])

    if updates:
        await client.update_users(updates, on_batch=adopted)
    if to_create:
        await client.create_users(to_create, on_batch=created)
    if born_suspended:
        await writer.confirm(await _suspend_born_suspended(writer, born_suspended))


def _is_suspended(applied: Applied) -> bool:
    person = applied.operation.record
    return isinstance(person, Person) and person.suspended


async def _suspend_born_suspended(writer: SiteWriter, created: list[Applied]) -> list[Applied]:
    """Suspend the new accounts whose person is suspended; the creations to record.

    Moodle creates no account suspended (``core_user_create_users`` has no
    such key). One whose suspension Moodle refused is not recorded, so the
    index never says suspended of an active account: the next run adopts it
    (by idnumber) and suspends it.
    """
    pending = {item.moodle_id: item for item in created if item.moodle_id is not None}
    result = await writer.client.update_users(
        [UserUpdate(id=moodle_id, suspended=True) for moodle_id in pending]
    )
    for failed in result.failed:
        writer.refuse(
            pending[failed.item.id].operation, f"created but not suspended: {failed.reason}"
        )
    refused = {failed.item.id for failed in result.failed}
    return [item for item in created if item.moodle_id not in refused]


def _password_delivery(writer: SiteWriter, person: Person) -> tuple[Secret | None, bool] | str:
    """``(password, createpassword)`` for a new account, or why it cannot be created.

    Only accounts of an internal plugin (``manual``, also ``email``,
    ``nologin``, ``none``) get a password; how is the site's explicit choice.
    """
    if person.auth not in INTERNAL_AUTH_PLUGINS:
        return None, False
    delivery = writer.rules.new_passwords
    if delivery is PasswordDelivery.EMAIL:
        return None, True
    if delivery is PasswordDelivery.FILE and writer.has_credentials_file:
        return new_password(), False
    if delivery is PasswordDelivery.FILE:
        return "not created: new_passwords = 'file' but this run has no credentials file"
    return (
        f"not created: a {person.auth} account needs a password and the site does not say "
        "how to deliver it: set [site] new_passwords to 'file' or 'email'"
    )


async def update_people(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    """Updates and revivals: only the changed fields travel; a revival unsuspends."""
    updates: dict[int, Operation] = {}
    items: list[UserUpdate] = []
    silent: list[Applied] = []
    for op in ops:
        moodle_id = op.moodle_id
        if moodle_id is None:
            writer.refuse(op, "the index holds no Moodle id for this account")
            continue
        revive = False if op.action is Action.REVIVE else None
        update = user_update(moodle_id, op.changes, suspended=revive)
        if update is None:
            # Only farm-side values changed (profiles): nothing to send.
            silent.append(Applied(op))
            continue
        items.append(update)
        updates[id(update)] = op
    await writer.confirm(silent)
    if items:
        await writer.client.update_users(items, on_batch=_confirmer(writer, updates))


async def suspend_people(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    updates: dict[int, Operation] = {}
    items: list[UserUpdate] = []
    for op in ops:
        if op.moodle_id is None:
            writer.refuse(op, "the index holds no Moodle id for this account")
            continue
        update = UserUpdate(id=op.moodle_id, suspended=True)
        items.append(update)
        updates[id(update)] = op
    if items:
        await writer.client.update_users(items, on_batch=_confirmer(writer, updates))


async def delete_people(writer: SiteWriter, ops: Sequence[Operation]) -> None:
    """Deletions; an account already gone (a crash lost the first answer) counts as deleted."""
    by_id: dict[int, Operation] = {}
    for op in ops:
        if op.moodle_id is None:
            writer.refuse(op, "the index holds no Moodle id for this account")
        else:
            by_id[op.moodle_id] = op
    client = writer.client

    async def deleted(result: BatchResult[int]) -> None:
        refused = list(result.failed)
        gone: set[int] = set()
        if refused:
            alive = await client.get_users_by_field("id", [str(f.item) for f in refused])
            gone = {f.item for f in refused} - {u.id for u in alive}
        for failed in refused:
            if failed.item not in gone:
                writer.refuse(by_id[failed.item], failed.reason)
        confirmed = [c.item for c in result.confirmed] + sorted(gone)
        await writer.confirm([Applied(by_id[i]) for i in confirmed])

    if by_id:
        await client.delete_users(list(by_id), on_batch=deleted)


def _confirmer(
    writer: SiteWriter, updates: Mapping[int, Operation]
) -> Callable[[BatchResult[UserUpdate]], Awaitable[None]]:
    async def on_batch(result: BatchResult[UserUpdate]) -> None:
        for failed in result.failed:
            writer.refuse(updates[id(failed.item)], failed.reason)
        await writer.confirm([Applied(updates[id(c.item)]) for c in result.confirmed])

    return on_batch


def person_slices(
    ops: Sequence[Operation], size: int
) -> tuple[list[list[Operation]], list[Operation]]:
    """Slices of creations that share no identifier, and the creations that do (run alone)."""
    identifiers = [_identifiers(op) for op in ops]
    holders: dict[tuple[str, str], int] = {}
    for keys in identifiers:
        for key in keys:
            holders[key] = holders.get(key, 0) + 1
    free: list[Operation] = []
    alone: list[Operation] = []
    for op, keys in zip(ops, identifiers, strict=True):
        shared = any(holders[key] > 1 for key in keys)
        (alone if shared else free).append(op)
    return [free[i : i + size] for i in range(0, len(free), size)], alone


def _identifiers(op: Operation) -> list[tuple[str, str]]:
    person = op.record
    if not isinstance(person, Person):
        return []
    keys = [("username", person.username.lower())]
    if person.idnumber:
        keys.append(("idnumber", person.idnumber))
    if person.email:
        keys.append(("email", person.email.casefold()))
    return keys


USER_PREPARERS: Mapping[tuple[Kind, Action], Handler] = {
    (Kind.PERSON, Action.CREATE): look_up_people,
}

USER_SLICERS: Mapping[tuple[Kind, Action], Slicer] = {
    (Kind.PERSON, Action.CREATE): person_slices,
}

USER_HANDLERS: Mapping[tuple[Kind, Action], Handler] = {
    (Kind.PERSON, Action.CREATE): create_people,
    (Kind.PERSON, Action.UPDATE): update_people,
    (Kind.PERSON, Action.REVIVE): update_people,
    (Kind.PERSON, Action.SUSPEND): suspend_people,
    (Kind.PERSON, Action.DELETE): delete_people,
}
