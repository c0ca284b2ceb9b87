"""What a job checks of its site before it writes, and says of what it could not check.

:func:`site_problem` runs before every apply, even one with nothing to
write: a run with nothing to do must still find out that the site is down
or its token revoked, or it would report the tenants ``succeeded`` and hide
the failure. It asks the site for its functions (those of the farm's list, and
``core_course_get_categories`` when role rules name a category by
idnumber), then probes each auth
plugin the plan creates accounts with (an auth plugin the site lacks would
have every creation refused, opaquely). :func:`simulation_notes` says what a
simulation, which writes nothing, could not probe; :func:`stop_reasons` and
:func:`blocked_notes` what a plan a safety rule stopped says to each tenant.
"""

from __future__ import annotations

from collections.abc import Sequence

from farm.config import SiteConfig
from farm.model import CATEGORY_BY_IDNUMBER, Kind, Person
from farm.moodle import CATEGORY_LOOKUP, REQUIRED_FUNCTIONS, Found, MoodleClient, probe_auth
from farm.operation import Action
from farm.plan import Plan
from farm.safety import SafetyStop
from farm.site_rules import STOCK_AUTH_PLUGINS


async def site_problem(client: MoodleClient, site: SiteConfig, plan: Plan) -> str | None:
    """Why ``site`` cannot take ``plan`` (token, missing functions, auth plugin), or None."""
    info = await client.site_info()
    missing = [f for f in (*REQUIRED_FUNCTIONS, *extra_functions(plan)) if f not in info.functions]
    if missing:
        return (
            f"the token of site {site.name} cannot call {', '.join(missing)}: "
            "add them to the farm's web service"
        )
    for auth in created_auths(plan):
        probe = await probe_auth(client, auth)
        if probe.found is Found.MISSING:
            return (
                f"auth plugin {auth!r} is not installed on site {site.name} (a probe "
                f"account was refused for its auth alone): install it on the site, or set "
                f"[site] auth in {site.file.name}"
            )
    return None


def extra_functions(plan: Plan) -> list[str]:
    """Functions the plan needs beyond the farm's list: a category lookup by idnumber."""
    for op in plan.operations:
        if op.kind is not Kind.ROLE_ASSIGNMENT:
            continue
        # A removal has no record: the index kept what it was.
        values = op.record.values() if op.record is not None else {}
        if op.record is None and op.previous is not None:
            values = dict(op.previous.values)
        context = str(values.get("context") or "")
        if values.get("context_level") == "coursecat" and context.startswith(CATEGORY_BY_IDNUMBER):
            return [CATEGORY_LOOKUP]
    return []


def simulation_notes(plan: Plan, site: SiteConfig) -> list[str]:
    """What a simulation could not check without writing: said rather than implied."""
    if not plan.simulate:
        return []
    return [
        f"auth plugin {auth!r} is not part of Moodle 5.0 and a simulation writes nothing "
        f"to probe it: `farm sites check {site.name}` proves the site has it"
        for auth in created_auths(plan)
        if auth not in STOCK_AUTH_PLUGINS
    ]


def created_auths(plan: Plan) -> list[str]:
    """The auth plugins of the accounts the plan creates, sorted."""
    return sorted(
        {
            op.record.auth
            for op in plan.operations
            if op.kind is Kind.PERSON
            and op.action is Action.CREATE
            and isinstance(op.record, Person)
        }
    )


def stop_reasons(stop: SafetyStop, tenants: Sequence[str], site: str) -> dict[str, str]:
    """Each tenant's reason when ``stop`` stopped the site's plan: about it, or held back."""
    return {
        tenant: f"safety stop: {stop.reason}"
        if stop.tenant is None or stop.tenant == tenant
        else f"held back: the site's plan stopped because of {stop.tenant}, "
        f"another tenant of {site} ({stop.reason})"
        for tenant in tenants
    }


def blocked_notes(plan: Plan) -> list[str]:
    """What a stopped plan withheld, counted by kind and action."""
    if plan.blocked is None:
        return []
    counts = ", ".join(f"{name} {n}" for name, n in plan.summary().items())
    return [f"withheld {len(plan.withheld)} operations ({counts})"]
