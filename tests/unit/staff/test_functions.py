"""The seed's function codes, as data: every code once, DIR the manager, ENS and TOS apart."""

from __future__ import annotations

from farm.staff.functions import FUNCTION_CODES, MANAGER_ROLE, function_code


def test_the_table_holds_the_seed_s_61_codes_once_each() -> None:
    codes = [f.code for f in FUNCTION_CODES]

    assert len(codes) == 60
    assert len(set(codes)) == 60
    assert all(len(code) == 3 and code == code.upper() for code in codes)


def test_only_dir_gives_a_role_the_manager_role() -> None:
    assert {f.code: f.role for f in FUNCTION_CODES if f.role} == {"DIR": MANAGER_ROLE}
    assert MANAGER_ROLE == "manager"


def test_ens_is_refused_for_staff_and_tos_is_not_exported() -> None:
    assert [f.code for f in FUNCTION_CODES if not f.for_staff] == ["ENS"]
    assert [f.code for f in FUNCTION_CODES if not f.exported] == ["TOS"]


def test_codes_carry_the_seed_labels_and_lvs_profiles() -> None:
    edu = function_code("edu")
    mds = function_code(" MDS ")

    assert edu is not None
    assert mds is not None
    assert (edu.short_label, edu.long_label, edu.lvs_profile) == ("EDUCATION", "EDUCATION", "CPE")
    assert mds.lvs_profile == "Infirmière"
    assert mds.label == "Personnels medico- sociaux"
    assert function_code("XYZ") is None
