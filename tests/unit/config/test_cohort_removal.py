"""``cohort_removal`` in farm.toml's ``[farm]``, a site's ``[site]`` and ``farm sync``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from farm.cli import main
from farm.cli import sync as sync_command
from farm.config import Farm, FarmConfigError, SiteConfig, load_farm
from farm.engine.coordinator import InvalidOptions
from farm.options import CohortRemovalPolicy, PlanOptions, RunOptions

from .farmdir import FARM_TOML, LYCEE_TOML, write_farm


def plan_options_from(options: dict[str, Any], site: SiteConfig, farm: Farm) -> PlanOptions:
    """What a job does with its options: typed once, then the site's defaults applied."""
    return farm.plan_options(site, RunOptions.from_mapping(options))


def with_setting(text: str, table: str, line: str) -> str:
    """``text`` with ``line`` added at the top of ``[table]``."""
    header = f"[{table}]\n"
    assert header in text
    return text.replace(header, header + line + "\n", 1)


def test_sites_keep_emptied_cohorts_by_default(tmp_path: Path) -> None:
    farm = load_farm(write_farm(tmp_path))

    assert farm.settings.cohort_removal == "keep"
    assert {site.cohort_removal for site in farm.sites.values()} == {"keep"}
    options = plan_options_from({}, farm.sites["lycee-iroise"], farm)
    assert options.cohort_removal is CohortRemovalPolicy.KEEP


def test_the_farm_sets_it_and_a_site_overrides_it(tmp_path: Path) -> None:
    root = write_farm(
        tmp_path,
        farm=with_setting(FARM_TOML, "farm", 'cohort_removal = "delete"'),
        **{"lycee-iroise": with_setting(LYCEE_TOML, "site", 'cohort_removal = "keep"')},
    )

    farm = load_farm(root)

    assert farm.settings.cohort_removal == "delete"
    assert farm.sites["cfa"].cohort_removal == "delete"
    assert farm.sites["lycee-iroise"].cohort_removal == "keep"
    cfa = plan_options_from({}, farm.sites["cfa"], farm)
    assert cfa.cohort_removal is CohortRemovalPolicy.DELETE


def test_a_run_option_overrides_the_site(tmp_path: Path) -> None:
    farm = load_farm(write_farm(tmp_path))
    site = farm.sites["lycee-iroise"]

    options = plan_options_from({"cohort_removal": "delete"}, site, farm)

    assert options.cohort_removal is CohortRemovalPolicy.DELETE
    with pytest.raises(ValueError, match="purge"):
        plan_options_from({"cohort_removal": "purge"}, site, farm)


@pytest.mark.parametrize(
    ("stem", "table", "key"),
    [("farm", "farm", "farm.cohort_removal"), ("lycee-iroise", "site", "site.cohort_removal")],
)
def test_a_policy_cohorts_cannot_have_is_named(
    tmp_path: Path, stem: str, table: str, key: str
) -> None:
    text = {"farm": FARM_TOML, "lycee-iroise": LYCEE_TOML}[stem]
    root = write_farm(tmp_path, **{stem: with_setting(text, table, 'cohort_removal = "suspend"')})

    with pytest.raises(FarmConfigError) as caught:
        load_farm(root)

    assert [(p.file.name, p.key) for p in caught.value.problems] == [(f"{stem}.toml", key)]


def test_farm_sync_passes_cohort_removal_to_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []

    def check_options(farm: object, tenants: object, options: RunOptions) -> None:
        seen.append(options.to_json())
        raise InvalidOptions("stop here: seen")

    monkeypatch.setattr(sync_command, "check_options", check_options)
    root = write_farm(tmp_path)
    runner = CliRunner()

    given = runner.invoke(
        main, ["--farm-dir", str(root), "sync", "--all", "--cohort-removal", "delete"]
    )
    unset = runner.invoke(main, ["--farm-dir", str(root), "sync", "--all"])
    wrong = runner.invoke(
        main, ["--farm-dir", str(root), "sync", "--all", "--cohort-removal", "suspend"]
    )

    assert given.exit_code == unset.exit_code == 2
    assert seen[0]["cohort_removal"] == "delete"
    assert "cohort_removal" not in seen[1]
    assert len(seen) == 2
    assert wrong.exit_code == 2
    assert "suspend" in wrong.output
