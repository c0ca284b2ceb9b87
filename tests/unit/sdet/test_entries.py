"""DN normalisation, SDET '$' values, timestamps and filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from farm.sources.sdet.entries import (
    format_timestamp,
    newest_timestamp,
    normalise_dn,
    parse_etab_value,
    parse_timestamp,
)
from farm.sources.sdet.filters import STUDENTS, family_filter, person_filter
from farm.sources.sdet.structures import Structure

ETAB = "ENTStructureSIREN=19999901000017,ou=structures,dc=esco-centre,dc=fr"


@pytest.mark.parametrize(
    "spelling",
    [
        ETAB,
        "entstructuresiren=19999901000017,OU=Structures,DC=esco-centre,DC=fr",
        "ENTStructureSIREN = 19999901000017, ou=structures , dc=esco-centre,dc=fr",
    ],
)
def test_dns_compare_equal_whatever_their_case_and_spacing(spelling: str) -> None:
    assert normalise_dn(spelling) == normalise_dn(ETAB)


def test_escaped_dns_take_the_full_parser() -> None:
    assert normalise_dn(r"cn=Dupont\, Jean,dc=fr") == r"cn=dupont\, jean,dc=fr"


@pytest.mark.parametrize("text", ["", "3EME1", "=x,dc=fr", "a=b,,c=d"])
def test_malformed_dns_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError, match="DN"):
        normalise_dn(text)


def test_class_value_keeps_spaces_and_dollars_in_the_code() -> None:
    parsed = parse_etab_value(f"{ETAB}$1ERE G1")

    assert parsed.etab == normalise_dn(ETAB)
    assert parsed.code == "1ERE G1"
    assert parse_etab_value(f"{ETAB}$TES1$050700").code == "TES1$050700"


@pytest.mark.parametrize(("value", "message"), [("3EME1", "expected"), (f"{ETAB}$", "empty code")])
def test_malformed_class_values_say_why(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_etab_value(value)


def test_timestamps_are_utc() -> None:
    assert parse_timestamp("20261121185843Z") == datetime(2026, 11, 21, 18, 58, 43, tzinfo=UTC)
    assert parse_timestamp("20261121185843") is None
    paris = timezone(timedelta(hours=1))
    assert format_timestamp(datetime(2026, 11, 21, 19, 58, 43, tzinfo=paris)) == "20261121185843Z"
    with pytest.raises(ValueError, match="naive"):
        format_timestamp(datetime(2026, 11, 21, 19, 58, 43))


def test_family_filter_ors_the_tenants_and_adds_the_delta_clause() -> None:
    structure = Structure(
        dn=ETAB, key=normalise_dn(ETAB), uai="0999901Z", siren="19999901000017", name="L", kind=""
    )
    since = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)

    text = family_filter(STUDENTS, [structure], since=since)

    assert text.startswith("(&(objectClass=ENTEleve)(|")
    assert f"(ENTPersonStructRattach={ETAB})" in text
    assert "(ENTEleveClasses=*19999901000017*)" in text
    assert text.endswith("(modifyTimestamp>=20261121180000Z))")


def test_operator_input_is_escaped_in_person_filters() -> None:
    text = person_filter("x*)(uid=*", "sdet:")

    assert "(uid=x\\2a\\29\\28uid=\\2a)" in text
    assert person_filter("sdet:F1700ivg", "sdet:").count("F1700ivg") == 3


def test_the_newest_timestamp_ignores_those_that_do_not_parse() -> None:
    stamps = ["20261121185843Z", "20261399999999Z", "99991121185843", " 20261121185844Z", "x"]

    assert newest_timestamp(stamps) == datetime(2026, 11, 21, 18, 58, 44, tzinfo=UTC)
    assert newest_timestamp(["20261399999999Z", "garbage"]) is None
