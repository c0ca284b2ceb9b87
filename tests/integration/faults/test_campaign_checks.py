"""The campaign's checks are not vacuous: a tampered site fails each invariant."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.integration.faults.campaign import load

pytestmark = [pytest.mark.slapd]


def test_each_invariant_catches_its_own_breakage(tmp_path: Path) -> None:
    campaign = load()
    with campaign.environment("sqlite", tmp_path, campaign.DEFAULT_POSTGRES_URL, False) as env:
        world = campaign.sdet_world(env, "tamper", campaign.Deadline(120))
        try:
            world.truth = world.read_truth()
            run = world.sync()
            assert run.status == "succeeded", run.err
            world.check("clean", final=True, run=run)
            assert not any(world.cells.failures.values()), dict(world.cells.failures)

            site = max(world.sites.values(), key=lambda s: len(campaign.live(s)))
            users = sorted(campaign.live(site), key=lambda u: u.id)
            a, b, c, d, e = users[:5]
            # dup: a second account with a's idnumber.
            site.users[9001] = dataclasses.replace(a, id=9001, username="copy-of-a")
            # merge: b's account takes c's username (c's own account is renamed away).
            site.users[c.id].username = "renamed-c"
            site.users[b.id].username = world_username(world, site.name, c.idnumber)
            # index: Moodle's firstname differs from what the index says.
            site.users[d.id].firstname = "Changé"
            # lost: e's account is deleted.
            site.users[e.id].deleted = True
            # susp: someone the source holds is suspended.
            site.users[users[5].id].suspended = True
            world.check("tampered", final=True, run=run)
        finally:
            world.close()
    failures = world.cells.failures
    assert any("copy-of-a" in r or "9001" in r for r in failures["dup"]), failures
    assert any(f"account {b.id}" in r for r in failures["merge"]), failures
    assert any("firstname" in r for r in failures["index"]), failures
    assert any("no account" in r for r in failures["index"]), failures
    assert failures["lost"], failures
    assert failures["susp"], failures


def world_username(world: object, site: str, idnumber: str) -> str:
    """The username the source gives the person with ``idnumber`` on ``site``."""
    truth = world.truth  # type: ignore[attr-defined]
    return str(next(p.username for p in truth.people[site].values() if p.idnumber == idnumber))
