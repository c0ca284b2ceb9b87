"""Probes of site facts that no stock web-service function lists: auth plugins and roles.

**Auth plugins.** Moodle refuses an account whose auth plugin is not
installed with the opaque ``invalidparameter``, and no function lists the
plugins. :func:`probe_auth` creates one throwaway account with the plugin
and, when that is refused, the same account with ``shibboleth`` (stock, and
external, so needing no password): a refusal for the plugin alone proves it
is missing. Whatever the probe created is deleted at once. Moodle's own
plugins (``STOCK_AUTH_PLUGINS``) cannot be missing and cost no probe.

**Roles.** No function lists roles either. :func:`probe_role` asks Moodle to
unassign the role from the token's own account, in its user context then at
system level: Moodle answers ``null`` for a role it could assign there
(unassigning a role the user lacks is silent), and refuses a role id it
does not know or cannot assign there. Nothing is written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from farm.moodle.client import MoodleClient
from farm.moodle.errors import MoodleError, RecordError
from farm.moodle.records import AssignedRole, NewUser
from farm.site_rules import STOCK_AUTH_PLUGINS

PROBE_PREFIX = "farm-probe-"
PROBE_DOMAIN = "probe.invalid"
CONTROL_AUTH = "shibboleth"
"""A stock 5.0 plugin that needs no password: the control of the auth probe."""


class Found(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What a probe found; ``reason`` says why when it could not tell."""

    subject: str
    found: Found
    reason: str = ""


async def probe_auth(client: MoodleClient, auth: str) -> ProbeResult:
    """Whether the site has the auth plugin ``auth``; see the module docstring.

    Moodle's own plugins are always there and are not probed. Probe accounts
    that a crash left behind are deleted first.
    """
    if auth in STOCK_AUTH_PLUGINS:
        return ProbeResult(auth, Found.PRESENT)
    try:
        leftovers = await client.find_users({"email": f"{PROBE_PREFIX}%@{PROBE_DOMAIN}"})
        if leftovers:
            await client.delete_users([u.id for u in leftovers])
        if await _creates(client, auth):
            return ProbeResult(auth, Found.PRESENT)
        if auth != CONTROL_AUTH and await _creates(client, CONTROL_AUTH):
            return ProbeResult(auth, Found.MISSING)
    except MoodleError as error:
        return ProbeResult(auth, Found.UNKNOWN, error.reason)
    return ProbeResult(
        auth, Found.UNKNOWN, f"Moodle refused a probe account even with auth {CONTROL_AUTH}"
    )


async def _creates(client: MoodleClient, auth: str) -> bool:
    """Create a throwaway account with ``auth`` and delete it; whether Moodle took it.

    The account cannot be created suspended (no such key on create); it lives
    for the two calls of the probe, with a login nobody knows.
    """
    tag = secrets.token_hex(6)
    probe = NewUser(
        username=f"{PROBE_PREFIX}{tag}",
        firstname="Farm",
        lastname="Probe",
        email=f"{PROBE_PREFIX}{tag}@{PROBE_DOMAIN}",
        auth=auth,
    )
    result = await client.create_users([probe])
    if not result.confirmed:
        failure = result.failed[0].error if result.failed else None
        if failure is not None and not isinstance(failure, RecordError):
            raise failure
        return False
    await _delete(client, [c.id for c in result.confirmed if c.id is not None])
    return True


#: Attempts at deleting a probe account before it is left to the next probe's clean-up.
DELETE_ATTEMPTS = 3


async def _delete(client: MoodleClient, ids: list[int]) -> None:
    """Delete the probe's account, trying again when Moodle fails the call.

    A probe account left behind is an account the farm made and indexes
    nowhere; the next probe deletes it, but a run that creates nobody never
    probes, so it could stay on the site for good. Only the last failure is
    raised.
    """
    for attempt in range(DELETE_ATTEMPTS):
        try:
            await client.delete_users(ids)
            return
        except MoodleError:
            if attempt == DELETE_ATTEMPTS - 1:
                raise


async def probe_role(
    client: MoodleClient, shortname: str, role_id: int, userid: int
) -> ProbeResult:
    """Whether ``role_id`` is a role the token can assign in a user or the system context."""
    label = f"{shortname} (id {role_id})"
    for level, instance in (("user", userid), ("system", 0)):
        item = AssignedRole(role_id, userid, context_level=level, instance_id=instance)
        result = await client.unassign_roles([item])
        if result.confirmed:
            return ProbeResult(label, Found.PRESENT)
        failure = result.failed[0].error if result.failed else None
        if failure is not None and not isinstance(failure, RecordError):
            return ProbeResult(label, Found.UNKNOWN, failure.reason)
    return ProbeResult(label, Found.MISSING)
