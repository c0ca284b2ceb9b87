"""Plan options, as operators know them from the ENT plugin and Moodle's LDAP sync."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Any

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


class CohortRetirementPolicy(StrEnum):
    """What happens to a farm cohort no tenant reads any more (``cohort_retirement``).

    A cohort is retired when every tenant that held it read completely
    without it: last year's cohorts at the rentrée (their idnumbers carry the
    school year), a class that closed. Retiring never takes a member out of a
    cohort unless the policy says ``empty`` or ``delete``:

    - ``keep`` (the default) releases it: nothing is written to Moodle, the
      cohort keeps its name and members (and what Moodle attached to it,
      cohort enrolments for one); the index forgets its tenants, so the farm
      no longer manages it until a source brings it back.
    - ``archive`` releases it the same way, renamed with
      ``cohort_archive_suffix`` (``"2nde 1 (2025-2026)"``) and hidden
      (``visible = 0``; Moodle keeps a hidden cohort's enrolments).
    - ``empty`` removes its members and keeps the cohort, so that a source
      that brings it back revives it with the same Moodle id (what
      ``cohort_removal = "keep"`` did).
    - ``delete`` deletes it in Moodle, its members with it.
    """

    KEEP = "keep"
    ARCHIVE = "archive"
    EMPTY = "empty"
    DELETE = "delete"


#: ``cohort_removal``, the setting ``cohort_retirement`` replaced: each old value and its new name.
COHORT_REMOVAL_VALUES: Mapping[str, CohortRetirementPolicy] = {
    "keep": CohortRetirementPolicy.EMPTY,
    "delete": CohortRetirementPolicy.DELETE,
}

#: What an archived cohort's name gets; ``{school_year}`` is the year its idnumber carries
#: (``farm:2025:…`` gives ``2025-2026``), ``archived`` when it carries none.
DEFAULT_ARCHIVE_SUFFIX = " ({school_year})"


def retirement_of_removal(value: object) -> CohortRetirementPolicy:
    """The ``cohort_retirement`` an old ``cohort_removal`` value means, or a ValueError."""
    policy = COHORT_REMOVAL_VALUES.get(str(value))
    if policy is None:
        raise ValueError(
            f"cohort_removal {value!r} is not a value it took ('keep' or 'delete'); "
            f"it is now cohort_retirement: {', '.join(CohortRetirementPolicy)}"
        )
    return policy


def check_archive_suffix(suffix: str) -> str:
    """``suffix`` if it can rename an archived cohort, else a ValueError naming the problem.

    It must not be blank (the rename is what shows the cohort is archived, and
    what brings it back shown when a source reads it again), and the only
    placeholder it may hold is ``{school_year}``.
    """
    if not suffix.strip():
        raise ValueError("cohort_archive_suffix must not be blank")
    try:
        suffix.format(school_year="2025-2026")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(
            f"cohort_archive_suffix {suffix!r} may hold only the placeholder {{school_year}} "
            f"({type(error).__name__}: {error})"
        ) from None
    return suffix


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


#: A mass removal stops a run only past this many people, whatever the share.
_FLOOR = 5


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
    - ``cohort_retirement``: what happens to cohorts no tenant reads any
      more (:class:`CohortRetirementPolicy`: kept as they are by default);
      ``cohort_archive_suffix`` is what ``archive`` adds to their names.
    - ``mass_removal_threshold``/``mass_removal_floor``: a plan that removes
      more than this share of what the index holds for the site (people,
      cohorts, memberships, enrolments, role assignments, each on its own),
      and more than the floor, stops the run (:mod:`farm.safety`);
      ``allow_mass_removal`` lifts every safety stop for one run.
    - ``adopt_cohorts``: also create, adopt and update cohorts and groups
      whose idnumber lacks ``cohort_prefix`` (the ENT plugin's "disable
      automatic cohort lock"). Groups use the same prefix.
    - ``cohort_scope``: only the cohorts whose idnumber, past the farm's
      prefix, matches this glob (``netypareo:*:group:*``), and their
      members; the others are neither read into the plan nor removed
      (:mod:`farm.cohort_scope`). None: every cohort.

    ``entities`` empty plans nothing: a task that only reads, such as
    NetYpareo's ``caches`` (an operator's ``--entities`` cannot be empty).
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
    cohort_retirement: CohortRetirementPolicy = CohortRetirementPolicy.KEEP
    cohort_archive_suffix: str = DEFAULT_ARCHIVE_SUFFIX
    mass_removal_threshold: float = 0.10
    mass_removal_floor: int = _FLOOR
    allow_mass_removal: bool = False
    adopt_cohorts: bool = False
    cohort_prefix: str = ""
    cohort_scope: str | None = None

    def __post_init__(self) -> None:
        # The planner compares policies by identity: "keep" given as a plain string must
        # not fall through to a deletion.
        object.__setattr__(self, "removal", RemovalPolicy(self.removal))
        object.__setattr__(
            self, "cohort_retirement", CohortRetirementPolicy(self.cohort_retirement)
        )
        check_archive_suffix(self.cohort_archive_suffix)
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


@dataclass(frozen=True, slots=True)
class PlanDefaults:
    """What a site and its farm say when a run's options say nothing (farm.toml, the site file)."""

    removal: RemovalPolicy = RemovalPolicy.SUSPEND
    cohort_retirement: CohortRetirementPolicy = CohortRetirementPolicy.KEEP
    cohort_archive_suffix: str = DEFAULT_ARCHIVE_SUFFIX
    mass_removal_threshold: float = 0.10
    cohort_prefix: str = ""


_FLAGS = ("simulate", "force", "refresh_only", "verbose", "allow_mass_removal", "adopt_cohorts")
#: Flags of the run, not of its plan.
_RUN_FLAGS = ("delta", "force_stale", "replan_drifted")


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What an operator asked of one run, typed once where it enters the farm.

    The CLI, the dashboard and the scheduler build one; it travels as is in
    :class:`farm.engine.coordinator.SyncRequest` and
    :class:`farm.engine.jobspec.JobSpec`, and becomes JSON only where a value
    must leave the process (the procrastinate queue, the run's row in the
    registry) through :meth:`to_json` and back through :meth:`from_mapping`.

    The plan's fields mean what :class:`PlanOptions` says; a field left None
    takes the site's default (:meth:`resolve`). Three more steer the read, not
    the plan: ``delta`` reads only what changed since the tenants' bookmarks,
    ``run_date`` is the day a source computes ages and majority on,
    ``cohort_year`` the school year of the SDET cohorts' idnumbers.

    ``apply_plan_of`` makes the run apply the plan that simulated run stored
    (``farm apply RUN``, :mod:`farm.engine.stored_apply`) instead of reading
    and planning; ``force_stale`` applies it however old it is;
    ``replan_drifted`` makes a simulation that plans again the records that
    drifted since and stores the result as a plan of its own.

    ``undo_of`` says the run takes back that run (``farm undo RUN``): its
    simulation stores the inverse plan built from that run's journal
    (:mod:`farm.undo`), and the run that applies it keeps the mark, so its
    ground (:mod:`farm.ground`) is that undo's, never a sync's.

    ``task`` names the scheduled task the run does (``farm sync --task``,
    the scheduler): the sources hear it (``ReadRequest.task``) and may read
    less for it, and the run's ground is that task's.
    """

    simulate: bool = False
    force: bool = False
    refresh_only: bool = False
    verbose: bool = False
    allow_mass_removal: bool = False
    adopt_cohorts: bool = False
    entities: frozenset[Entity] | None = None
    profiles: frozenset[Profile] = frozenset()
    person: str | None = None
    mode: Mode = Mode.ALL
    removal: RemovalPolicy | None = None
    cohort_retirement: CohortRetirementPolicy | None = None
    mass_removal_threshold: float | None = None
    mass_removal_floor: int | None = None
    delta: bool = False
    run_date: date | None = None
    cohort_year: str | None = None
    apply_plan_of: int | None = None
    force_stale: bool = False
    replan_drifted: bool = False
    undo_of: int | None = None
    task: str | None = None
    cohort_scope: str | None = None

    def resolve(self, defaults: PlanDefaults) -> PlanOptions:
        """The plan options of this run on a site with these ``defaults``.

        Raises :class:`ValueError` when the options contradict each other
        (``refresh_only`` with ``create-only``, a threshold out of range...).
        """
        threshold = self.mass_removal_threshold
        if threshold is None:
            threshold = defaults.mass_removal_threshold
        floor = self.mass_removal_floor
        return PlanOptions(
            force=self.force,
            refresh_only=self.refresh_only,
            simulate=self.simulate,
            verbose=self.verbose,
            entities=frozenset(Entity) if self.entities is None else self.entities,
            profiles=self.profiles,
            person=self.person,
            mode=self.mode,
            removal=self.removal or defaults.removal,
            cohort_retirement=self.cohort_retirement or defaults.cohort_retirement,
            cohort_archive_suffix=defaults.cohort_archive_suffix,
            mass_removal_threshold=defaults.mass_removal_threshold
            if threshold is None
            else threshold,
            mass_removal_floor=_FLOOR if floor is None else floor,
            allow_mass_removal=self.allow_mass_removal,
            adopt_cohorts=self.adopt_cohorts,
            cohort_prefix=defaults.cohort_prefix,
            cohort_scope=self.cohort_scope,
        )

    def to_json(self) -> dict[str, Any]:
        """The options an operator gave, by name, as JSON values; defaults are left out."""
        data: dict[str, Any] = {
            name: True for name in (*_FLAGS, *_RUN_FLAGS) if getattr(self, name)
        }
        if self.entities is not None:
            data["entities"] = sorted(self.entities)
        if self.profiles:
            data["profiles"] = sorted(self.profiles)
        if self.mode is not Mode.ALL:
            data["mode"] = self.mode.value
        for name in ("person", "cohort_year", "mass_removal_threshold", "task", "cohort_scope"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.run_date is not None:
            data["run_date"] = self.run_date.isoformat()
        for name in ("mass_removal_floor", "apply_plan_of", "undo_of"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        for name in ("removal", "cohort_retirement"):
            policy = getattr(self, name)
            if policy is not None:
                data[name] = policy.value
        return data

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> RunOptions:
        """Options by name (a task's TOML table, a queued job's JSON), checked.

        ``entities`` and ``profiles`` are lists or comma-separated strings.
        ``cohort_removal``, the old name of ``cohort_retirement`` (a task's
        options, a run queued or recorded before it), still reads: ``keep``
        as ``empty``, ``delete`` as ``delete``.
        Raises :class:`ValueError` naming the bad option and what it takes.
        """
        known = {field.name for field in fields(cls)}
        for name in options:
            if name not in known and name != "cohort_removal":
                raise ValueError(f"unknown option {name!r} (known: {', '.join(sorted(known))})")
        if options.get("cohort_removal") is not None:
            if options.get("cohort_retirement") is not None:
                raise ValueError(
                    "options 'cohort_removal' and 'cohort_retirement' both given: "
                    "give cohort_retirement only (cohort_removal is its old name)"
                )
            options = {
                **{k: v for k, v in options.items() if k != "cohort_removal"},
                "cohort_retirement": retirement_of_removal(options["cohort_removal"]).value,
            }
        values: dict[str, Any] = {}
        for name in (*_FLAGS, *_RUN_FLAGS):
            if name in options:
                if not isinstance(options[name], bool):
                    raise ValueError(
                        f"option {name!r} must be true or false, got {options[name]!r}"
                    )
                values[name] = options[name]
        try:
            if options.get("entities") is not None:
                values["entities"] = frozenset(Entity(e) for e in _names(options["entities"]))
            if options.get("profiles") is not None:
                values["profiles"] = frozenset(Profile(p) for p in _names(options["profiles"]))
            if options.get("mode") is not None:
                values["mode"] = Mode(options["mode"])
            if options.get("removal") is not None:
                values["removal"] = RemovalPolicy(options["removal"])
            if options.get("cohort_retirement") is not None:
                values["cohort_retirement"] = CohortRetirementPolicy(options["cohort_retirement"])
        except ValueError as error:
            raise ValueError(f"bad option value: {error}") from None
        for name in ("person", "cohort_year", "task", "cohort_scope"):
            if options.get(name) is not None:
                values[name] = str(options[name])
        if values.get("entities") == frozenset() and "task" not in values:
            raise ValueError("no entity selected: choose among " + ", ".join(Entity))
        if options.get("run_date") is not None:
            values["run_date"] = _day(options["run_date"])
        for name in ("apply_plan_of", "undo_of"):
            if options.get(name) is not None:
                run = options[name]
                if isinstance(run, bool) or not isinstance(run, int) or run < 1:
                    raise ValueError(f"option {name!r} must be a run id, got {run!r}")
                values[name] = run
        for name, kind in (("mass_removal_threshold", float), ("mass_removal_floor", int)):
            if options.get(name) is not None:
                value = options[name]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"option {name!r} must be a number, got {value!r}")
                values[name] = kind(value)
        return cls(**values)


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"option 'run_date' must be a YYYY-MM-DD date, got {value!r}") from None


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple | set | frozenset):
        return [str(part) for part in value]
    raise ValueError(f"expected a list or a comma-separated string, got {value!r}")
