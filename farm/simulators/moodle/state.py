"""What one simulated Moodle site holds, and how it is set up.

Tests read these objects directly (``site.users``, ``site.cohorts``...) and
change a site's behaviour through its settings (``site.debug``,
``site.max_input_vars``, ``site.cost``, ``site.faults``...; every setting is
listed in the package docstring, ``farm/simulators/moodle/__init__.py``).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

import anyio

from farm.simulators.moodle.user_table import INDEXED, UserTable

SYSTEM_CONTEXT = 1
USER_LEVEL = 30
COURSE_LEVEL = 50

# A simulated site's "farm" service holds exactly the functions MOODLE-WS.md
# lists under "Functions the farm needs in the token's service". The simulator
# keeps its own copy: it must not depend on the client's constants.
FARM_FUNCTIONS: tuple[str, ...] = (
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

# The auth plugins a stock Moodle 5.0 ships (no ``cas``: a site installs it separately).
STOCK_AUTH_PLUGINS: frozenset[str] = frozenset(
    {"email", "ldap", "lti", "manual", "nologin", "none", "oauth2", "shibboleth", "webservice"}
)
# What Moodle stores as the password of an account whose auth is external.
PASSWORD_NOT_CACHED = "not cached"  # noqa: S105  (a marker, not a secret)


@dataclass
class CostModel:
    """Time a call takes inside Moodle: per call plus per record, ``workers`` at once.

    ``per_record_by_function`` overrides the per-record time of some functions
    (deleting is slower than creating on a real site: about 17 ms per user;
    a lookup costs about 3.5 ms per user found).
    """

    per_call: float = 0.0
    per_record: float = 0.0
    workers: int = 8
    per_record_by_function: dict[str, float] = field(default_factory=dict)

    @classmethod
    def measured(cls, workers: int = 4) -> CostModel:
        """The cost measured on a stock Moodle 5.0 on two cores (MOODLE-WS.md)."""
        return cls(
            0.030,
            0.010,
            workers,
            {"core_user_delete_users": 0.017, "core_user_get_users_by_field": 0.0035},
        )

    def delay(self, records: int, function: str = "") -> float:
        per_record = self.per_record_by_function.get(function, self.per_record)
        return self.per_call + per_record * records


@dataclass
class Faults:
    """Rates (0..1) of failures injected before or after a call is processed.

    ``timeout`` applies the call, then holds the answer for ``hang_seconds``
    (the client gives up, the work is done); ``drop`` closes the connection
    before the answer body; ``slow`` adds ``slow_seconds``. ``remaining``, when
    set, is how many more faults to inject before the site behaves again.
    """

    bad_gateway: float = 0.0
    unavailable: float = 0.0
    timeout: float = 0.0
    drop: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 0.5
    hang_seconds: float = 30.0
    remaining: int | None = None

    def spend(self) -> bool:
        """Count one injected fault; False when none is left to inject."""
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


#: What a :class:`TargetedFault` does to the call it hits.
FAULT_ACTIONS: tuple[str, ...] = ("502", "503", "drop", "hang", "stall", "hold")


@dataclass
class TargetedFault:
    """A planned failure: the ``nth`` call of ``function`` (and ``times - 1`` after it).

    Calls are counted per fault from the moment it is set; ``function`` is a
    ``wsfunction`` name, ``"login"`` for ``/login/token.php``, or ``"*"`` for
    any call. ``action``:

    ``"502"``, ``"503"``
        answered with that status before anything is processed;
    ``"drop"``
        processed, then the connection closes before the answer body;
    ``"hang"``
        processed, the answer held for :attr:`Faults.hang_seconds`;
    ``"stall"``
        held unprocessed until released (``site.release_held()``, or ``POST
        /_control/SITE/release``) or ``hold_seconds`` pass, then answered 503:
        nothing is applied;
    ``"hold"``
        processed, the answer held until released or ``hold_seconds`` pass,
        then sent: a test acts while Moodle has applied a call whose answer
        has not left.
    """

    function: str
    action: str
    nth: int = 1
    times: int = 1
    hold_seconds: float = 30.0
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.action not in FAULT_ACTIONS:
            raise ValueError(f"action {self.action!r} is not one of {', '.join(FAULT_ACTIONS)}")
        if self.nth < 1 or self.times < 1:
            raise ValueError("nth and times must be at least 1")
        if not 0 < self.hold_seconds <= 600:
            raise ValueError("hold_seconds must be in (0, 600]")

    def hits(self, function: str) -> bool:
        """Count one call; True when this call is one the fault is for."""
        if self.function not in ("*", function):
            return False
        self.seen += 1
        if self.nth <= self.seen < self.nth + self.times:
            self.fired += 1
            return True
        return False

    @property
    def spent(self) -> bool:
        return self.seen >= self.nth + self.times - 1

    def to_json(self) -> dict[str, object]:
        return {
            "function": self.function,
            "action": self.action,
            "nth": self.nth,
            "times": self.times,
            "hold_seconds": self.hold_seconds,
            "seen": self.seen,
            "fired": self.fired,
        }


@dataclass
class PasswordPolicy:
    min_length: int = 8
    digits: int = 1
    lower: int = 1
    upper: int = 1
    nonalnum: int = 1

    def problems(self, password: str) -> list[str]:
        found: list[str] = []
        if len(password) < self.min_length:
            found.append(f"Passwords must be at least {self.min_length} characters long.")
        if len(re.findall(r"\d", password)) < self.digits:
            found.append(f"Passwords must have at least {self.digits} digit(s).")
        if len(re.findall(r"[a-z]", password)) < self.lower:
            found.append(f"Passwords must have at least {self.lower} lower case letter(s).")
        if len(re.findall(r"[A-Z]", password)) < self.upper:
            found.append(f"Passwords must have at least {self.upper} upper case letter(s).")
        if len(re.findall(r"[^A-Za-z0-9]", password)) < self.nonalnum:
            found.append(
                f"The password must have at least {self.nonalnum} special character(s) such "
                "as as *, -, or #."
            )
        return found


@dataclass(frozen=True)
class Role:
    id: int
    shortname: str
    name: str
    contextlevels: frozenset[int]


# The roles of a stock Moodle 5.0 and the context levels each can be assigned in.
# There is no ``parent`` role: a site creates one (a test adds it to ``site.roles``).
DEFAULT_ROLES: tuple[Role, ...] = (
    Role(1, "manager", "Manager", frozenset({10, 40, 50})),
    Role(2, "coursecreator", "Course creator", frozenset({10, 40})),
    Role(3, "editingteacher", "Teacher", frozenset({50, 70})),
    Role(4, "teacher", "Non-editing teacher", frozenset({50, 70})),
    Role(5, "student", "Student", frozenset({50, 70})),
    Role(6, "guest", "Guest", frozenset()),
    Role(7, "user", "Authenticated user", frozenset()),
    Role(8, "frontpage", "Authenticated user on site home", frozenset()),
)


@dataclass
class UserRow:
    """A row of the site's ``user`` table."""

    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    auth: str = "manual"
    idnumber: str = ""
    suspended: bool = False
    deleted: bool = False
    # The plain password a manual account logs in with; PASSWORD_NOT_CACHED for an
    # external auth; None when Moodle generated one (createpassword=1).
    password: str | None = None
    lang: str = "en"
    timezone: str = "99"
    country: str = ""
    customfields: dict[str, str] = field(default_factory=dict)
    # True when Moodle would have e-mailed the person a generated password
    # (createpassword=1) and forced a change at next login.
    password_emailed: bool = False

    def __setattr__(self, name: str, value: object) -> None:
        # A row held in a site's users table tells the table when a looked-up
        # column changes (a call's write, or a test's), so its index stays true.
        homes: dict[int, UserTable[UserRow]] | None = self.__dict__.get("_homes")
        if not homes or name not in INDEXED:
            object.__setattr__(self, name, value)
            return
        old = self.__dict__.get(name)
        object.__setattr__(self, name, value)
        told: list[UserTable[UserRow]] = []
        for table in homes.values():
            if all(table is not done for done in told):
                told.append(table)
                table.moved(self, name, old)

    def __getstate__(self) -> dict[str, object]:
        # A copy (copy.copy, deepcopy, pickle) is a row of no table.
        return {k: v for k, v in self.__dict__.items() if k != "_homes"}


