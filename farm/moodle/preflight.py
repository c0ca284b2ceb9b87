"""Pre-flight checks of Moodle sites, run before a sync and by ``farm sites check``.

For each site, concurrently: is the token valid, which Moodle release runs,
which functions the farm needs are missing from the token's service, which
custom profile fields the farm writes are missing, does the site keep as many
form fields as the farm will send, and how long one call takes (timed on a
second call, once every site's connection is open and before the probes).

No web-service function lists profile fields, and an unknown shortname is
silently ignored on write, so the check writes a marker value into the
fields on the token's own account, reads it back, and restores the previous
values: a field that does not come back does not exist. Only the token's
account is touched. The auth plugins of the site's accounts and the role ids
the site configures are probed too (:mod:`farm.moodle.probes`): the auth
probe creates a throwaway account and deletes it at once. The form-field
check looks up the token's own user id as the last of
``form_fields_per_request`` fields: if PHP drops fields past
``max_input_vars``, the answer comes back empty.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from farm.moodle.client import MoodleClient
from farm.moodle.errors import MoodleError
from farm.moodle.probes import Found, ProbeResult, probe_auth, probe_role
from farm.moodle.records import MoodleCourse, SiteInfo, UserUpdate
from farm.moodle.settings import MoodleLimits
from farm.secrets import Secret

REQUIRED_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_user_create_users",
    "core_user_update_users",
    "core_user_get_users_by_field",
    "core_user_get_users",
    "core_user_delete_users",
    "core_cohort_create_cohorts",
    "core_cohort_update_cohorts",
    "core_cohort_delete_cohorts",
    "core_cohort_search_cohorts",
    "core_cohort_get_cohorts",
    "core_cohort_add_cohort_members",
    "core_cohort_delete_cohort_members",
    "core_cohort_get_cohort_members",
    "core_role_assign_roles",
    "core_role_unassign_roles",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_course_create_courses",
    "core_course_get_courses_by_field",
    "core_group_create_groups",
    "core_group_get_course_groups",
    "core_group_add_group_members",
    "core_group_delete_group_members",
    "core_enrol_get_enrolled_users",
)
#: What a category named by idnumber is looked up with (role rules at a category context).
CATEGORY_LOOKUP = "core_course_get_categories"
OPTIONAL_FUNCTIONS: Mapping[str, str] = {
    CATEGORY_LOOKUP: "role rules at a category named by its idnumber",
}
"""Functions only some sites need, with what needs them: checked only where it is used.

They are not in MOODLE-WS.md's list of the farm's functions: a service set up
from that list lacks them, and a site without such rules must not be refused.
"""
MARKER = "farm-preflight"


@dataclass(frozen=True, slots=True)
class CoursePattern:
    """A course template of the site's course rules, and the establishments it is filled for.

    ``key`` says where the template is written (``directories.ent.courses.
    enrolments[0].course``); ``match`` is ``idnumber`` or ``shortname``.
    ``{uai}`` stands for each of ``uais``, any other placeholder for any text.
    """

    key: str
    template: str
    match: str = "idnumber"
    uais: tuple[str, ...] = ()

    def regex(self) -> re.Pattern[str]:
        uais = "|".join(re.escape(uai) for uai in self.uais) or ".+"
        parts: list[str] = []
        for literal, name, _, _ in string.Formatter().parse(self.template):
            parts.append(re.escape(literal))
            if name is not None:
                parts.append(f"(?:{uais})" if name == "uai" else ".+")
        return re.compile("".join(parts))

    def matches(self, courses: Sequence[MoodleCourse]) -> int:
        """How many of ``courses`` the template names."""
        pattern = self.regex()
        return sum(
            1
            for course in courses
            if pattern.fullmatch(course.shortname if self.match == "shortname" else course.idnumber)
        )


@dataclass(frozen=True, slots=True)
class PatternCount:
    """How many of the site's courses one course template names."""

    pattern: CoursePattern
    courses: int


