"""User calls: create (all-or-nothing, split and adopt), update, suspend, lookups, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import structlog

from farm.moodle import answers
from farm.moodle.errors import RecordError
from farm.moodle.records import BatchResult, MoodleUser, NewUser, UserUpdate
from farm.moodle.session import BatchCall, OnBatch, Session

log = structlog.get_logger("farm.moodle")

LOOKUP_FIELDS = ("id", "idnumber", "username", "email")
#: Values per lookup call, in records per batch: a lookup sends one field per value and
#: answers only the accounts found, so it takes many more values than a write takes
#: records. The creations of a step are looked up together (farm.moodle.apply_users
#: look_up_people), within the form-field limit.
LOOKUP_BATCHES = 10


class UserCalls(Session):
    async def create_users(
        self,
        users: Sequence[NewUser],
        *,
        adopt_existing: bool = False,
        on_batch: OnBatch[NewUser] | None = None,
    ) -> BatchResult[NewUser]:
        """Create users; refused ones are isolated and reported with Moodle's reason.

        A user whose create was retried, or any refused user when
        ``adopt_existing`` is set, is looked up by username and adopted
        (``Confirmed.adopted``) only if the account is the very record sent:
        same username, idnumber, e-mail (case aside) and names. An account
        that merely shares the username belongs to someone else, and the
        refusal stands: a retry never merges two people.
        """
        function = "core_user_create_users"

        async def adopt(batch: Sequence[NewUser]) -> dict[int, int]:
            found = await self.get_users_by_field("username", [u.username for u in batch])
            accounts = {user.username: user for user in found}
            return {
                i: accounts[u.username].id
                for i, u in enumerate(batch)
                if u.username in accounts and _is_record_sent(accounts[u.username], u)
            }

        call: BatchCall[NewUser] = BatchCall(
            function,
            "users",
            NewUser.params,
            answers.created(self.name, function, lambda u: u.username, "username"),
            adopt=adopt,
        )
        return await self.apply(call, users, adopt_existing=adopt_existing, on_batch=on_batch)

    async def update_users(
        self, updates: Sequence[UserUpdate], *, on_batch: OnBatch[UserUpdate] | None = None
    ) -> BatchResult[UserUpdate]:
        """Update users; Moodle applies valid items and warns about the others."""
        function = "core_user_update_users"

        def blame(warning: Mapping[str, Any], batch: Sequence[UserUpdate]) -> list[int] | None:
            itemid = warning.get("itemid")
            positions = [i for i, u in enumerate(batch) if str(u.id) == str(itemid)]
            return positions or None

        call: BatchCall[UserUpdate] = BatchCall(
            function,
            "users",
            UserUpdate.params,
            answers.warned(self.name, function, blame, item_id=lambda u: u.id),
        )
        return await self.apply(call, updates, on_batch=on_batch)

    async def suspend_users(
        self, user_ids: Sequence[int], *, on_batch: OnBatch[UserUpdate] | None = None
    ) -> BatchResult[UserUpdate]:
        return await self.update_users(
            [UserUpdate(id=i, suspended=True) for i in user_ids], on_batch=on_batch
        )

    async def revive_users(
        self, user_ids: Sequence[int], *, on_batch: OnBatch[UserUpdate] | None = None
    ) -> BatchResult[UserUpdate]:
        return await self.update_users(
            [UserUpdate(id=i, suspended=False) for i in user_ids], on_batch=on_batch
        )

    async def delete_users(
        self, user_ids: Sequence[int], *, on_batch: OnBatch[int] | None = None
    ) -> BatchResult[int]:
        """Delete users (all-or-nothing per call, split on refusal).

        After a retried call, ids Moodle no longer knows count as deleted:
        the first, lost answer deleted them.
        """
        function = "core_user_delete_users"

        async def gone(batch: Sequence[int]) -> dict[int, int]:
            alive = {u.id for u in await self.get_users_by_field("id", [str(i) for i in batch])}
            return {i: user_id for i, user_id in enumerate(batch) if user_id not in alive}

        call: BatchCall[int] = BatchCall(
            function,
            "userids",
            lambda user_id: user_id,
            answers.null(self.name, function),
            adopt=gone,
        )
        return await self.apply(call, user_ids, on_batch=on_batch)

    async def get_users_by_field(self, field: str, values: Sequence[str]) -> list[MoodleUser]:
        """Users whose ``field`` (id, idnumber, username, email) is one of ``values``.

        Moodle compares exactly: usernames must be lowercase, emails match
        with their case. Values are sent in batches, concurrently. A batch
        Moodle refuses (one username it cannot take fails the whole lookup)
        is split in halves until the refused values stand alone: they find
        nobody, and the others are still looked up.
        """
        if field not in LOOKUP_FIELDS:
            raise ValueError(f"field must be one of {', '.join(LOOKUP_FIELDS)}, not {field!r}")
        if not values:
            return []
        size = max(
            1,
            min(
                self.limits.records_per_batch * LOOKUP_BATCHES,
                self.limits.form_fields_per_request - 10,
            ),
        )
        chunks = [list(values[i : i + size]) for i in range(0, len(values), size)]
        found: list[list[MoodleUser]] = [[] for _ in chunks]

        async def fetch(index: int, chunk: list[str]) -> None:
            found[index] = await self._look_up(field, chunk)

        async with anyio.create_task_group() as group:
            for index, chunk in enumerate(chunks):
                group.start_soon(fetch, index, chunk)
        return [user for chunk_users in found for user in chunk_users]

    async def _look_up(self, field: str, values: list[str]) -> list[MoodleUser]:
        try:
            answer = await self.call(
                "core_user_get_users_by_field", {"field": field, "values": values}
            )
        except RecordError as error:
            if len(values) == 1:
                log.info(
                    "moodle refused a lookup value",
                    site=self.name,
                    field=field,
                    reason=error.reason,
                )
                return []
            middle = len(values) // 2
            halves: list[list[MoodleUser]] = [[], []]

            async def half(index: int, part: list[str]) -> None:
                halves[index] = await self._look_up(field, part)

            async with anyio.create_task_group() as group:
                group.start_soon(half, 0, values[:middle])
                group.start_soon(half, 1, values[middle:])
            return halves[0] + halves[1]
        return [MoodleUser.from_answer(u) for u in answer or []]

    async def find_users(self, criteria: Mapping[str, str]) -> list[MoodleUser]:
        """``core_user_get_users``: criteria combine with AND; ``%`` is a wildcard in email."""
        answer = await self.call(
            "core_user_get_users",
            {"criteria": [{"key": k, "value": v} for k, v in criteria.items()]},
        )
        return [MoodleUser.from_answer(u) for u in answer.get("users", [])]


def _is_record_sent(account: MoodleUser, sent: NewUser) -> bool:
    """Whether ``account`` is what creating ``sent`` would have made (a lost answer's work)."""
    return (
        account.idnumber == sent.idnumber
        and account.email.lower() == sent.email.lower()
        and account.firstname == sent.firstname
        and account.lastname == sent.lastname
    )
