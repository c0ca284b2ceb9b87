"""ENT directory source: an SDET LDAP directory read with ldap3.

``SdetSource(name, DirectorySettings)`` implements :class:`farm.sources.Source`.
The mapping rules (:class:`MappingRules`) say how entries become Moodle
fields and cohorts; their defaults fit a plain SDET directory.
"""

from farm.sources.sdet.mapping import CohortKind, CohortRules, FieldRule, MappingRules
from farm.sources.sdet.settings import DirectorySettings
from farm.sources.sdet.source import SdetSource

__all__ = [
    "CohortKind",
    "CohortRules",
    "DirectorySettings",
    "FieldRule",
    "MappingRules",
    "SdetSource",
]