@dataclass
class CohortRow:
    """A row of the site's ``cohort`` table, with its members (``cohort_members``)."""

    id: int
    contextid: int
    name: str
    idnumber: str
    description: str = ""
    visible: bool = True
    members: set[int] = field(default_factory=set)


@dataclass
class CourseRow:
    """A row of the site's ``course`` table."""

    id: int
    contextid: int
    shortname: str
    fullname: str
    categoryid: int
    idnumber: str = ""
    visible: bool = True


@dataclass
class CategoryRow:
    """A row of the site's ``course_categories`` table; ``parent`` 0 for a top category."""

    id: int
    name: str
    idnumber: str = ""
    parent: int = 0


@dataclass
class EnrolmentRow:
    """A manual enrolment (``user_enrolments``), keyed by course and user on the site."""

    suspended: bool = False
    timestart: int = 0
    timeend: int = 0


@dataclass
class GroupRow:
    """A row of the site's ``groups`` table, with its members (``groups_members``)."""

    id: int
    courseid: int
    name: str
    description: str = ""
    idnumber: str = ""
    members: set[int] = field(default_factory=set)


@dataclass
class Site:
    """One simulated Moodle: settings, behaviour knobs, and every table the farm touches."""

    name: str
    wwwroot: str = ""
    tokens: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    debug: bool = False
    max_input_vars: int = 5000
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    auth_enabled: set[str] = field(default_factory=lambda: {"manual", "nologin", "email"})
    auth_installed: set[str] = field(default_factory=lambda: set(STOCK_AUTH_PLUGINS))
    # The language packs installed (a stock site has English only) and the site's default.
    languages: set[str] = field(default_factory=lambda: {"en"})
    lang: str = "en"
    allowaccountssameemail: bool = False
    profile_fields: dict[str, str] = field(default_factory=dict)
    # None: the token's user is a site admin and may enrol with every role that can
    # be assigned in a course. A set restricts it (a token that cannot give some roles).
    enrol_assignable: set[int] | None = None
    cost: CostModel = field(default_factory=CostModel)
    faults: Faults = field(default_factory=Faults)
    release: str = "5.0.6+ (Build: 20251017)"
    version: str = "2025041406.02"
    seed: int = 0
    roles: dict[int, Role] = field(default_factory=lambda: {r.id: r for r in DEFAULT_ROLES})
    # A dict by id that also indexes usernames, e-mails and idnumbers (user_table.py).
    users: UserTable[UserRow] = field(default_factory=UserTable)
    cohorts: dict[int, CohortRow] = field(default_factory=dict)
    categories: dict[int, int] = field(default_factory=lambda: {1: 2})
    # The rows behind ``categories`` (id -> context id): names, idnumbers, parents.
    category_rows: dict[int, CategoryRow] = field(
        default_factory=lambda: {1: CategoryRow(1, "Category 1")}
    )
    courses: dict[int, CourseRow] = field(default_factory=dict)
    enrolments: dict[tuple[int, int], EnrolmentRow] = field(default_factory=dict)
    role_assignments: set[tuple[int, int, int]] = field(default_factory=set)
    groups: dict[int, GroupRow] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    dropped_fields: list[int] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    working: int = 0
    peak_working: int = 0
    contexts: dict[int, tuple[int, int]] = field(
        default_factory=lambda: {SYSTEM_CONTEXT: (10, 0), 2: (40, 1)}
    )
    # Targeted faults (first match wins), what they did, and the calls they hold now.
    targeted: list[TargetedFault] = field(default_factory=list)
    fault_log: list[dict[str, object]] = field(default_factory=list)
    holding: int = 0
    releases: int = 0
    # Faults the rates injected, by kind (502, 503, timeout, drop, slow).
    injected: Counter[str] = field(default_factory=Counter)
    _next_id: int = 100
    _workers: anyio.Semaphore | None = None
    _random: random.Random | None = None

    def __setattr__(self, name: str, value: object) -> None:
        # site.users = {...} (here or in a test) still gets the indexed table.
        if name == "users" and not isinstance(value, UserTable):
            value = UserTable(value)  # type: ignore[arg-type]
        object.__setattr__(self, name, value)

    def __post_init__(self) -> None:
        self.users.setdefault(1, UserRow(1, "guest", "Guest user", " ", "root@localhost"))
        self.users.setdefault(2, UserRow(2, "admin", "Admin", "User", "admin@example.invalid"))
        self.ws_user = 2

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def new_context(self, level: int, instance: int) -> int:
        contextid = self.new_id()
        self.contexts[contextid] = (level, instance)
        return contextid

    def add_category(self, name: str, idnumber: str = "", parent: int = 0) -> CategoryRow:
        """A course category, as an administrator makes one: the farm creates none."""
        row = CategoryRow(self.new_id(), name, idnumber, parent)
        self.category_rows[row.id] = row
        self.categories[row.id] = self.new_context(40, row.id)
        return row

    @property
    def workers(self) -> anyio.Semaphore:
        if self._workers is None:
            self._workers = anyio.Semaphore(self.cost.workers)
        return self._workers

    @property
    def random(self) -> random.Random:
        if self._random is None:
            self._random = random.Random(self.seed)
        return self._random

    def target(self, function: str) -> TargetedFault | None:
        """The targeted fault this call of ``function`` meets, counting it in every fault."""
        hit = None
        for fault in self.targeted:
            if fault.hits(function) and hit is None:
                hit = fault
        return hit

    def release_held(self) -> None:
        """Let every call a ``stall`` or ``hold`` fault holds go on."""
        self.releases += 1

    def state(self) -> dict[str, object]:
        """What the site holds and how it is faulted, as JSON-ready values."""
        return {
            "name": self.name,
            "calls": dict(self.calls),
            "faults": {k: v for k, v in vars(self.faults).items() if not k.startswith("_")},
            "targeted": [f.to_json() for f in self.targeted],
            "fault_log": list(self.fault_log),
            "holding": self.holding,
            "injected": dict(self.injected),
            "in_flight": self.in_flight,
            "users": [
                {
                    "id": u.id,
                    "username": u.username,
                    "idnumber": u.idnumber,
                    "firstname": u.firstname,
                    "lastname": u.lastname,
                    "email": u.email,
                    "auth": u.auth,
                    "suspended": u.suspended,
                    "deleted": u.deleted,
                }
                for u in self.users.values()
            ],
            "cohorts": [
                {
                    "id": c.id,
                    "idnumber": c.idnumber,
                    "name": c.name,
                    "visible": c.visible,
                    "members": sorted(c.members),
                }
                for c in self.cohorts.values()
            ],
        }

    # Inspection helpers for tests and the demo.
    def live_users(self) -> list[UserRow]:
        return [u for u in self.users.values() if not u.deleted and u.id > 2]

    def user_by_username(self, username: str) -> UserRow | None:
        """The first row (deleted or not) with this username, as a scan would find it."""
        keys = self.users.keys_with("username", username)
        return self.users[keys[0]] if keys else None

    def cohort_by_idnumber(self, idnumber: str) -> CohortRow | None:
        return next((c for c in self.cohorts.values() if c.idnumber == idnumber), None)

    def course_by_shortname(self, shortname: str) -> CourseRow | None:
        return next((c for c in self.courses.values() if c.shortname == shortname), None)

    def can_enrol_with(self, roleid: int) -> bool:
        if self.enrol_assignable is not None:
            return roleid in self.enrol_assignable
        role = self.roles.get(roleid)
        return role is not None and COURSE_LEVEL in role.contextlevels

    def user_context(self, userid: int) -> int | None:
        """The user's context id, created on first use (Moodle has one per user)."""
        user = self.users.get(userid)
        if user is None or user.deleted:
            return None
        for contextid, (level, instance) in self.contexts.items():
            if level == USER_LEVEL and instance == userid:
                return contextid
        return self.new_context(USER_LEVEL, userid)

    def user_roles_in(self, contextid: int, userid: int) -> set[int]:
        return {r for (r, c, u) in self.role_assignments if c == contextid and u == userid}
