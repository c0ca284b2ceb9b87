"""Cohort calls: create (unique idnumber, adopt on retry), search, members."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from farm.moodle import answers
from farm.moodle.records import BatchResult, CohortMember, MoodleCohort, NewCohort
from farm.moodle.session import BatchCall, OnBatch, Session

SEARCH_PAGE = 100


class CohortCalls(Session):
    async def create_cohorts(
        self,
        cohorts: Sequence[NewCohort],
        *,
        adopt_existing: bool = False,
        on_batch: OnBatch[NewCohort] | None = None,
    ) -> BatchResult[NewCohort]:
        """Create cohorts; a refused one after a retry is adopted by idnumber if it exists."""
        function = "core_cohort_create_cohorts"

        async def adopt(batch: Sequence[NewCohort]) -> dict[int, int]:
            ids = {c.idnumber: c.id for c in await self.get_cohorts()}
            return {i: ids[c.idnumber] for i, c in enumerate(batch) if c.idnumber in ids}

        call: BatchCall[NewCohort] = BatchCall(
            function,
            "cohorts",
            NewCohort.params,
            answers.created(self.name, function, lambda c: c.idnumber, "idnumber"),
            adopt=adopt,
        )
        return await self.apply(call, cohorts, adopt_existing=adopt_existing, on_batch=on_batch)

    async def get_cohorts(self, cohort_ids: Sequence[int] = ()) -> list[MoodleCohort]:
        """Cohorts by id; no ids means every cohort of the site. Unknown ids are left out."""
        answer = await self.call("core_cohort_get_cohorts", {"cohortids": list(cohort_ids)})
        return [MoodleCohort.from_answer(c) for c in answer or []]

    async def search_cohorts(self, query: str) -> list[MoodleCohort]:
        """Cohorts whose name or idnumber contains ``query``, all pages."""
        found: list[MoodleCohort] = []
        while True:
            answer = await self.call(
                "core_cohort_search_cohorts",
                {
                    "query": query,
                    "context": {"contextlevel": "system", "instanceid": 0},
                    "includes": "all",
                    "limitfrom": len(found),
                    "limitnum": SEARCH_PAGE,
                },
            )
            page = [MoodleCohort.from_answer(c) for c in answer.get("cohorts", [])]
            found.extend(page)
            if len(page) < SEARCH_PAGE:
                return found

    async def add_cohort_members(
        self, members: Sequence[CohortMember], *, on_batch: OnBatch[CohortMember] | None = None
    ) -> BatchResult[CohortMember]:
        """Add members; unknown users or cohorts fail per item, existing members are fine."""
        function = "core_cohort_add_cohort_members"

        def blame(warning: Mapping[str, Any], batch: Sequence[CohortMember]) -> list[int] | None:
            return _blame(warning, [m.cohort_id for m in batch], [m.user_id for m in batch])

        call: BatchCall[CohortMember] = BatchCall(
            function,
            "members",
            lambda m: {
                "cohorttype": {"type": "id", "value": str(m.cohort_id)},
                "usertype": {"type": "id", "value": str(m.user_id)},
            },
            answers.warned(self.name, function, blame, ok_codes=frozenset({"3"})),
        )
        return await self.apply(call, members, on_batch=on_batch)

    async def remove_cohort_members(
        self, members: Sequence[CohortMember], *, on_batch: OnBatch[CohortMember] | None = None
    ) -> BatchResult[CohortMember]:
        """Remove members; non-members pass silently, an unknown cohort or user is refused."""
        function = "core_cohort_delete_cohort_members"
        call: BatchCall[CohortMember] = BatchCall(
            function,
            "members",
            lambda m: {"cohortid": m.cohort_id, "userid": m.user_id},
            answers.null(self.name, function),
        )
        return await self.apply(call, members, on_batch=on_batch)

    async def get_cohort_members(self, cohort_ids: Sequence[int]) -> dict[int, list[int]]:
        if not cohort_ids:
            return {}
        answer = await self.call("core_cohort_get_cohort_members", {"cohortids": list(cohort_ids)})
        return {int(c["cohortid"]): [int(u) for u in c.get("userids", [])] for c in answer}

    async def delete_cohorts(
        self, cohort_ids: Sequence[int], *, on_batch: OnBatch[int] | None = None
    ) -> BatchResult[int]:
        function = "core_cohort_delete_cohorts"
        call: BatchCall[int] = BatchCall(
            function, "cohortids", lambda i: i, answers.null(self.name, function)
        )
        return await self.apply(call, cohort_ids, on_batch=on_batch)


def _blame(
    warning: Mapping[str, Any], cohorts: Sequence[int], users: Sequence[int]
) -> list[int] | None:
    message = str(warning.get("message", ""))
    match = re.search(r"cohort id=(\d+) not exists", message)
    if match:
        return [i for i, c in enumerate(cohorts) if str(c) == match.group(1)] or None
    match = re.search(r"user id=(\d+) not exists", message)
    if match:
        return [i for i, u in enumerate(users) if str(u) == match.group(1)] or None
    match = re.search(r"cohort\(id=(\d+) id=(\d+)\)", message)
    if match:
        return [
            i
            for i, (c, u) in enumerate(zip(cohorts, users, strict=True))
            if (str(c), str(u)) == match.groups()
        ] or None
    return None
