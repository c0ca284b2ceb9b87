"""ENT directory source: an SDET LDAP directory read with ldap3.

``SdetSource(name, DirectorySettings)`` implements :class:`farm.sources.Source`.
The mapping rules (:class:`MappingRules`) say how entries become Moodle
fields and cohorts; their defaults fit a plain SDET directory. The course
rules (:class:`CourseRules`) say which enrolments, course groups and role
assignments the directory makes. The public
names are imported on first use, so that reading a farm's settings does not
load ldap3.
"""

from typing import TYPE_CHECKING

from farm.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from farm.sources.sdet.course_rules import CourseRules as CourseRules
    from farm.sources.sdet.course_rules import EnrolmentRule as EnrolmentRule
    from farm.sources.sdet.course_rules import RoleRule as RoleRule
    from farm.sources.sdet.mapping import CohortKind as CohortKind
    from farm.sources.sdet.mapping import CohortRules as CohortRules
    from farm.sources.sdet.mapping import FieldRule as FieldRule
    from farm.sources.sdet.mapping import MappingRules as MappingRules
    from farm.sources.sdet.settings import DirectorySettings as DirectorySettings
    from farm.sources.sdet.source import SdetSource as SdetSource

_EXPORTS = {
    "farm.sources.sdet.course_rules": ("CourseRules", "EnrolmentRule", "RoleRule"),
    "farm.sources.sdet.mapping": ("CohortKind", "CohortRules", "FieldRule", "MappingRules"),
    "farm.sources.sdet.settings": ("DirectorySettings",),
    "farm.sources.sdet.source": ("SdetSource",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
