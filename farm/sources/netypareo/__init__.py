"""NetYpareo (YParéo) source: CFA sites, groups, learners, trainers and tutors over SOAP.

The public names are imported on first use, so that reading a farm's
settings does not load zeep.
"""

from typing import TYPE_CHECKING

from farm.lazy_exports import lazy_exports

if TYPE_CHECKING:
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

_RECORDS = "farm.sources.netypareo.records"
_SETTINGS = "farm.sources.netypareo.settings"
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "NON_NETYPAREO_TEACHER_USERTYPE": _RECORDS,
        "PROFILE_FIELDS": _RECORDS,
        "cohort_idnumber": _RECORDS,
        "is_major": _RECORDS,
        "source_key": _RECORDS,
        "NetYpareoFields": _SETTINGS,
        "NetYpareoOperations": _SETTINGS,
        "NetYpareoSettings": _SETTINGS,
        "NetYpareoValues": _SETTINGS,
        "NetYpareoSource": "farm.sources.netypareo.source",
        "NetYpareoTenant": "farm.sources.netypareo.tenant",
    },
)

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
