"""NetYpareo (YParéo) source: CFA sites, groups, learners, trainers and tutors over SOAP.

The public names are imported on first use, so that reading a farm's
settings does not load zeep.
"""

from typing import TYPE_CHECKING

from farm.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from farm.sources.netypareo.records import (
        NON_NETYPAREO_TEACHER_USERTYPE as NON_NETYPAREO_TEACHER_USERTYPE,
    )
    from farm.sources.netypareo.records import PROFILE_FIELDS as PROFILE_FIELDS
    from farm.sources.netypareo.records import cohort_idnumber as cohort_idnumber
    from farm.sources.netypareo.records import is_major as is_major
    from farm.sources.netypareo.records import source_key as source_key
    from farm.sources.netypareo.settings import NetYpareoFields as NetYpareoFields
    from farm.sources.netypareo.settings import NetYpareoOperations as NetYpareoOperations
    from farm.sources.netypareo.settings import NetYpareoSettings as NetYpareoSettings
    from farm.sources.netypareo.settings import NetYpareoValues as NetYpareoValues
    from farm.sources.netypareo.source import NetYpareoSource as NetYpareoSource
    from farm.sources.netypareo.tenant import NetYpareoTenant as NetYpareoTenant

_EXPORTS = {
    "farm.sources.netypareo.records": (
        "NON_NETYPAREO_TEACHER_USERTYPE",
        "PROFILE_FIELDS",
        "cohort_idnumber",
        "is_major",
        "source_key",
    ),
    "farm.sources.netypareo.settings": (
        "NetYpareoFields",
        "NetYpareoOperations",
        "NetYpareoSettings",
        "NetYpareoValues",
    ),
    "farm.sources.netypareo.source": ("NetYpareoSource",),
    "farm.sources.netypareo.tenant": ("NetYpareoTenant",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
