"""Person facts -> one :class:`TenantSnapshot` per requested UAI (pure, no I/O).

A person belongs to every requested UAI they are linked to; in a cité
scolaire they appear in each tenant's snapshot with the same source key and
the cohorts of that tenant, and the planner merges them into one account.
Parents also belong to the establishments of the children read in the same
pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from farm.cohorts import DEFAULT_PREFIX, cohort_idnumber
from farm.model import (
    Cohort,
    CohortMembership,
    Person,
    Profile,
    RoleAssignment,
    SourceWarning,
    TenantSnapshot,
    shared_set,
)
from farm.sources.sdet.course_links import CourseLinks, course_links
from farm.sources.sdet.course_rules import CourseRules
from farm.sources.sdet.group_rules import GroupCohortRules
from farm.sources.sdet.groups import GroupFacts, GroupReader, group_links
from farm.sources.sdet.mapping import PROFILE_LABELS, CohortKind, MappingRules
from farm.sources.sdet.people import Note, PersonFacts
from farm.sources.sdet.structures import StructureMap


@dataclass(slots=True)
class _TenantParts:
    people: dict[str, Person] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    members: set[tuple[str, str]] = field(default_factory=set)
    roles: set[RoleAssignment] = field(default_factory=set)
    warnings: list[SourceWarning] = field(default_factory=list)
    held: set[str] = field(default_factory=set)
    facts: list[PersonFacts] = field(default_factory=list)


class _CohortMaker:
    """Cohorts and memberships; each cohort's idnumber and record is made once per read."""

    def __init__(self, rules: MappingRules, structures: StructureMap, prefix: str) -> None:
        self.rules = rules.cohorts
        self.prefix = prefix
        self.kinds = rules.cohorts.kinds
        self.structures = structures
        self._made: dict[tuple[CohortKind, str, str], Cohort] = {}
        self._groups: dict[tuple[int, str], Cohort] = {}

    def _make(self, kind: CohortKind, uai: str, code: str) -> Cohort:
        structure = self.structures.by_uai.get(uai)
        etab = structure.short_name if structure else uai
        label = PROFILE_LABELS[Profile(code)] if kind is CohortKind.PROFILE else code
        names = {"uai": uai, "code": code, "etab": etab, "profile": code, "label": label}
        idnumber = cohort_idnumber(
            self.prefix, self.rules.year or "", self.rules.idnumber_template(kind).format_map(names)
        )
        cohort = Cohort(
            idnumber=idnumber,
            name=self.rules.name_template(kind).format_map(names),
            context=self.rules.context,
            establishment=uai,
        )
        self._made[kind, uai, code] = cohort
        return cohort

    def add(self, parts: _TenantParts, kind: CohortKind, uai: str, code: str, person: str) -> None:
        if kind not in self.kinds:
            return
        cohort = self._made.get((kind, uai, code)) or self._make(kind, uai, code)
        idnumber = cohort.idnumber
        if idnumber not in parts.cohorts:
            parts.cohorts[idnumber] = cohort
        parts.members.add((idnumber, person))

    def add_group(self, parts: _TenantParts, rules: GroupCohortRules, group: GroupFacts) -> str:
        """The group's cohort in ``parts`` (made on the first call); its idnumber."""
        made = self._groups.get((group.table, group.key))
        if made is None:
            structure = self.structures.by_uai.get(group.uai)
            names = {
                "uai": group.uai,
                "code": group.code,
                "etab": structure.short_name if structure else group.uai,
                "label": group.label,
                "source": rules.name,
            }
            made = self._groups[group.table, group.key] = Cohort(
                idnumber=cohort_idnumber(
                    self.prefix, self.rules.year or "", rules.idnumber.format_map(names)
                ),
                name=rules.cohort_name.format_map(names),
                context=self.rules.context,
                establishment=group.uai,
            )
        parts.cohorts.setdefault(made.idnumber, made)
        return made.idnumber


def _add_groups(
    parts: dict[str, _TenantParts],
    maker: _CohortMaker,
    groups: Sequence[GroupFacts],
    readers: Sequence[GroupReader],
    facts: Sequence[PersonFacts],
    source_key_prefix: str,
) -> None:
    """The cohorts of groups of the requested schools, with their members read there.

    A group entry is a cohort even when none of its members were read (a
    delta read, say); a member is added only where the read put the person.
    """
    for group in groups:
        tenant = parts.get(group.uai)
        if tenant is not None:
            maker.add_group(tenant, readers[group.table].rules, group)
    links = list(group_links(groups, readers, facts, source_key_prefix))
    for reader in readers:
        if reader.unknown:
            first, captured = min(reader.unknown)
            rules = reader.rules
            message = (
                f"cohort_groups {rules.name}: {len(set(reader.unknown))} group(s) matched the "
                f"pattern with a uai naming no structure of the directory (here {captured!r}): "
                "check the pattern's (?P<uai>...) group"
            )
            where = rules.match_on if rules.base is not None else rules.person_attribute
            for name, tenant in parts.items():
                tenant.warnings.append(SourceWarning(name, first, message, where))
    for group, member in links:
        tenant = parts.get(group.uai)
        key = member.source_key
        if tenant is None or key is None or key not in tenant.people:
            continue
        idnumber = maker.add_group(tenant, readers[group.table].rules, group)
        tenant.members.add((idnumber, key))


