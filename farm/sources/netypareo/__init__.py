"""NetYpareo (YParéo) source: CFA sites, groups, learners, trainers and tutors over SOAP."""

from farm.sources.netypareo.records import (
    NON_NETYPAREO_TEACHER_USERTYPE,
    PROFILE_FIELDS,
    cohort_idnumber,
    is_major,
    source_key,
)
from farm.sources.netypareo.settings import (
    NetYpareoFields,
    NetYpareoOperations,
    NetYpareoSettings,
    NetYpareoValues,
)
from farm.sources.netypareo.source import NetYpareoSource
from farm.sources.netypareo.tenant import NetYpareoTenant

__all__ = [
    "NON_NETYPAREO_TEACHER_USERTYPE",
    "PROFILE_FIELDS",
    "NetYpareoFields",
    "NetYpareoOperations",
    "NetYpareoSettings",
    "NetYpareoSource",
    "NetYpareoTenant",
    "NetYpareoValues",
    "cohort_idnumber",
    "is_major",
    "source_key",
]
