"""Telling hostile XML (DTDs, entity bombs) from a body that is merely cut short."""

from __future__ import annotations

import pytest
import zeep
import zeep.exceptions
from zeep.loader import parse_xml

from farm.simulators.netypareo.app import _envelope, _item, hostile_answer
from farm.sources.netypareo.client import hostile_xml

SETTINGS = zeep.Settings(
    strict=True, xml_huge_tree=True, forbid_dtd=True, forbid_entities=True, forbid_external=True
)


def refusal(body: bytes) -> Exception:
    """What zeep raises reading ``body`` as a SOAP answer (as its binding wraps it)."""
    try:
        try:
            parse_xml(body, None, settings=SETTINGS)  # type: ignore[arg-type]  # bytes, as zeep passes
        except zeep.exceptions.XMLSyntaxError as exc:
            raise zeep.exceptions.TransportError(  # type: ignore[no-untyped-call]
                f"invalid XML: {exc}.\nContent: {body!r}", status_code=200, content=body
            ) from exc
    except Exception as exc:
        return exc
    raise AssertionError("the body was read")


def answer(name: str) -> bytes:
    return _envelope("getSites", [_item("site", codeSite="34", nomSite=name)])


@pytest.mark.parametrize("kind", ["billion-laughs", "xxe"])
def test_the_simulator_s_hostile_answers_are_hostile(kind: str) -> None:
    assert hostile_xml(refusal(hostile_answer("getSites", kind))) is not None


def test_an_entity_bomb_is_named_as_an_entity_expansion() -> None:
    assert hostile_xml(refusal(hostile_answer("getSites", "billion-laughs"))) == "entity expansion"


def test_a_dtd_however_small_is_hostile_even_after_a_bom_and_comments() -> None:
    body = answer("CFA").replace(b"?>\n", b'?>\n<!-- x --><!DOCTYPE a [<!ENTITY e "e">]>\n', 1)
    assert hostile_xml(refusal(b"\xef\xbb\xbf" + body)) == "a document type declaration"


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_body_is_not_hostile(cut: float) -> None:
    body = answer("CFA Hérault")
    assert hostile_xml(refusal(body[: int(len(body) * cut)])) is None


def test_a_body_cut_inside_an_entity_reference_is_not_hostile() -> None:
    body = answer("CFA Hérault & Gard")
    cut = body[: body.index(b"&amp;") + 3]  # "...CFA Hérault &am"
    assert hostile_xml(refusal(cut)) is None


def test_defusedxml_s_refusals_are_recognised_by_name() -> None:
    # defusedxml names its exceptions as zeep does; recognised without importing it.
    class EntitiesForbidden(ValueError):
        pass

    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = EntitiesForbidden("lol")
    assert hostile_xml(EntitiesForbidden("lol")) == "an entity declaration"
    assert hostile_xml(wrapped) == "an entity declaration"
