"""The Moodle web-service client.

Public surface: :class:`MoodleClient` (one per site), the records it sends and
reads, :class:`BatchResult` with its :class:`Confirmed` and :class:`Failed`
items, the error hierarchy, and the pre-flight check. Everything else in this
package is private.
"""

from farm.moodle.client import DEFAULT_ROLE_IDS, MoodleClient
from farm.moodle.errors import (
    AnswerMismatch,
    FunctionNotAvailable,
    InvalidToken,
    MoodleError,
    RecordError,
    SiteError,
    TransientError,
    UnknownError,
)
from farm.moodle.preflight import REQUIRED_FUNCTIONS, SiteCheck, SiteTarget, check_site, check_sites
from farm.moodle.records import (
    BatchResult,
    CohortMember,
    Confirmed,
    EnrolledUser,
    Enrolment,
    Failed,
    GroupMember,
    MoodleCohort,
    MoodleCourse,
    MoodleGroup,
    MoodleUser,
    NewCohort,
    NewCourse,
    NewGroup,
    NewUser,
    RoleAssignment,
    SiteInfo,
    Unenrolment,
    UserUpdate,
)
from farm.moodle.session import OnBatch
from farm.moodle.settings import MoodleLimits

__all__ = [
    "DEFAULT_ROLE_IDS",
    "REQUIRED_FUNCTIONS",
    "AnswerMismatch",
    "BatchResult",
    "CohortMember",
    "Confirmed",
    "EnrolledUser",
    "Enrolment",
    "Failed",
    "FunctionNotAvailable",
    "GroupMember",
    "InvalidToken",
    "MoodleClient",
    "MoodleCohort",
    "MoodleCourse",
    "MoodleError",
    "MoodleGroup",
    "MoodleLimits",
    "MoodleUser",
    "NewCohort",
    "NewCourse",
    "NewGroup",
    "NewUser",
    "OnBatch",
    "RecordError",
    "RoleAssignment",
    "SiteCheck",
    "SiteError",
    "SiteInfo",
    "SiteTarget",
    "TransientError",
    "Unenrolment",
    "UnknownError",
    "UserUpdate",
    "check_site",
    "check_sites",
]
