"""``cohort_retirement`` in farm.toml's ``[farm]``, a site's ``[site]`` and ``farm sync``.

``cohort_removal``, its old name, still reads (``keep`` as ``empty``) with a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from farm.cli import main
from farm.cli import sync as sync_command
from farm.config import Farm, FarmConfigError, SiteConfig, load_farm
from farm.engine.coordinator import InvalidOptions
from farm.options import CohortRetirementPolicy, PlanOptions, RunOptions

from .farmdir import FARM_TOML, LYCEE_TOML, write_farm


def plan_options_from(options: dict[str, Any], site: SiteConfig, farm: Farm) -> PlanOptions:
    """What a job does with its options: typed once, then the site's defaults applied."""
    return farm.plan_options(site, RunOptions.from_mapping(options))


def with_setting(text: str, table: str, line: str) -> str:
    """``text`` with ``line`` added at the top of ``[table]``."""
    header = f"[{table}]\n"
    assert header in text
    return text.replace(header, header + line + "\n", 1)


def test_sites_keep_retired_cohorts_as_they_are_by_default(tmp_path: Path) -> None:
    farm = load_farm(write_farm(tmp_path))

    assert farm.settings.cohort_retirement == "keep"
    assert {site.cohort_retirement for site in farm.sites.values()} == {"keep"}
    options = plan_options_from({}, farm.sites["lycee-iroise"], farm)
    assert options.cohort_retirement is CohortRetirementPolicy.KEEP
    assert options.cohort_archive_suffix == " ({school_year})"
    assert farm.warnings == ()


def test_the_farm_sets_it_and_a_site_overrides_it(tmp_path: Path) -> None:
    farm_toml = with_setting(FARM_TOML, "farm", 'cohort_retirement = "delete"')
    root = write_farm(
        tmp_path,
        farm=farm_toml,
        **{
            "lycee-iroise": with_setting(
                LYCEE_TOML,
                "site",
                'cohort_retirement = "archive"\ncohort_archive_suffix = " [{school_year}]"',
            )
        },
    )

    farm = load_farm(root)

    assert farm.settings.cohort_retirement == "delete"
    assert farm.sites["cfa"].cohort_retirement == "delete"
    assert farm.sites["lycee-iroise"].cohort_retirement == "archive"
    cfa = plan_options_from({}, farm.sites["cfa"], farm)
    assert cfa.cohort_retirement is CohortRetirementPolicy.DELETE
    lycee = plan_options_from({}, farm.sites["lycee-iroise"], farm)
    assert lycee.cohort_archive_suffix == " [{school_year}]"


def test_a_run_option_overrides_the_site(tmp_path: Path) -> None:
    farm = load_farm(write_farm(tmp_path))
    site = farm.sites["lycee-iroise"]

    options = plan_options_from({"cohort_retirement": "delete"}, site, farm)

    assert options.cohort_retirement is CohortRetirementPolicy.DELETE
    with pytest.raises(ValueError, match="purge"):
        plan_options_from({"cohort_retirement": "purge"}, site, farm)


@pytest.mark.parametrize(
    ("stem", "table", "key"),
    [
        ("farm", "farm", "farm.cohort_retirement"),
        ("lycee-iroise", "site", "site.cohort_retirement"),
    ],
)
def test_a_policy_cohorts_cannot_have_is_named(
    tmp_path: Path, stem: str, table: str, key: str
) -> None:
    text = {"farm": FARM_TOML, "lycee-iroise": LYCEE_TOML}[stem]
    root = write_farm(
        tmp_path, **{stem: with_setting(text, table, 'cohort_retirement = "suspend"')}
    )

    with pytest.raises(FarmConfigError) as caught:
        load_farm(root)

    assert [(p.file.name, p.key) for p in caught.value.problems] == [(f"{stem}.toml", key)]


def test_an_archive_suffix_that_cannot_rename_is_named(tmp_path: Path) -> None:
    root = write_farm(
        tmp_path, farm=with_setting(FARM_TOML, "farm", 'cohort_archive_suffix = " ({year})"')
    )

    with pytest.raises(FarmConfigError) as caught:
        load_farm(root)

    (problem,) = caught.value.problems
    assert problem.key == "farm.cohort_archive_suffix"
    assert "{school_year}" in problem.message


@pytest.mark.parametrize(("old", "new"), [("keep", "empty"), ("delete", "delete")])
def test_the_old_cohort_removal_still_reads_with_a_warning_saying_what_to_write(
    tmp_path: Path, old: str, new: str
) -> None:
    root = write_farm(
        tmp_path,
        farm=with_setting(FARM_TOML, "farm", f'cohort_removal = "{old}"'),
        **{"lycee-iroise": with_setting(LYCEE_TOML, "site", f'cohort_removal = "{old}"')},
    )

    farm = load_farm(root)

    assert farm.settings.cohort_retirement == new
    assert {site.cohort_retirement for site in farm.sites.values()} == {new}
    assert [(p.file.name, p.key, p.warning) for p in farm.warnings] == [
        ("farm.toml", "farm.cohort_removal", True),
        ("lycee-iroise.toml", "site.cohort_removal", True),
    ]
    assert all(f'write cohort_retirement = "{new}"' in str(p) for p in farm.warnings)


def test_both_names_in_one_table_is_an_error(tmp_path: Path) -> None:
    both = 'cohort_removal = "keep"\ncohort_retirement = "archive"'
    root = write_farm(tmp_path, farm=with_setting(FARM_TOML, "farm", both))

    with pytest.raises(FarmConfigError) as caught:
        load_farm(root)

    assert [(p.key, p.warning) for p in caught.value.problems] == [("farm.cohort_removal", False)]


def test_farm_sync_passes_cohort_retirement_to_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []

    def check_options(farm: object, tenants: object, options: RunOptions) -> None:
        seen.append(options.to_json())
        raise InvalidOptions("stop here: seen")

    monkeypatch.setattr(sync_command, "check_options", check_options)
    root = write_farm(tmp_path)
    runner = CliRunner()

    def sync(*args: str) -> Any:
        return runner.invoke(main, ["--farm-dir", str(root), "sync", "--all", *args])

    given = sync("--cohort-retirement", "archive")
    unset = sync()
    old = sync("--cohort-removal", "keep")
    wrong = sync("--cohort-retirement", "suspend")

    assert given.exit_code == unset.exit_code == old.exit_code == 2
    assert seen[0]["cohort_retirement"] == "archive"
    assert "cohort_retirement" not in seen[1]
    assert seen[2]["cohort_retirement"] == "empty"
    assert len(seen) == 3
    assert wrong.exit_code == 2
    assert "suspend" in wrong.output
