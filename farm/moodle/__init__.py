"""The Moodle web-service client.

Public surface: :class:`MoodleClient` (one per site), the records it sends and
reads, :class:`BatchResult` with its :class:`Confirmed` and :class:`Failed`
items, the error hierarchy, and the pre-flight check. Everything else in this
package is private.
"""

from typing import TYPE_CHECKING

from farm.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from farm.moodle.client import (
        DEFAULT_ROLE_IDS,
        MoodleClient,
    )
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
    from farm.moodle.preflight import (
        REQUIRED_FUNCTIONS,
        SiteCheck,
        SiteTarget,
        check_site,
        check_sites,
    )
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
    from farm.moodle.session import (
        OnBatch,
    )
    from farm.moodle.settings import (
        MoodleLimits,
    )

# Imported on first use: the configuration imports farm.moodle.settings, and
# must not load httpx and the whole client for that.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AnswerMismatch": "farm.moodle.errors",
        "BatchResult": "farm.moodle.records",
        "CohortMember": "farm.moodle.records",
        "Confirmed": "farm.moodle.records",
        "DEFAULT_ROLE_IDS": "farm.moodle.client",
        "EnrolledUser": "farm.moodle.records",
        "Enrolment": "farm.moodle.records",
        "Failed": "farm.moodle.records",
        "FunctionNotAvailable": "farm.moodle.errors",
        "GroupMember": "farm.moodle.records",
        "InvalidToken": "farm.moodle.errors",
        "MoodleClient": "farm.moodle.client",
        "MoodleCohort": "farm.moodle.records",
        "MoodleCourse": "farm.moodle.records",
        "MoodleError": "farm.moodle.errors",
        "MoodleGroup": "farm.moodle.records",
        "MoodleLimits": "farm.moodle.settings",
        "MoodleUser": "farm.moodle.records",
        "NewCohort": "farm.moodle.records",
        "NewCourse": "farm.moodle.records",
        "NewGroup": "farm.moodle.records",
        "NewUser": "farm.moodle.records",
        "OnBatch": "farm.moodle.session",
        "REQUIRED_FUNCTIONS": "farm.moodle.preflight",
        "RecordError": "farm.moodle.errors",
        "RoleAssignment": "farm.moodle.records",
        "SiteCheck": "farm.moodle.preflight",
        "SiteError": "farm.moodle.errors",
        "SiteInfo": "farm.moodle.records",
        "SiteTarget": "farm.moodle.preflight",
        "TransientError": "farm.moodle.errors",
        "Unenrolment": "farm.moodle.records",
        "UnknownError": "farm.moodle.errors",
        "UserUpdate": "farm.moodle.records",
        "check_site": "farm.moodle.preflight",
        "check_sites": "farm.moodle.preflight",
    },
)

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
