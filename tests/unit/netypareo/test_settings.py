"""The [netypareo.NAME] table of farm.toml, and the simulator it defaults to."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest
from pydantic import ValidationError

from farm.simulators.netypareo.data import generate
from farm.simulators.netypareo.wsdl import OPERATIONS, TYPES
from farm.sources.netypareo import NetYpareoFields, NetYpareoOperations, NetYpareoSettings


def test_default_operations_and_fields_are_those_of_the_simulator_wsdl() -> None:
    operations = NetYpareoOperations()
    names = operations.model_dump(exclude={"site_argument", "group_argument"}).values()
    assert set(names) == set(OPERATIONS)
    arguments = {a for args, _, _ in OPERATIONS.values() for a in args}
    assert {operations.site_argument, operations.group_argument} == arguments
    elements = {el for fields in TYPES.values() for el, _, _ in fields}
    assert set(NetYpareoFields().model_dump().values()) <= elements


def test_an_operator_writes_only_the_names_that_differ() -> None:
    table = tomllib.loads(
        """
        wsdl = "https://cfa.example.fr/ws?wsdl"
        token = "env:NY_TOKEN"
        usertype_prefix = true
        [operations]
        learners = "getApprenantsDuGroupe"
        [fields]
        learner_status = "codeStatutApprenant"
        """
    )
    settings = NetYpareoSettings.model_validate(table)
    assert settings.operations.learners == "getApprenantsDuGroupe"
    assert settings.operations.sites == "getSites"
    assert settings.fields.learner_status == "codeStatutApprenant"
    assert settings.fields.learner_code == "codeApprenant"
    assert str(settings.token) == "env:NY_TOKEN"


def test_a_misspelt_operation_key_is_named() -> None:
    with pytest.raises(ValidationError, match=r"operations\.learner\b"):
        NetYpareoSettings.model_validate({"wsdl": "x.wsdl", "operations": {"learner": "x"}})


def test_a_token_written_in_clear_is_refused() -> None:
    with pytest.raises(ValidationError, match="never the secret itself"):
        NetYpareoSettings.model_validate({"wsdl": "x.wsdl", "token": "eyJhbGciOi"})


@pytest.mark.parametrize(
    ("key", "template", "message"),
    [
        ("username", "{loginn}", "unknown placeholder"),
        ("idnumber", "{}", "unknown placeholder"),
        ("email_fallback", "{code", "malformed template"),
        ("group_course", "{tenant}-{login}", "unknown placeholder"),
    ],
)
def test_templates_with_unknown_placeholders_are_refused(
    key: str, template: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=rf"{key}\n.*{message}"):
        NetYpareoSettings.model_validate({"wsdl": "x.wsdl", key: template})


def test_the_simulated_data_is_the_same_for_a_seed_and_mixes_minors_and_majors() -> None:
    day = date(2026, 9, 1)
    first, again, other = (
        generate(3, reference_date=day),
        generate(3, reference_date=day),
        generate(4),
    )
    assert first == again
    assert first != other
    learners = [p for site in first.sites for p in first.site_learners(site.code)]
    ages = {(day.year - p.birthdate.year) >= 19 for p in learners}
    assert ages == {True, False}
    assert {p.status for p in learners} == set(first.statuses)
    assert all(first.tutors[s.code] for s in first.sites)


def test_the_cohort_prefix_is_the_farms_not_the_endpoints() -> None:
    with pytest.raises(ValidationError, match="the cohort prefix is the farm's"):
        NetYpareoSettings.model_validate({"wsdl": "netypareo.wsdl", "cohort_prefix": "cfa:"})
