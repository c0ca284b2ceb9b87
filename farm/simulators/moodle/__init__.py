"""A simulator of Moodle 5.0's REST web services, faithful to ``shared/MOODLE-WS.md``.

One :class:`MoodleSimulator` (an ASGI app) hosts many sites, each under its own
path prefix with its own state, token, debug flag, ``max_input_vars``,
password policy, profile fields, cost model and faults::

    sim = MoodleSimulator()
    site = sim.add_site("lycee-a", token="t0k", profile_fields=["uai"])
    async with httpx.AsyncClient(transport=sim.transport()) as http: ...
    site.live_users(), site.cohorts, site.faults.unavailable = 0.2

It behaves like a stock Moodle 5.0.6+ with debugging off: exception classes
namespaced (``core\\exception\\invalid_parameter_exception``), an unknown
function answered like an unknown record, no ``cas`` auth, no ``parent`` role.
It keeps its own list of the farm's functions (:data:`FARM_FUNCTIONS`) and
imports nothing from the client. What a site holds are rows of Moodle's own
tables (:class:`UserRow`, :class:`CohortRow`, :class:`CourseRow`,
:class:`EnrolmentRow`, :class:`GroupRow`), named apart from the farm's records
(``farm.model.Cohort``) and the client's (``farm.moodle.MoodleCohort``).

Site settings
-------------
Each is a :class:`Site` field, given to ``sim.add_site(name, **settings)`` or
changed on the site object at any time:

``debug`` (False)
    Debugging on: errors carry ``debuginfo``, and record errors name their table
    (``invaliduser``, ``invalidrecord``) instead of ``invalidrecordunknown``.
``max_input_vars`` (5000)
    PHP keeps this many form fields and silently drops the rest.
``password_policy`` (:class:`PasswordPolicy`)
    What an explicit password of a manual account must pass.
``auth_installed`` (:data:`STOCK_AUTH_PLUGINS`)
    Auth plugins the site has; a create with another one is refused
    (``invalidparameter``). A site that installed CAS:
    ``sim.add_site(..., auth_installed={*STOCK_AUTH_PLUGINS, "cas"})``.
    ``webservice`` and ``mnet`` accounts cannot be created through the web
    services even when installed.
``auth_enabled`` ({"manual", "nologin", "email"})
    Enabled plugins; informative only: a disabled but installed plugin is accepted.
``allowaccountssameemail`` (False)
    Moodle's setting of that name: when True, emails need not be unique.
``profile_fields`` ({})
    Custom profile fields, shortname to name (``add_site(profile_fields=...)``).
``enrol_assignable`` (None)
    None: the token belongs to a site admin and can enrol with every role
    assignable in a course (manager included); site info says
    ``userissiteadmin``. A set of role ids models a token that can give only
    those (others: ``wsusercannotassign``).
``roles`` (stock: manager 1 ... frontpage 8)
    Role id to :class:`Role`; a test adds e.g. a ``parent`` role assignable in
    user context (level 30).
``cost`` (:class:`CostModel`, no delay) and ``faults`` (:class:`Faults`, none)
    Time per call and per record with a worker count; injected failures.
``release``, ``version``, ``seed``
    What site info reports; the seed of the fault injection.

Faults
------
``site.faults`` (:class:`Faults`) holds rates, changed at any time: a share of
calls answered 502 (``bad_gateway``) or 503 (``unavailable``) before anything
is processed, processed then held for ``hang_seconds`` (``timeout``: the
client gives up, the write is done), processed then dropped mid-answer
(``drop``), or slowed by ``slow_seconds`` (``slow``); ``remaining`` bounds how
many are injected; ``site.seed`` seeds the draws; ``site.injected`` counts
what they injected, by kind (``"502"``, ``"503"``, ``"timeout"``, ``"drop"``,
``"slow"``).

``site.targeted`` is a list of :class:`TargetedFault`: "the ``nth`` call of
function F (``"*"``: any, ``"login"``: the token endpoint), and ``times - 1``
after it, answers 502 / 503, drops, hangs, stalls (held unprocessed until
released, then 503: nothing applied) or holds (processed, the answer held
until released)". A targeted call meets only its own fault. Calls held now
are counted in ``site.holding``; ``site.release_held()`` lets them go (a hold
also ends after its ``hold_seconds``). Every targeted fault that fired is in
``site.fault_log`` (function, action, call number, time). ``site.state()`` is
all of it as JSON-ready values, with the users and cohorts the site holds.

Control endpoint
----------------
``MoodleSimulator(control=True)`` (``tools/moodle_simulator.py --control``,
which refuses a non-loopback host) also serves, to loopback clients only
(others get 403; without ``control`` these paths are 404 like any other)::

    POST /_control/<site>/faults   {"bad_gateway": 0.05, "seed": 3, "targeted": [
                                    {"function": "core_user_create_users",
                                     "nth": 2, "action": "hold"}]}
                                   (also "drop", "timeout", "unavailable", "slow",
                                   "slow_seconds", "hang_seconds", "remaining",
                                   "add_targeted": [...], "clear": true)
    GET  /_control/<site>/faults   the rates and targeted faults
    GET  /_control/<site>/state    site.state(): users, cohorts, calls, faults, log
    POST /_control/<site>/release  site.release_held()

A request with an unknown key or a bad value is refused whole (400) before
anything changes. So a campaign can fault a site a ``farm sync`` subprocess
is talking to at the very call it wants (``tools/fault_campaign.py``).

What a test can read on a simulated user (:class:`UserRow`): ``password`` (the plain
password of a manual account, :data:`PASSWORD_NOT_CACHED` for an external
auth, None when Moodle generated one) and ``password_emailed`` (True when the
create had ``createpassword=1``: Moodle would have e-mailed the person).
"""

from farm.simulators.moodle.app import ConnectionDropped, MoodleSimulator
from farm.simulators.moodle.catalogue import FUNCTIONS
from farm.simulators.moodle.state import (
    FARM_FUNCTIONS,
    PASSWORD_NOT_CACHED,
    STOCK_AUTH_PLUGINS,
    CohortRow,
    CostModel,
    CourseRow,
    EnrolmentRow,
    Faults,
    GroupRow,
    PasswordPolicy,
    Role,
    Site,
    TargetedFault,
    UserRow,
)

__all__ = [
    "FARM_FUNCTIONS",
    "FUNCTIONS",
    "PASSWORD_NOT_CACHED",
    "STOCK_AUTH_PLUGINS",
    "CohortRow",
    "ConnectionDropped",
    "CostModel",
    "CourseRow",
    "EnrolmentRow",
    "Faults",
    "GroupRow",
    "MoodleSimulator",
    "PasswordPolicy",
    "Role",
    "Site",
    "TargetedFault",
    "UserRow",
]