@dataclass(frozen=True, slots=True)
class SiteTarget:
    """What the check needs to know about one site.

    ``course_patterns`` are the course templates of the course rules its
    establishments' directories declare; ``categories`` the idnumbers of the
    categories their role rules give roles in.
    """

    name: str
    url: str
    token: Secret
    limits: MoodleLimits = field(default_factory=MoodleLimits)
    profile_fields: tuple[str, ...] = ()
    auths: tuple[str, ...] = ()
    roles: Mapping[str, int] = field(default_factory=dict)
    course_patterns: tuple[CoursePattern, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def functions(self) -> tuple[str, ...]:
        """The functions the site's token needs: the farm's, and those its rules use."""
        return (*REQUIRED_FUNCTIONS, *((CATEGORY_LOOKUP,) if self.categories else ()))


@dataclass(frozen=True, slots=True)
class SiteCheck:
    """The outcome for one site. ``ok`` is false when anything blocks a sync."""

    site: str
    url: str
    release: str | None = None
    version: str | None = None
    missing_functions: tuple[str, ...] = ()
    missing_profile_fields: tuple[str, ...] = ()
    form_fields_kept: bool | None = None
    round_trip: float | None = None
    error: str | None = None
    missing_auths: tuple[str, ...] = ()
    missing_roles: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    course_patterns: tuple[PatternCount, ...] = ()
    missing_categories: tuple[str, ...] = ()
    categories_found: int = 0

    @property
    def warnings(self) -> list[str]:
        """What is worth fixing but does not stop a sync: rules naming nothing on the site.

        A course (or category) the rules name and the site lacks only has
        its links skipped, counted in each run's report, until it is made.
        """
        out: list[str] = []
        empty = [count.pattern for count in self.course_patterns if not count.courses]
        if empty:
            out.extend(f"no course matches {p.key} = {p.template!r} (by {p.match})" for p in empty)
        if self.missing_categories:
            out.append(
                f"{len(self.missing_categories)} of "
                f"{len(self.missing_categories) + self.categories_found} categories of the "
                f"role rules missing (idnumber {', '.join(self.missing_categories)})"
            )
        return out

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and not self.missing_functions
            and not self.missing_profile_fields
            and self.form_fields_kept is not False
            and not self.missing_auths
            and not self.missing_roles
            and not self.unknown
        )

    def line(self) -> str:
        """One line for the operator."""
        if self.error is not None:
            return f"{self.site}: FAIL {self.error}"
        parts = [f"Moodle {self.release}"]
        if self.round_trip is not None:
            parts.append(f"{self.round_trip * 1000:.0f} ms")
        if self.missing_functions:
            parts.append("missing functions: " + ", ".join(self.missing_functions))
        if self.missing_profile_fields:
            parts.append("missing profile fields: " + ", ".join(self.missing_profile_fields))
        if self.form_fields_kept is False:
            parts.append("drops form fields: lower form_fields_per_request")
        if self.missing_auths:
            parts.append(
                "auth plugin(s) not installed: "
                + ", ".join(self.missing_auths)
                + " (a probe account was refused for its auth alone)"
            )
        if self.missing_roles:
            parts.append("roles the token cannot assign: " + ", ".join(self.missing_roles))
        parts.extend(f"could not check {what}" for what in self.unknown)
        if self.course_patterns:
            matched = [c for c in self.course_patterns if c.courses]
            parts.append(
                f"course rules: {len(matched)} of {len(self.course_patterns)} course patterns "
                f"match courses ({sum(c.courses for c in matched)} courses)"
            )
        if self.categories_found:
            parts.append(f"{self.categories_found} categories of the role rules found")
        parts.extend(f"warning: {warning}" for warning in self.warnings)
        return f"{self.site}: {'OK' if self.ok else 'FAIL'} " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "url": self.url,
            "ok": self.ok,
            "release": self.release,
            "version": self.version,
            "missing_functions": list(self.missing_functions),
            "missing_profile_fields": list(self.missing_profile_fields),
            "form_fields_kept": self.form_fields_kept,
            "round_trip_ms": None if self.round_trip is None else round(self.round_trip * 1000, 1),
            "missing_auths": list(self.missing_auths),
            "missing_roles": list(self.missing_roles),
            "unchecked": list(self.unknown),
            "course_patterns": [
                {
                    "key": c.pattern.key,
                    "pattern": c.pattern.template,
                    "match": c.pattern.match,
                    "courses": c.courses,
                }
                for c in self.course_patterns
            ],
            "categories_found": self.categories_found,
            "missing_categories": list(self.missing_categories),
            "warnings": self.warnings,
            "error": self.error,
        }


async def check_site(
    target: SiteTarget, *, transport: httpx.AsyncBaseTransport | None = None
) -> SiteCheck:
    """Check one site; every failure ends up in ``SiteCheck.error``, never raised."""
    return (await check_sites([target], transport=transport))[0]


async def check_sites(
    targets: Sequence[SiteTarget], *, transport: httpx.AsyncBaseTransport | None = None
) -> list[SiteCheck]:
    """Check all sites concurrently; results in the order of ``targets``.

    The sites go through three phases together: site info (which also opens
    the connections), the timed call, then the heavier probes, so that one
    site's probe does not slow down another site's timed call.
    """
    probes = [
        _Probe(t, MoodleClient(t.name, t.url, t.token, t.limits, transport=transport))
        for t in targets
    ]
    try:
        for phase in (_Probe.read_info, _Probe.time, _Probe.probe):
            async with anyio.create_task_group() as group:
                for probe in probes:
                    if probe.error is None:
                        group.start_soon(phase, probe)
    finally:
        for probe in probes:
            await probe.client.aclose()
    return [probe.result() for probe in probes]


