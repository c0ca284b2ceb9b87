"""``farm report``, ``runs``, ``status`` and ``schedule list`` on 163 tenants after a bad night.

The views an operator opens in the morning (issue 19): the problems before
the successes, ``--failed``, tables as wide as ``COLUMNS`` says when piped,
and the filters by tenant, site and tag.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.acceptance.night import Night, night_farm

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    return night_farm(tmp_path_factory.mktemp("night"))


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_the_report_shows_errors_and_failed_tenants_before_the_succeeded_ones(
    night: Night,
) -> None:
    done = night.run("report", str(night.tonight), columns=120)

    assert done.returncode == 0, done.stderr
    out = done.stdout
    positions = {t: out.find(t) for t in night.tenants}
    assert all(p >= 0 for p in positions.values())
    problems = [*night.failed, *night.partial]
    first_success = min(p for t, p in positions.items() if t not in problems)
    assert all(positions[t] < first_success for t in problems)
    assert out.find("Errors") < first_success
    assert out.find("is also the username of") < first_success
    assert f"farm report {night.tonight} --failed" in out


def test_failed_keeps_the_tenants_that_did_not_succeed(night: Night) -> None:
    table = night.run("report", str(night.tonight), "--failed", columns=120)
    as_json = night.run("report", str(night.tonight), "--failed", "--json")
    as_csv = night.run("report", str(night.tonight), "--failed", "--csv")

    assert table.returncode == as_json.returncode == as_csv.returncode == 0
    shown = {t for t in night.tenants if t in table.stdout}
    assert shown == {*night.failed, *night.partial}
    assert "160 succeeded tenant(s) not shown" in table.stdout
    assert {t["tenant"] for t in json.loads(as_json.stdout)["tenants"]} == shown
    assert {line.split(",")[1] for line in as_csv.stdout.splitlines()[1:]} == shown
    clean = night.run("report", str(night.last_night), "--failed")
    assert clean.returncode == 0
    assert f"Every tenant of run {night.last_night} succeeded." in clean.stdout


@pytest.mark.parametrize("command", [("report", "TONIGHT"), ("status",), ("runs",)])
def test_piped_tables_are_as_wide_as_columns_says(night: Night, command: tuple[str, ...]) -> None:
    args = [str(night.tonight) if a == "TONIGHT" else a for a in command]
    narrow = night.run(*args, columns=100)
    wide = night.run(*args, columns=160)

    assert narrow.returncode in (0, 1, 2), narrow.stderr  # status: Nagios codes
    assert widest(narrow.stdout) <= 100
    assert 100 < widest(wide.stdout) <= 160
    # Nothing a person needs is cut: every tenant of the night is in the narrow table too.
    if command[0] != "runs":
        assert all(t in narrow.stdout for t in night.tenants)


def test_without_columns_a_piped_table_is_as_wide_as_its_cells(night: Night) -> None:
    done = night.run("status")

    assert 80 < widest(done.stdout) <= 200


def test_watch_follows_one_tenant_in_a_few_lines_of_words_with_the_zone(night: Night) -> None:
    tenant = night.partial[0]

    done = night.run("watch", "--run", str(night.tonight), "--tenant", tenant, "--interval", "0.1")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Times in Europe/Paris."
    stamp = r"\d\d:\d\d:\d\d (CET|CEST)  "
    assert all(re.match(stamp, line) for line in lines[1:])
    said = [re.sub(stamp, "", line) for line in lines[1:]]
    site = night.site_of(tenant)
    assert said == [
        f"run {night.tonight} started: run of 163 tenant(s) on {len(night.sites)} site(s)",
        f"run {night.tonight} {tenant} ({site}) started: reading its source",
        f"run {night.tonight} {tenant} ({site}) writing 60 change(s) to Moodle",
        f"run {night.tonight} {tenant} ({site}) partial: 1 record not written, 59 accounts created",
        f"run {night.tonight} ended: partial",
    ]


def test_watch_of_a_site_shows_only_its_tenants(night: Night) -> None:
    site = next(s for s, ids in night.sites.items() if len(ids) == 2)

    done = night.run("watch", "--run", str(night.tonight), "--site", site, "--interval", "0.1")

    assert done.returncode == 0, done.stderr
    named = {t for t in night.tenants if t in done.stdout}
    assert named == set(night.sites[site])


def test_schedule_list_is_a_row_per_task_and_schedule_not_per_tenant(night: Night) -> None:
    done = night.run("schedule", "list", columns=160)

    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    # Five establishment tasks, delta three ways, six CFA tasks and groups shared.
    assert len(rows) < 20
    delta = [row for row in rows if row.split("│")[1].strip() == "delta"]
    assert len(delta) == 3
    assert any("disabled: CLI only" in row and "│ 2 " in row for row in delta)
    assert any("*/20 7-18 * * 1-5" in row for row in delta)
    users = next(row for row in rows if row.split("│")[1].strip() == "users")
    assert f"(run {night.tonight})" in users
    establishments = [t for t in night.tenants if not t.startswith("cfa-")]
    partial = len(set(night.partial) & set(establishments))
    failed = len(set(night.failed) & set(establishments))
    expected = f"{160 - partial - failed} succeeded, {partial} partial, {failed} failed"
    assert expected in users


def test_schedule_list_of_one_tenant_is_moodles_page(night: Night) -> None:
    tenant = night.sites[night.night_only][0]

    done = night.run("schedule", "list", "--tenant", tenant, columns=160)

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert tenant in out
    for field in ("minute", "hour", "day", "month", "weekday", "override", "result", "next run"):
        assert field in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert [cell.strip() for cell in rows["users"].split("│")[2:7]] == ["30", "2", "*", "*", "*"]
    assert "disabled: CLI only" in rows["delta"]
    assert "site or tenant" in rows["delta"]
    assert f"(run {night.tonight})" in rows["users"]
    assert "succeeded" in rows["users"]


def test_schedule_list_json_has_every_tenant_and_task(night: Night) -> None:
    done = night.run("schedule", "list", "--json", "--site", night.more_often)

    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert {e["tenant"] for e in entries} == set(night.sites[night.more_often])
    delta = [e for e in entries if e["task"] == "delta"]
    assert all(e["override"] and e["schedule"] == "*/20 7-18 * * 1-5" for e in delta)
    assert all(e["fields"]["hour"] == "7-18" for e in delta)
    users = next(e for e in entries if e["task"] == "users")
    assert users["last_run"]["run"] == night.tonight
    assert users["next_run"].endswith(("+01:00", "+02:00"))


def test_runs_of_one_tenant_say_how_it_fared(night: Night) -> None:
    failed = night.failed[0]

    table = night.run("runs", "--tenant", failed, columns=160)
    as_json = night.run("runs", "--tenant", failed, "--json")
    nobody = night.run("runs", "--tag", "academie:nowhere")

    assert table.returncode == 0, table.stderr
    assert "these tenants" in table.stdout
    assert "1 failed" in table.stdout
    runs = json.loads(as_json.stdout)
    assert [r["id"] for r in runs] == [night.tonight, night.last_night]
    assert runs[0]["tenants"]["chosen"] == {"failed": 1}
    assert runs[1]["tenants"]["chosen"] == {"succeeded": 1}
    assert nobody.returncode == 2  # no tenant has that tag: a usage error, as in farm sync
