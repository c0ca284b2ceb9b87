"""Creating, upgrading and refusing registries, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import column, create_engine, insert, inspect, select, table, text, update
from sqlmodel import SQLModel

from farm.index import SiteIndex
from farm.model import IndexEntry, Kind
from farm.registry import (
    Registry,
    RegistryNotCreated,
    RegistryOutdated,
    RegistryTooNew,
    RunTrigger,
    SchemaStateKind,
)
from farm.registry.database import JSONValue, UTCDateTime
from farm.registry.schema import VERSION_TABLE, alembic_config, expected_revision
from tests.confirmations import person
from tests.integration.registry.farms import build_farm

TABLES = {
    "site",
    "tenant",
    "tenant_change",
    "index_entry",
    "run",
    "tenant_report",
    "journal",
    "lease",
    "event",
    "bookmark",
    "tenant_notice",
    "pronote_link",
    "pronote_import",
    "stored_plan",
    VERSION_TABLE,
}


def _snapshot(url: str) -> dict[str, Any]:
    """Every table's name and rows, to compare a registry before and after."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = sorted(inspect(connection).get_table_names())
            every_row = {name: select(text("*")).select_from(table(name)) for name in names}
            return {
                name: sorted(repr(tuple(row)) for row in connection.execute(query))
                for name, query in every_row.items()
            }
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_at_the_expected_revision(registry_url: str) -> None:
    with Registry.open(registry_url, check=False, create=True) as registry:
        before, after = registry.upgrade()
        registry.check_schema()
    assert before.kind is SchemaStateKind.MISSING
    assert after.kind is SchemaStateKind.CURRENT
    assert after.current == expected_revision()
    assert set(_snapshot(registry_url)) >= TABLES


def test_upgrade_twice_changes_nothing(registry: Registry, registry_url: str) -> None:
    registry.start_run(trigger=RunTrigger.BATCH)
    first = _snapshot(registry_url)
    before, after = registry.upgrade()
    assert before == after
    assert before.kind is SchemaStateKind.CURRENT
    assert _snapshot(registry_url) == first


def test_migrations_describe_exactly_the_tables_the_code_uses(
    registry: Registry, registry_url: str
) -> None:
    engine = create_engine(registry_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_a_registry_not_created_yet_tells_what_to_run(registry_url: str) -> None:
    with pytest.raises(RegistryNotCreated, match="run 'farm registry upgrade'"):
        Registry.open(registry_url)
    if registry_url.startswith("sqlite"):
        # Opening did not leave an empty file behind.
        assert not Path(registry_url.removeprefix("sqlite:///")).exists()
    else:
        assert _snapshot(registry_url) == {}


def test_a_registry_from_a_newer_farm_is_refused_and_left_untouched(
    registry: Registry, registry_url: str, tmp_path: Path
) -> None:
    registry.load_farm(build_farm(tmp_path, {"lyc": {"0750001A": "Lycée A"}}))
    registry.start_run(trigger=RunTrigger.BATCH)
    engine = create_engine(registry_url)
    with engine.begin() as connection:
        version = table(VERSION_TABLE, column("version_num"))
        connection.execute(update(version).values(version_num="9999_future"))
    engine.dispose()
    before = _snapshot(registry_url)

    with pytest.raises(RegistryTooNew, match="9999_future") as refused:
        Registry.open(registry_url)
    assert "nothing was written" in str(refused.value)
    with Registry.open(registry_url, check=False) as unchecked:
        assert unchecked.schema_state().kind is SchemaStateKind.NEWER
        with pytest.raises(RegistryTooNew):
            unchecked.upgrade()

    assert _snapshot(registry_url) == before


def test_an_older_registry_is_named_then_upgraded_with_its_history(
    registry_url: str, tmp_path: Path
) -> None:
    engine = create_engine(registry_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
    engine.dispose()
    with Registry.open(registry_url, check=False) as old:
        old.load_farm(build_farm(tmp_path, {"lyc": {"0750001A": "Lycée A"}}))
        run = old.start_run(trigger=RunTrigger.BATCH)

    with pytest.raises(RegistryOutdated, match="run 'farm registry upgrade'"):
        Registry.open(registry_url)
    with Registry.open(registry_url, check=False) as registry:
        before, after = registry.upgrade()
        assert (before.current, before.kind) == ("0001", SchemaStateKind.OUTDATED)
        assert (after.current, after.kind) == (expected_revision(), SchemaStateKind.CURRENT)
        assert registry.get_run(run).id == run
        assert {t.id for t in registry.registered_tenants()} == {"0750001A"}
    engine = create_engine(registry_url)
    with engine.connect() as connection:
        indexes = {i["name"] for i in inspect(connection).get_indexes("tenant_report")}
    engine.dispose()
    assert "ix_tenant_report_tenant_run" in indexes


def test_an_0008_index_is_read_back_the_same_after_the_upgrade(
    registry_url: str, tmp_path: Path
) -> None:
    engine = create_engine(registry_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0008")
    engine.dispose()
    with Registry.open(registry_url, check=False) as old:
        old.load_farm(build_farm(tmp_path, {"lyc": {"0750001A": "Lycée A"}}))
        run = old.start_run(trigger=RunTrigger.BATCH)
    gone = {**person("sdet:2").values(), "suspended": True}
    # As revision 0008 held them: whether an account is suspended was in its values only.
    rows = [
        ("person", "sdet:1", 101, person("sdet:1").values(), ["0750001A"]),
        ("person", "sdet:2", 102, gone, []),  # suspended by the farm: no tenant left
        ("person", "sdet:3", 103, person("sdet:3").values(), []),  # kept, not suspended
        ("person", "sdet:4", 104, {**gone, "username": "sdet-4"}, ["0750001A"]),  # held again
        ("cohort", "farm:c", 7, {"idnumber": "farm:c", "suspended": True}, []),
        ("cohort_member", "farm:c|sdet:1", None, {"cohort": "farm:c", "person": "sdet:1"}, []),
    ]
    index = table(
        "index_entry",
        *(column(name) for name in ("site", "entity", "key", "moodle_id", "digest", "run_id")),
        column("values", JSONValue),
        column("tenants", JSONValue),
        column("updated_at", UTCDateTime()),
    )
    now = datetime.now(UTC)
    engine = create_engine(registry_url)
    with engine.begin() as connection:
        connection.execute(
            insert(index),
            [
                {"site": "lyc", "entity": entity, "key": key, "moodle_id": moodle_id,
                 "digest": f"d{n}", "run_id": run, "values": values, "tenants": tenants,
                 "updated_at": now}
                for n, (entity, key, moodle_id, values, tenants) in enumerate(rows)
            ],
        )  # fmt: skip
    engine.dispose()
    read_by_0008 = SiteIndex(
        IndexEntry.restore(entity, key, moodle_id, f"d{n}", values, tenants)
        for n, (entity, key, moodle_id, values, tenants) in enumerate(rows)
    )

    with Registry.open(registry_url, check=False) as registry:
        registry.upgrade()
        read = registry.site_index("lyc")
        stored = registry.index_entries("lyc")

    assert read == read_by_0008
    assert list(read) == list(read_by_0008)
    assert [e.key for e in read if e.suspended] == ["sdet:2"]
    assert [e.key for e in stored if e.suspended] == ["sdet:2"]
    assert read.get(Kind.PERSON, "sdet:4") == IndexEntry(
        Kind.PERSON, "sdet:4", 104, "d3", {**gone, "username": "sdet-4"}, frozenset({"0750001A"})
    )