@dataclass
class _Probe:
    target: SiteTarget
    client: MoodleClient
    info: SiteInfo | None = None
    round_trip: float | None = None
    fields_kept: bool | None = None
    fields_missing: tuple[str, ...] = ()
    error: str | None = None
    probed: list[ProbeResult] = field(default_factory=list)
    pattern_counts: tuple[PatternCount, ...] = ()
    categories_found: int = 0
    missing_categories: tuple[str, ...] = ()

    async def read_info(self) -> None:
        await self._guarded(self._info)

    async def time(self) -> None:
        await self._guarded(self._time)

    async def probe(self) -> None:
        await self._guarded(self._probe)

    async def _guarded(self, step: Callable[[], Awaitable[None]]) -> None:
        try:
            await step()
        except MoodleError as exc:
            self.error = str(exc)

    async def _info(self) -> None:
        self.info = await self.client.site_info()

    async def _time(self) -> None:
        started = time.monotonic()
        await self.client.call("core_webservice_get_site_info")
        self.round_trip = time.monotonic() - started

    async def _probe(self) -> None:
        assert self.info is not None
        functions, userid = self.info.functions, self.info.userid
        if "core_user_get_users_by_field" not in functions:
            return
        self.fields_kept = await _keeps_form_fields(self.client, userid)
        if self.target.profile_fields and "core_user_update_users" in functions:
            self.fields_missing = await _missing_profile_fields(
                self.client, userid, self.target.profile_fields
            )
        if {"core_user_create_users", "core_user_delete_users"} <= functions:
            for auth in self.target.auths:
                self.probed.append(await probe_auth(self.client, auth))
        if "core_role_unassign_roles" in functions:
            for shortname, role_id in sorted(self.target.roles.items()):
                self.probed.append(await probe_role(self.client, shortname, role_id, userid))
        await self._course_rules(functions)

    async def _course_rules(self, functions: frozenset[str]) -> None:
        """Count the courses each course template names, and find the rules' categories."""
        target = self.target
        if target.course_patterns and "core_course_get_courses_by_field" in functions:
            # One call for every course: cheaper than a lookup per course the rules make.
            courses = await self.client.get_courses_by_field()
            self.pattern_counts = tuple(
                PatternCount(p, p.matches(courses)) for p in target.course_patterns
            )
        if target.categories and CATEGORY_LOOKUP in functions:
            missing: list[str] = []
            for idnumber in target.categories:
                if await self.client.get_categories_by_idnumber(idnumber):
                    self.categories_found += 1
                else:
                    missing.append(idnumber)
            self.missing_categories = tuple(missing)

    def result(self) -> SiteCheck:
        target = self.target
        auths = set(target.auths)
        if self.error is not None or self.info is None:
            return SiteCheck(target.name, target.url, error=self.error)
        return SiteCheck(
            target.name,
            target.url,
            release=self.info.release,
            version=self.info.version,
            missing_functions=tuple(f for f in target.functions if f not in self.info.functions),
            missing_profile_fields=self.fields_missing,
            form_fields_kept=self.fields_kept,
            round_trip=self.round_trip,
            missing_auths=tuple(
                p.subject for p in self.probed if p.found is Found.MISSING and p.subject in auths
            ),
            missing_roles=tuple(
                p.subject
                for p in self.probed
                if p.found is Found.MISSING and p.subject not in auths
            ),
            unknown=tuple(
                f"{p.subject}: {p.reason}" for p in self.probed if p.found is Found.UNKNOWN
            ),
            course_patterns=self.pattern_counts,
            missing_categories=self.missing_categories,
            categories_found=self.categories_found,
        )


async def _keeps_form_fields(client: MoodleClient, userid: int) -> bool:
    count = client.limits.form_fields_per_request - 4  # wstoken, wsfunction, format, field
    values = ["0"] * (count - 1) + [str(userid)]
    answer = await client.call("core_user_get_users_by_field", {"field": "id", "values": values})
    return any(int(user.get("id", 0)) == userid for user in answer or [])


async def _missing_profile_fields(
    client: MoodleClient, userid: int, shortnames: Sequence[str]
) -> tuple[str, ...]:
    before = await client.get_users_by_field("id", [str(userid)])
    previous = dict(before[0].customfields) if before else {}
    await client.update_users(
        [UserUpdate(id=userid, customfields=dict.fromkeys(shortnames, MARKER))]
    )
    try:
        after = await client.get_users_by_field("id", [str(userid)])
        seen = dict(after[0].customfields) if after else {}
    finally:
        await client.update_users(
            [UserUpdate(id=userid, customfields={n: previous.get(n, "") for n in shortnames})]
        )
    return tuple(name for name in shortnames if seen.get(name) != MARKER)
