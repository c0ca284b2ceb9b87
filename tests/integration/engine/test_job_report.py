"""The job's reports as operators read them: ``farm report RUN --json`` and ``--csv``."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

import anyio

from farm.model import Person
from tests.integration.engine.conftest import COLLEGE, LYCEE, Scenario, person


def people(n: int, tenant: str = LYCEE) -> list[Person]:
    prefix = "L" if tenant == LYCEE else "C"
    return [person(f"{prefix}{i:04d}", tenant) for i in range(1, n + 1)]


async def farm_report(scenario: Scenario, *args: str) -> str:
    url = f"sqlite:///{Path(scenario.farm.root) / 'registry.db'}"
    farm = str(Path(sys.executable).with_name("farm"))
    result = await anyio.run_process(
        [farm, "report", str(scenario.runs[-1]), *args],
        env={**os.environ, "FARM_REGISTRY_URL": url},
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


async def test_farm_report_shows_the_job_reports_as_json_and_csv(scenario: Scenario) -> None:
    shared = person("T0001", LYCEE, establishments=frozenset({LYCEE, COLLEGE}))
    scenario.set_people(LYCEE, [*people(6), shared])
    scenario.set_people(COLLEGE, [*people(3, COLLEGE), shared])
    await scenario.sync()

    data = json.loads(await farm_report(scenario, "--json"))

    tenants = {t["tenant"]: t for t in data["tenants"]}
    assert set(tenants) == {LYCEE, COLLEGE}
    # The teacher of both schools is one account: counted once, in the first school's report.
    assert tenants[LYCEE]["counts"]["person"] == {"create": 7}
    assert tenants[COLLEGE]["counts"]["person"] == {"create": 3}
    assert tenants[LYCEE]["status"] == "succeeded"
    assert set(tenants[LYCEE]["durations"]) >= {"read", "plan", "apply", "total"}
    assert tenants[LYCEE]["simulated"] is False

    rows = list(csv.DictReader(io.StringIO(await farm_report(scenario, "--csv"))))
    counted = {
        (r["tenant"], r["entity"], r["action"]): r["count"] for r in rows if r["kind"] == "count"
    }
    assert counted[(COLLEGE, "person", "create")] == "3"
    assert counted[(LYCEE, "cohort_member", "add")] == "7"
