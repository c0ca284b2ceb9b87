"""Plan options, as operators know them from the ENT plugin and Moodle's LDAP sync."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from farm.model import Entity, Kind, Profile
from farm.operation import Category


class RemovalPolicy(StrEnum):
    """What happens to an account every tenant dropped (Moodle's ``removeuser``).

    ``keep`` leaves the account as it is and only forgets its tenants;
    ``suspend`` (the default) suspends it; ``delete`` deletes it in Moodle.
    """

    KEEP = "keep"
    SUSPEND = "suspend"
    DELETE = "delete"


class CohortRemovalPolicy(StrEnum):
    """What happens to a farm cohort every tenant dropped (``cohort_removal``).

    ``keep`` (the default) empties it: its members are removed, the cohort
    stays in Moodle and in the index without tenants, and a source that
    brings it back revives it with the same Moodle id, so that what Moodle
    attached to that id (cohort enrolments, for one) survives. ``delete``
    deletes it in Moodle, its members with it.
    """

    KEEP = "keep"
    DELETE = "delete"


class Mode(StrEnum):
    """Which operations run: all of them, or only one category."""

    ALL = "all"
    CREATE_ONLY = "create-only"
    UPDATE_ONLY = "update-only"
    DELETE_ONLY = "delete-only"


_MODE_CATEGORY = {
    Mode.CREATE_ONLY: Category.CREATE,
    Mode.UPDATE_ONLY: Category.UPDATE,
    Mode.DELETE_ONLY: Category.REMOVE,
}


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Everything an operator can say about one run's plan.

    - ``force``: re-examine everything and ignore digests: every existing
      account, cohort and group gets an update naming all its fields, and
      every existing link is added again (Moodle treats both as no-ops when
      nothing drifted, and repairs what someone changed by hand).
    - ``refresh_only``: create no account, cohort or group; update, link and
      remove what exists.
    - ``simulate``: plan and report everything, write nothing (the applier
      reads it from the plan).
    - ``verbose``: the report has a line per operation.
    - ``entities``: which kinds of record to plan (``users``, ``cohorts``,
      ``roles``, ``groups``, ``enrolments``); the others are left alone.
    - ``profiles``: only people with one of these profiles, and their links;
      empty means everyone.
    - ``person``: only this person (source key, the source's own id such as
      the directory uid, username or idnumber, in any case) and
      their links. Cohorts and groups may be created or updated, never removed.
    - ``mode``: create-only, update-only or delete-only.
    - ``removal``: what happens to people every tenant dropped.
    - ``cohort_removal``: what happens to cohorts every tenant dropped:
      emptied and kept (the default), or deleted.
    - ``mass_removal_threshold``/``mass_removal_floor``: a plan that takes
      more than this share of the site's people off the site, and more than
      the floor, stops the run; ``allow_mass_removal`` lifts every safety
      stop for one run.
    - ``adopt_cohorts``: also create, adopt and update cohorts and groups
      whose idnumber lacks ``cohort_prefix`` (the ENT plugin's "disable
      automatic cohort lock"). Groups use the same prefix.
    """

    force: bool = False
    refresh_only: bool = False
    simulate: bool = False
    verbose: bool = False
    entities: frozenset[Entity] = frozenset(Entity)
    profiles: frozenset[Profile] = frozenset()
    person: str | None = None
    mode: Mode = Mode.ALL
    removal: RemovalPolicy = RemovalPolicy.SUSPEND
    cohort_removal: CohortRemovalPolicy = CohortRemovalPolicy.KEEP
    mass_removal_threshold: float = 0.10
    mass_removal_floor: int = 5
    allow_mass_removal: bool = False
    adopt_cohorts: bool = False
    cohort_prefix: str = ""

    def __post_init__(self) -> None:
        # The planner compares policies by identity: "keep" given as a plain string must
        # not fall through to a deletion.
        object.__setattr__(self, "removal", RemovalPolicy(self.removal))
        object.__setattr__(self, "cohort_removal", CohortRemovalPolicy(self.cohort_removal))
        if not 0.0 < self.mass_removal_threshold <= 1.0:
            raise ValueError(
                f"mass_removal_threshold must be a share in (0, 1], "
                f"got {self.mass_removal_threshold!r}"
            )
        if self.mass_removal_floor < 0:
            raise ValueError(f"mass_removal_floor must be >= 0, got {self.mass_removal_floor!r}")
        if self.person is not None and not self.person.strip():
            raise ValueError("person selection is empty: give a uid, login or source key")
        if self.refresh_only and self.mode in (Mode.CREATE_ONLY, Mode.DELETE_ONLY):
            raise ValueError(f"refresh-only cannot be combined with {self.mode}")
        if not self.entities:
            raise ValueError("no entity selected: choose among " + ", ".join(Entity))

    def selects(self, kind: Kind) -> bool:
        return kind.entity in self.entities

    def allows(self, category: Category, kind: Kind) -> bool:
        """Whether an operation of this category on this kind may be planned."""
        if self.mode is not Mode.ALL and _MODE_CATEGORY[self.mode] is not category:
            return False
        return not (self.refresh_only and category is Category.CREATE and kind.has_moodle_id)

    @property
    def filters_people(self) -> bool:
        """True when only some people are in scope (a profile or person selection)."""
        return bool(self.profiles) or self.person is not None
