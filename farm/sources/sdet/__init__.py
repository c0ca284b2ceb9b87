"""ENT directory source: an SDET LDAP directory read with ldap3.

``SdetSource(name, DirectorySettings)`` implements :class:`farm.sources.Source`.
The mapping rules (:class:`MappingRules`) say how entries become Moodle
fields and cohorts; their defaults fit a plain SDET directory. The public
names are imported on first use, so that reading a farm's settings does not
load ldap3.
"""

from typing import TYPE_CHECKING

from farm.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from farm.sources.sdet.mapping import CohortKind, CohortRules, FieldRule, MappingRules
    from farm.sources.sdet.settings import DirectorySettings
    from farm.sources.sdet.source import SdetSource

_MAPPING = "farm.sources.sdet.mapping"
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CohortKind": _MAPPING,
        "CohortRules": _MAPPING,
        "FieldRule": _MAPPING,
        "MappingRules": _MAPPING,
        "DirectorySettings": "farm.sources.sdet.settings",
        "SdetSource": "farm.sources.sdet.source",
    },
)

__all__ = [
    "CohortKind",
    "CohortRules",
    "DirectorySettings",
    "FieldRule",
    "MappingRules",
    "SdetSource",
]
