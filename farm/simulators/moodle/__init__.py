"""A simulator of Moodle 5.0's REST web services, faithful to ``shared/MOODLE-WS.md``.

One :class:`MoodleSimulator` (an ASGI app) hosts many sites, each under its own
path prefix with its own state, token, debug flag, ``max_input_vars``,
password policy, profile fields, cost model and faults::

    sim = MoodleSimulator()
    site = sim.add_site("lycee-a", token="t0k", profile_fields=["uai"])
    async with httpx.AsyncClient(transport=sim.transport()) as http: ...
    site.live_users(), site.cohorts, site.faults.unavailable = 0.2
"""

from farm.simulators.moodle.app import ConnectionDropped, MoodleSimulator
from farm.simulators.moodle.catalogue import FUNCTIONS
from farm.simulators.moodle.state import (
    FARM_FUNCTIONS,
    Cohort,
    CostModel,
    Course,
    Enrolment,
    Faults,
    Group,
    PasswordPolicy,
    Role,
    Site,
    User,
)

__all__ = [
    "FARM_FUNCTIONS",
    "FUNCTIONS",
    "Cohort",
    "ConnectionDropped",
    "CostModel",
    "Course",
    "Enrolment",
    "Faults",
    "Group",
    "MoodleSimulator",
    "PasswordPolicy",
    "Role",
    "Site",
    "User",
]
