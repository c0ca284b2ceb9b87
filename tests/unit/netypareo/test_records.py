"""Turning NetYpareo answers into records, without a server."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from farm.model import Profile
from farm.sources.netypareo import (
    NON_NETYPAREO_TEACHER_USERTYPE,
    NetYpareoSettings,
    NetYpareoTenant,
    is_major,
)
from farm.sources.netypareo.records import (
    TenantRecords,
    age_on,
    codes,
    moodle_username,
    parse_date,
    usertype,
)

RUN = date(2026, 9, 1)


def records(cohort_prefix: str = "farm:", **overrides: Any) -> TenantRecords:
    settings = NetYpareoSettings.model_validate({"wsdl": "netypareo.wsdl", **overrides})
    return TenantRecords(
        cohort_prefix=cohort_prefix,
        endpoint="occ",
        tenant=NetYpareoTenant("cfa-occ-toulouse", "31", 1),
        settings=settings,
        run_date=RUN,
        statuses={"APP": "apprenti", "AL": "auditeur libre"},
        programs={"BTSMCO": "BTS MCO"},
        site_name="CFA Toulouse",
    )


def group_row(code: int = 1001, **extra: Any) -> dict[str, Any]:
    return {"codeGroupe": code, "nomGroupe": "BTS MCO 1A", "abregeGroupe": "BTS1",
            "codeFormation": "BTSMCO", "anneeFormation": "1", **extra}  # fmt: skip


def learner_row(code: int = 50001, **extra: Any) -> dict[str, Any]:
    return {"codeApprenant": code, "nomApprenant": "Guérin", "prenomApprenant": "Élise",
            "dateNaissance": date(2008, 9, 1), "email": "eguerin@example.fr",
            "login": "EGuerin", "codeStatut": "APP", **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("birth", "major"),
    [
        (date(2008, 9, 1), True),  # 18 exactly on the run date
        (date(2008, 9, 2), False),  # 18 tomorrow
        (date(2008, 8, 31), True),
        (date(1990, 1, 1), True),
        (date(2012, 3, 4), False),
    ],
)
def test_majority_is_reached_on_the_eighteenth_birthday_itself(birth: date, major: bool) -> None:
    assert is_major(birth, RUN) is major


def test_someone_born_on_29_february_comes_of_age_on_1_march_in_common_years() -> None:
    born = date(2008, 2, 29)
    assert age_on(born, date(2026, 2, 28)) == 17
    assert age_on(born, date(2026, 3, 1)) == 18
    assert age_on(date(2004, 2, 29), date(2022, 2, 28)) == 17
    assert is_major(date(2004, 2, 29), date(2022, 3, 1))


def test_usertype_prefix_and_the_constant_for_trainers_from_elsewhere() -> None:
    assert usertype("teacher", 0, True) == "0teacher"
    assert usertype("teacher", 3, True) == "3teacher"
    assert usertype("teacher", 3, False) == "teacher"
    assert NON_NETYPAREO_TEACHER_USERTYPE == "_teacher"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2008-09-01", date(2008, 9, 1)),
        ("01/09/2008", date(2008, 9, 1)),
        ("2008-09-01T00:00:00", date(2008, 9, 1)),
        (date(2008, 9, 1), date(2008, 9, 1)),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_read_in_iso_and_french_forms(raw: Any, expected: date | None) -> None:
    assert parse_date(raw) == expected


def test_a_bad_date_is_an_error_naming_the_text() -> None:
    with pytest.raises(ValueError, match="not a date: '31/02/2008'"):
        parse_date("31/02/2008")


def test_usernames_are_what_moodle_accepts() -> None:
    assert moodle_username(" Élise.GUÉRIN@cfa ") == "elise.guerin@cfa"
    assert moodle_username("jean marie d'Ornano") == "jeanmariedornano"


def test_code_lists_come_in_any_wrapping() -> None:
    assert codes({"c": {"code": ["1", "2"]}}, "c") == ["1", "2"]
    assert codes({"c": ["3"]}, "c") == ["3"]
    assert codes({"c": "4"}, "c") == ["4"]
    assert codes({"c": None}, "c") == []


def test_a_learner_gets_every_profile_field() -> None:
    r = records()
    group = r.add_group(group_row(), continuing=False)
    assert group is not None
    r.add_learner(learner_row(), group)
    (person,) = r.snapshot().people
    assert person.source_key == "netypareo:occ:apprenant:50001"
    assert person.username == "eguerin"
    assert person.idnumber == "netypareo:apprenant:50001"
    assert person.profiles == {Profile.STUDENT}
    assert person.establishments == {"cfa-occ-toulouse"}
    assert dict(person.profile_fields) == {
        "netypareo_usertype": "student",
        "netypareo_ouverage": "major",
        "netypareo_status": "apprenti",
        "netypareo_cursus": "BTS1",
        "netypareo_program": "BTS MCO",
        "netypareo_program_step": "1",
    }


def test_usertype_values_and_majority_words_are_configurable() -> None:
    r = records(usertype_prefix=True, values={"student": "apprenant", "minor": "mineur"})
    group = r.add_group(group_row(), continuing=False)
    assert group is not None
    r.add_learner(learner_row(dateNaissance="02/09/2008"), group)
    fields = r.snapshot().people[0].profile_fields
    assert fields["netypareo_usertype"] == "1apprenant"
    assert fields["netypareo_ouverage"] == "mineur"


def test_account_templates_and_fallbacks() -> None:
    r = records(
        username="{firstname}.{lastname}",
        idnumber="{endpoint}-{code}",
        email_fallback="{code}@noreply.example.fr",
    )
    group = r.add_group(group_row(), continuing=False)
    assert group is not None
    r.add_learner(learner_row(email=None), group)
    person = r.snapshot().people[0]
    assert person.username == "elise.guerin"
    assert person.idnumber == "occ-50001"
    assert person.email == "50001@noreply.example.fr"


def test_no_login_falls_back_and_no_email_is_a_warning() -> None:
    r = records()
    group = r.add_group(group_row(), continuing=False)
    assert group is not None
    r.add_learner(learner_row(login=None, email=""), group)
    snap = r.snapshot()
    assert snap.people[0].username == "ny.apprenant.50001"
    assert snap.people[0].email == ""
    assert [str(w) for w in snap.warnings] == [
        "cfa-occ-toulouse: apprenant 50001 [email]: no e-mail address"
    ]


def test_unknown_status_missing_birth_date_and_nameless_learners_are_reported() -> None:
    r = records()
    group = r.add_group(group_row(), continuing=False)
    assert group is not None
    r.add_learner(learner_row(codeStatut="XX", dateNaissance=None), group)
    r.add_learner(learner_row(code=50002, nomApprenant=""), group)
    snap = r.snapshot()
    assert [p.source_key for p in snap.people] == ["netypareo:occ:apprenant:50001"]
    fields = snap.people[0].profile_fields
    assert (fields["netypareo_status"], fields["netypareo_ouverage"]) == ("XX", "")
    assert [(w.entry, w.attribute) for w in snap.warnings] == [
        ("apprenant 50001", "dateNaissance"),
        ("apprenant 50001", "codeStatut"),
        ("apprenant 50002", "nomApprenant"),
    ]
    # The nameless learner is held: a plan leaves their account as it is.
    assert snap.held == {"netypareo:occ:apprenant:50002"}


def test_a_learner_in_a_group_and_a_pdgroup_is_one_person_in_two_cohorts() -> None:
    r = records(cohort_prefix="x:")
    group = r.add_group(group_row(), continuing=False)
    pdgroup = r.add_group(group_row(2001, abregeGroupe="FC", codeFormation="FCBUR"), True)
    assert group is not None
    assert pdgroup is not None
    r.add_learner(learner_row(), group)
    r.add_learner(learner_row(codeStatut="AL"), pdgroup)
    snap = r.snapshot()
    assert len(snap.people) == 1
    assert snap.people[0].profile_fields["netypareo_cursus"] == "BTS1"
    assert {c.idnumber for c in snap.cohorts} == {
        "x:netypareo:cfa-occ-toulouse:group:1001",
        "x:netypareo:cfa-occ-toulouse:pdgroup:2001",
    }
    assert {m.cohort for m in snap.cohort_members} == {c.idnumber for c in snap.cohorts}


def test_trainers_are_enrolled_where_their_groups_map_and_tutors_flag_unknown_learners() -> None:
    r = records(program_courses={"BTSMCO": "C-MCO"}, group_courses={"1001": "C-1001"})
    group = r.add_group(group_row(), continuing=False)
    assert group is not None
    r.add_learner(learner_row(), group)
    r.add_trainer({"codePersonnel": 700, "nomPersonnel": "Fabre", "prenomPersonnel": "Noé",
                   "email": "n.fabre@cfa.fr", "login": "nfabre",
                   "codesGroupe": {"code": ["1001", "1999"]}})  # fmt: skip
    r.add_tutor({"codeInterlocuteur": 9001, "nomInterlocuteur": "Roux",
                 "prenomInterlocuteur": "Léa", "email": "lea@boulangerie.fr",
                 "codesApprenant": {"code": ["50001", "59999"]}})  # fmt: skip
    snap = r.snapshot()
    assert {(e.course, e.person, e.role) for e in snap.enrolments} == {
        ("C-MCO", "netypareo:occ:apprenant:50001", "student"),
        ("C-1001", "netypareo:occ:apprenant:50001", "student"),
        ("C-MCO", "netypareo:occ:formateur:700", "editingteacher"),
        ("C-1001", "netypareo:occ:formateur:700", "editingteacher"),
    }
    tutor = next(p for p in snap.people if p.profiles == {Profile.TUTOR})
    assert tutor.username == "ny.tuteur.9001"
    assert [w.message for w in snap.warnings] == [
        "teaches unknown group 1999",
        "tutors learner 59999, who is in no group read",
    ]


def test_a_course_template_per_group_and_a_tutor_role_over_each_apprentice_read() -> None:
    r = records(group_course="{tenant}-{cursus}-{code}", tutor_role="parent")
    group = r.add_group(group_row(), continuing=False)
    assert group is not None
    r.add_learner(learner_row(), group)
    r.add_tutor({"codeInterlocuteur": 9001, "nomInterlocuteur": "Roux",
                 "prenomInterlocuteur": "Léa", "email": "lea@boulangerie.fr",
                 "codesApprenant": {"code": ["50001", "59999"]}})  # fmt: skip
    snap = r.snapshot()
    assert {(e.course, e.role) for e in snap.enrolments} == {
        ("cfa-occ-toulouse-BTS1-1001", "student")
    }
    (role,) = snap.role_assignments
    assert (role.person, role.role, role.context_level, role.context) == (
        "netypareo:occ:tuteur:9001",
        "parent",
        "user",
        "netypareo:occ:apprenant:50001",
    )
    # The apprentice read in no group gets no role, only the warning.
    assert [w.message for w in snap.warnings] == ["tutors learner 59999, who is in no group read"]
    assert r.snapshot(person="9001").role_assignments == snap.role_assignments
