"""Who owns a cohort's identity: the farm's prefix, and the idnumbers sources build on it.

A cohort (and a course group) is the farm's when its idnumber starts with
the farm's prefix, ``[farm] cohort_prefix`` of farm.toml (:data:`DEFAULT_PREFIX`
when unset). Nothing else sets that prefix: a source extends it with its own
parts (the SDET source with the school year and its templates, NetYpareo with
``netypareo:<tenant>:<family>:<code>``) through :func:`cohort_idnumber`, and
the planner (``farm.plan_objects``) leaves alone every cohort
without it unless ``--adopt-cohorts`` says otherwise. Where a cohort is
decided, end to end, is walked in ``docs/architecture.md``.
"""

from __future__ import annotations

from typing import Final

DEFAULT_PREFIX: Final = "farm:"


def cohort_idnumber(prefix: str, *parts: str) -> str:
    """The idnumber of a cohort the farm owns: ``prefix`` then ``parts`` joined by ``:``.

    >>> cohort_idnumber("farm:", "2026", "0999901Z:2NDE1")
    'farm:2026:0999901Z:2NDE1'
    """
    return prefix + ":".join(part for part in parts if part)


def owns(prefix: str, idnumber: str) -> bool:
    """Whether a cohort or group with this idnumber is the farm's (every one, for ``""``)."""
    return idnumber.startswith(prefix)
