"""The Moodle web-service client.

Public surface: :class:`MoodleClient` (one per site), the records it sends and
reads, :class:`BatchResult` with its :class:`Confirmed` and :class:`Failed`
items, the error hierarchy, the pre-flight check, the probes of site facts no
function lists (:func:`probe_auth`), and the plan applier (:class:`Applier`,
which returns an :class:`ApplyResult`). Everything else in this package is
private: other layers import from here, never from a module of the package
(``tests/unit/architecture/test_faces.py``).
"""

from typing import TYPE_CHECKING

from farm.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from farm.moodle.applier import Applier as Applier
    from farm.moodle.client import DEFAULT_ROLE_IDS as DEFAULT_ROLE_IDS
    from farm.moodle.client import MoodleClient as MoodleClient
    from farm.moodle.errors import AnswerMismatch as AnswerMismatch
    from farm.moodle.errors import FunctionNotAvailable as FunctionNotAvailable
    from farm.moodle.errors import InvalidToken as InvalidToken
    from farm.moodle.errors import MoodleError as MoodleError
    from farm.moodle.errors import RecordError as RecordError
    from farm.moodle.errors import SiteError as SiteError
    from farm.moodle.errors import TransientError as TransientError
    from farm.moodle.errors import UnknownError as UnknownError
    from farm.moodle.preflight import CATEGORY_LOOKUP as CATEGORY_LOOKUP
    from farm.moodle.preflight import OPTIONAL_FUNCTIONS as OPTIONAL_FUNCTIONS
    from farm.moodle.preflight import REQUIRED_FUNCTIONS as REQUIRED_FUNCTIONS
    from farm.moodle.preflight import CoursePattern as CoursePattern
    from farm.moodle.preflight import SiteCheck as SiteCheck
    from farm.moodle.preflight import SiteTarget as SiteTarget
    from farm.moodle.preflight import check_site as check_site
    from farm.moodle.preflight import check_sites as check_sites
    from farm.moodle.probes import Found as Found
    from farm.moodle.probes import ProbeResult as ProbeResult
    from farm.moodle.probes import probe_auth as probe_auth
    from farm.moodle.records import AssignedRole as AssignedRole
    from farm.moodle.records import BatchResult as BatchResult
    from farm.moodle.records import CohortMember as CohortMember
    from farm.moodle.records import Confirmed as Confirmed
    from farm.moodle.records import EnrolledUser as EnrolledUser
    from farm.moodle.records import Failed as Failed
    from farm.moodle.records import GroupMember as GroupMember
    from farm.moodle.records import ManualEnrolment as ManualEnrolment
    from farm.moodle.records import MoodleCohort as MoodleCohort
    from farm.moodle.records import MoodleCourse as MoodleCourse
    from farm.moodle.records import MoodleGroup as MoodleGroup
    from farm.moodle.records import MoodleUser as MoodleUser
    from farm.moodle.records import NewCohort as NewCohort
    from farm.moodle.records import NewCourse as NewCourse
    from farm.moodle.records import NewGroup as NewGroup
    from farm.moodle.records import NewUser as NewUser
    from farm.moodle.records import SiteInfo as SiteInfo
    from farm.moodle.records import Unenrolment as Unenrolment
    from farm.moodle.records import UserUpdate as UserUpdate
    from farm.moodle.session import OnBatch as OnBatch
    from farm.moodle.settings import MoodleLimits as MoodleLimits
    from farm.moodle.site_writer import ApplyResult as ApplyResult

# Imported on first use: the configuration imports farm.moodle.settings, and
# must not load httpx and the whole client for that.
_EXPORTS = {
    "farm.moodle.applier": ("Applier",),
    "farm.moodle.client": ("DEFAULT_ROLE_IDS", "MoodleClient"),
    "farm.moodle.errors": (
        "AnswerMismatch",
        "FunctionNotAvailable",
        "InvalidToken",
        "MoodleError",
        "RecordError",
        "SiteError",
        "TransientError",
        "UnknownError",
    ),
    "farm.moodle.preflight": (
        "CATEGORY_LOOKUP",
        "CoursePattern",
        "OPTIONAL_FUNCTIONS",
        "REQUIRED_FUNCTIONS",
        "SiteCheck",
        "SiteTarget",
        "check_site",
        "check_sites",
    ),
    "farm.moodle.probes": ("Found", "ProbeResult", "probe_auth"),
    "farm.moodle.records": (
        "AssignedRole",
        "BatchResult",
        "CohortMember",
        "Confirmed",
        "EnrolledUser",
        "Failed",
        "GroupMember",
        "ManualEnrolment",
        "MoodleCohort",
        "MoodleCourse",
        "MoodleGroup",
        "MoodleUser",
        "NewCohort",
        "NewCourse",
        "NewGroup",
        "NewUser",
        "SiteInfo",
        "Unenrolment",
        "UserUpdate",
    ),
    "farm.moodle.session": ("OnBatch",),
    "farm.moodle.settings": ("MoodleLimits",),
    "farm.moodle.site_writer": ("ApplyResult",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
