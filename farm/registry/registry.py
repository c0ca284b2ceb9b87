"""The :class:`Registry`: one object with every registry operation, by name.

Business logic calls only these operations; none hands out a session. Each
operation runs in its own session and transaction, so one ``Registry`` can be
shared by threads: the async engine calls it through
``anyio.to_thread.run_sync``.

Opening never creates anything. :meth:`Registry.open` connects, and by
default checks the schema: a registry that does not exist yet, or is older
than this code, raises an error telling the operator to run
``farm registry upgrade``; one upgraded by a newer farm is refused before
anything is written. Only :meth:`Registry.upgrade` (``farm registry upgrade``)
creates or changes the schema; for a SQLite file it also creates the file and
its folder.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import exc
from sqlalchemy.engine import URL, make_url

from farm.registry.database import driver_reason, make_engine, mask_url, sqlite_path
from farm.registry.errors import (
    RegistryNotCreated,
    RegistryOutdated,
    RegistryTooNew,
    RegistryUnavailable,
)
from farm.registry.events import EventStore
from farm.registry.farm_load import FarmLoader
from farm.registry.index import IndexStore
from farm.registry.journal_store import JournalStore
from farm.registry.leases import LeaseStore
from farm.registry.plans import PlanStore
from farm.registry.pronote import PronoteStore
from farm.registry.relink import RelinkStore
from farm.registry.runs import RunStore
from farm.registry.schema import (
    SchemaState,
    SchemaStateKind,
    lock_for_upgrade,
    schema_state,
    upgrade_schema,
)
from farm.registry.staff import StaffStore
from farm.registry.tenants import TenantStore


class Registry(
    FarmLoader,
    TenantStore,
    RunStore,
    IndexStore,
    JournalStore,
    LeaseStore,
    EventStore,
    PronoteStore,
    PlanStore,
    StaffStore,
    RelinkStore,
):
    """The farm's registry on SQLite or PostgreSQL; see the module docstring."""

    @classmethod
    def open(cls, url: str, *, check: bool = True, create: bool = False) -> Self:
        """Connect to the registry at ``url``.

        ``check`` verifies the schema is current (see :meth:`check_schema`);
        ``create`` allows a SQLite file that does not exist yet (for
        :meth:`upgrade`). Raises :class:`RegistryUnavailable` naming the URL
        (password masked) and the reason when it cannot be reached.
        """
        parsed = _parse(url)
        path = sqlite_path(parsed)
        if path is not None and not Path(path).exists():
            if not create:
                raise RegistryNotCreated(mask_url(parsed))
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise RegistryUnavailable(mask_url(parsed), str(error)) from None
        try:
            engine = make_engine(parsed)
        except (exc.NoSuchModuleError, ImportError):
            raise RegistryUnavailable(
                mask_url(parsed),
                f"no database driver for {parsed.drivername!r} "
                "(expected sqlite:///PATH or postgresql+psycopg://…)",
            ) from None
        except exc.ArgumentError as error:
            raise RegistryUnavailable(mask_url(parsed), driver_reason(error, parsed)) from None
        registry = cls(engine, parsed)
        try:
            with engine.connect():
                pass
        except exc.DBAPIError as error:
            engine.dispose()
            raise RegistryUnavailable(mask_url(parsed), driver_reason(error, parsed)) from None
        if check:
            try:
                registry.check_schema()
            except Exception:
                registry.close()
                raise
        return registry

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def schema_state(self) -> SchemaState:
        """The registry's schema revision and the one this code expects; writes nothing."""
        with self._engine.connect() as connection:
            return schema_state(connection)

    def check_schema(self) -> None:
        """Raise unless the registry's schema is exactly the one this code expects."""
        state = self.schema_state()
        if state.kind is SchemaStateKind.MISSING:
            raise RegistryNotCreated(self.url)
        if state.kind is SchemaStateKind.NEWER:
            raise RegistryTooNew(self.url, str(state.current))
        if state.kind is SchemaStateKind.OUTDATED:
            raise RegistryOutdated(self.url, str(state.current), state.expected)

    def upgrade(self) -> tuple[SchemaState, SchemaState]:
        """Create the registry or apply pending revisions; return the states before and after.

        A registry from a newer farm raises :class:`RegistryTooNew` and is
        not touched. Upgrading a current registry does nothing.
        """
        connection = self._engine.connect().execution_options(farm_write=True)
        with connection, connection.begin():
            lock_for_upgrade(connection)
            before = schema_state(connection)
            if before.kind is SchemaStateKind.NEWER:
                raise RegistryTooNew(self.url, str(before.current))
            if before.kind is not SchemaStateKind.CURRENT:
                upgrade_schema(connection)
            after = schema_state(connection)
        return before, after


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except exc.ArgumentError:
        raise RegistryUnavailable(
            mask_url(url), "not a database URL (expected sqlite:///PATH or postgresql+psycopg://…)"
        ) from None
