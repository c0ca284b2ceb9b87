"""JobSpec options become PlanOptions with the site's and farm's defaults; bad ones are named."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from farm.config import Farm, FarmSettings, SiteConfig
from farm.model import Entity, Profile
from farm.moodle.settings import MoodleLimits
from farm.options import Mode, PlanOptions, RemovalPolicy, RunOptions
from farm.secrets import SecretRef


def plan_options_from(options: dict[str, Any], site: SiteConfig, farm: Farm) -> PlanOptions:
    """What a job does with its options: typed once, then the site's defaults applied."""
    return farm.plan_options(site, RunOptions.from_mapping(options))


def farm_and_site(removal: str = "delete", threshold: float = 0.3) -> tuple[Farm, SiteConfig]:
    site = SiteConfig(
        name="s",
        file=Path("s.toml"),
        url="https://s.example.org",
        token=SecretRef("env", "T"),
        limits=MoodleLimits(),
        tags=frozenset(),
        tenants=(),
        removal=removal,  # type: ignore[arg-type]
        mass_removal_threshold=threshold,
    )
    settings = FarmSettings(name="f", registry_url="sqlite:///x.db", cohort_prefix="ac:")
    return Farm(Path("."), settings, {}, {}, {"s": site}, {}), site


def test_defaults_come_from_the_site_and_the_farm() -> None:
    farm, site = farm_and_site()
    options = plan_options_from({}, site, farm)
    assert options.removal is RemovalPolicy.DELETE
    assert options.mass_removal_threshold == 0.3
    assert options.cohort_prefix == "ac:"
    assert not options.simulate


def test_operator_options_override_and_accept_lists_or_commas() -> None:
    farm, site = farm_and_site()
    options = plan_options_from(
        {
            "simulate": True,
            "entities": "users, cohorts",
            "profiles": ["teacher"],
            "person": "F1700ivg",
            "mode": "update-only",
            "removal": "keep",
            "mass_removal_threshold": 0.5,
            "mass_removal_floor": 3,
            "delta": True,
        },
        site,
        farm,
    )
    assert options.simulate
    assert options.entities == {Entity.USERS, Entity.COHORTS}
    assert options.profiles == {Profile.TEACHER}
    assert options.person == "F1700ivg"
    assert options.mode is Mode.UPDATE_ONLY
    assert options.removal is RemovalPolicy.KEEP
    assert (options.mass_removal_threshold, options.mass_removal_floor) == (0.5, 3)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"simulat": True}, "simulat"),
        ({"simulate": "yes"}, "simulate"),
        ({"entities": ["users", "courses"]}, "courses"),
        ({"mode": "sometimes"}, "sometimes"),
        ({"mass_removal_threshold": "10%"}, "mass_removal_threshold"),
        ({"mass_removal_threshold": 2.0}, "mass_removal_threshold"),
        ({"person": " "}, "person"),
    ],
)
def test_a_bad_option_is_refused_by_name(options: dict[str, object], named: str) -> None:
    farm, site = farm_and_site()
    with pytest.raises(ValueError, match=named):
        plan_options_from(options, site, farm)


def test_the_site_threshold_is_used_even_when_the_farm_differs() -> None:
    farm, site = farm_and_site(removal="suspend", threshold=0.05)
    farm = replace(farm, settings=replace(farm.settings, mass_removal_threshold=0.9))
    assert plan_options_from({}, site, farm).mass_removal_threshold == 0.05


def test_adopt_cohorts_reaches_the_plan_and_is_off_by_default() -> None:
    farm, site = farm_and_site()
    assert plan_options_from({}, site, farm).adopt_cohorts is False
    assert plan_options_from({"adopt_cohorts": True}, site, farm).adopt_cohorts is True