def _warn(parts: _TenantParts, tenant: str, notes: Iterable[Note]) -> None:
    parts.warnings.extend(SourceWarning(tenant, n.entry, n.message, n.attribute) for n in notes)


def build_snapshots(
    facts: Sequence[PersonFacts],
    structures: StructureMap,
    tenants: Sequence[str],
    rules: MappingRules,
    *,
    cohort_prefix: str = DEFAULT_PREFIX,
    complete: bool,
    orphan_notes: bool = False,
    courses: CourseRules | None = None,
    groups: Sequence[GroupFacts] = (),
    group_readers: Sequence[GroupReader] = (),
) -> dict[str, TenantSnapshot]:
    """One snapshot per tenant in ``tenants`` from the facts of one read.

    Cohort idnumbers start with the farm's ``cohort_prefix``
    (:mod:`farm.cohorts`), then the mapping's year and templates.
    ``courses`` are the directory's course rules: the enrolments, course
    groups and role assignments they make (:mod:`farm.sources.sdet.course_links`).

    ``groups`` are the group entries read for the ``cohort_groups`` tables,
    ``group_readers`` one reader per table (:mod:`farm.sources.sdet.groups`).

    ``orphan_notes`` attaches notes of entries linked to no requested tenant
    to every tenant (used for single-person reads, where the operator asked
    for that very entry).
    """
    wanted = set(tenants)
    parts = {tenant: _TenantParts() for tenant in tenants}
    maker = _CohortMaker(rules, structures, cohort_prefix)
    by_key = {f.key: f for f in facts}
    for tenant in tenants:
        _warn(
            parts[tenant],
            tenant,
            (
                Note(w.entry, w.message, w.attribute)
                for w in structures.warnings
                if w.tenant in ("*", tenant)
            ),
        )
    kinds = rules.cohorts.kinds
    profile_kind = CohortKind.PROFILE if CohortKind.PROFILE in kinds else None
    levels = CohortKind.LEVEL in kinds
    linked = [
        (kind, attribute)
        for kind, attribute in (
            (CohortKind.CLASS, "classes"),
            (CohortKind.GROUP, "groups"),
            (CohortKind.CLASS_TEACHERS, "taught_classes"),
            (CohortKind.GROUP_TEACHERS, "taught_groups"),
        )
        if kind in kinds
    ]
    for f in facts:
        uais = f.uais
        children: list[PersonFacts] = []
        if f.children:
            children = [by_key[c] for c in f.children if c in by_key]
            if children:
                merged = set(uais)
                for child in children:
                    merged |= child.uais
                uais = shared_set(frozenset(merged))
        targets = sorted(uais & wanted)
        if not targets:
            if orphan_notes:
                for tenant in tenants:
                    _warn(parts[tenant], tenant, f.notes)
            continue
        if f.notes:
            for tenant in targets:
                _warn(parts[tenant], tenant, f.notes)
        if f.person is None:
            if f.source_key:
                # Seen but unreadable: its absence must not suspend anyone.
                for tenant in targets:
                    parts[tenant].held.add(f.source_key)
            continue
        person = f.person
        if person.establishments != uais:
            person = replace(person, establishments=uais)
        key = person.source_key
        for tenant in targets:
            p = parts[tenant]
            p.people[key] = person
            if courses:
                p.facts.append(f)
            if profile_kind is not None:
                for profile in person.profiles:
                    maker.add(p, profile_kind, tenant, profile.value, key)
            if levels and Profile.STUDENT in person.profiles:
                for level in f.course_levels:
                    maker.add(p, CohortKind.LEVEL, tenant, level, key)
            for kind, attribute in linked:
                pairs: tuple[tuple[str, str], ...] = getattr(f, attribute)
                for uai, code in pairs:
                    if uai == tenant:
                        maker.add(p, kind, uai, code, key)
            for child in children:
                if tenant not in child.uais or child.person is None:
                    continue
                for uai, code in child.classes:
                    if uai == tenant:
                        maker.add(p, CohortKind.CLASS_PARENTS, uai, code, key)
                if rules.parent_role:
                    p.roles.add(
                        RoleAssignment(
                            person=key,
                            role=rules.parent_role,
                            context_level="user",
                            context=child.person.source_key,
                        )
                    )
    if group_readers:
        _add_groups(parts, maker, groups, group_readers, facts, rules.source_key_prefix)
    links = {
        tenant: course_links(
            tenant, p.facts, courses, prefix=cohort_prefix, year=rules.cohorts.year
        )
        if courses
        else CourseLinks()
        for tenant, p in parts.items()
    }
    return {
        tenant: TenantSnapshot(
            tenant=tenant,
            people=tuple(sorted(p.people.values(), key=lambda x: x.source_key)),
            cohorts=tuple(sorted(p.cohorts.values(), key=lambda c: c.idnumber)),
            cohort_members=tuple(
                CohortMembership(cohort=cohort, person=person)
                for cohort, person in sorted(p.members)
            ),
            enrolments=links[tenant].enrolments,
            groups=links[tenant].groups,
            group_members=links[tenant].group_members,
            role_assignments=tuple(
                sorted({*p.roles, *links[tenant].role_assignments}, key=lambda r: r.key)
            ),
            warnings=tuple(p.warnings),
            complete=complete,
            held=frozenset(p.held),
        )
        for tenant, p in parts.items()
    }
