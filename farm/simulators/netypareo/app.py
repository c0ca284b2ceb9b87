"""The NetYpareo SOAP simulator as an ASGI app.

Routes: ``GET /ws?wsdl`` and ``GET /ws.wsdl`` serve the WSDL (its address
points back at the server that served it), ``POST /ws`` answers SOAP calls,
``GET|POST /_sim/faults`` reads or sets fault injection and ``GET /_sim/stats``
counts calls. Faults mimic what CFA operators see from the real service: a
reverse proxy answering 502 when the PHP worker dies, slow answers, bodies
cut short, a service down, and a crash when an answer grows too big; and
what a compromised or spoofed service could send: hostile XML answers
(``hostile_next``) declaring entities that expand a billion times
(``hostile_kind = "billion-laughs"``) or an external entity pointing at a
local file (``"xxe"``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from farm.simulators.netypareo.data import Dataset, SimGroup, SimLearner, SimTrainer, SimTutor
from farm.simulators.netypareo.wsdl import NAMESPACE, OPERATIONS, wsdl_document

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_BAD_GATEWAY = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@dataclass(slots=True)
class NetYpareoFaults:
    """Fault injection; tests and the demo change it while the server runs."""

    fail_next: int = 0
    fail_status: int = 502
    delay: float = 0.0
    truncate_next: int = 0
    down: bool = False
    max_items: int | None = None
    hostile_next: int = 0
    hostile_kind: str = "billion-laughs"

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"unknown fault {key!r}")
            if key == "hostile_kind" and value not in HOSTILE_KINDS:
                raise ValueError(f"hostile_kind must be one of {', '.join(HOSTILE_KINDS)}")
            setattr(self, key, value)

    def reset(self) -> None:
        self.update(dataclasses.asdict(NetYpareoFaults()))


@dataclass(slots=True)
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.calls.clear()
        self.faults.clear()


class SoapFault(Exception):
    """An application error, answered as a SOAP fault with HTTP 500."""


class NetYpareoSimulator:
    """The simulated instance: its data, its token, its faults and its counters."""

    def __init__(self, data: Dataset, *, token: str | None = None) -> None:
        self.data = data
        self.token = token
        self.faults = NetYpareoFaults()
        self.stats = Stats()
        self.app = Starlette(
            routes=[
                Route("/ws", self._ws_get, methods=["GET"]),
                Route("/ws.wsdl", self._wsdl, methods=["GET"]),
                Route("/ws", self._soap, methods=["POST"]),
                Route("/_sim/faults", self._faults, methods=["GET", "POST"]),
                Route("/_sim/stats", self._stats, methods=["GET"]),
            ]
        )

    def reset(self) -> None:
        self.faults.reset()
        self.stats.reset()

    async def _ws_get(self, request: Request) -> Response:
        if "wsdl" not in {k.lower() for k in request.query_params}:
            return Response("append ?wsdl for the service description\n", status_code=400)
        return await self._wsdl(request)

    async def _wsdl(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response("token refused\n", status_code=401)
        address = f"{request.base_url}ws"
        return Response(wsdl_document(address), media_type="text/xml; charset=utf-8")

    async def _faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.faults.update(await request.json())
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(dataclasses.asdict(self.faults))

    async def _stats(self, request: Request) -> Response:
        return JSONResponse({"calls": dict(self.stats.calls), "faults": dict(self.stats.faults)})

    def _authorised(self, request: Request) -> bool:
        return self.token is None or request.headers.get("x-auth-token") == self.token

    async def _soap(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response("token refused\n", status_code=401)
        body = await request.body()
        faults = self.faults
        if faults.delay:
            await anyio.sleep(faults.delay)
        if faults.down:
            self.stats.faults["down"] += 1
            return Response(b"Service Unavailable", status_code=503)
        if faults.fail_next > 0:
            faults.fail_next -= 1
            self.stats.faults[str(faults.fail_status)] += 1
            return Response(_BAD_GATEWAY, status_code=faults.fail_status, media_type="text/html")
        try:
            operation, arguments = _parse_call(body)
            self.stats.calls[operation] += 1
            items = self._answer(operation, arguments)
        except SoapFault as exc:
            return Response(_fault(str(exc)), status_code=500, media_type="text/xml")
        if faults.max_items is not None and len(items) > faults.max_items:
            # What the real service does with a big answer: the PHP worker dies.
            self.stats.faults["crash"] += 1
            return Response(_BAD_GATEWAY, status_code=502, media_type="text/html")
        if faults.hostile_next > 0:
            faults.hostile_next -= 1
            self.stats.faults["hostile"] += 1
            return Response(hostile_answer(operation, faults.hostile_kind), media_type="text/xml")
        payload = _envelope(operation, items)
        if faults.truncate_next > 0:
            faults.truncate_next -= 1
            self.stats.faults["truncated"] += 1
            payload = payload[: len(payload) // 2]
        return Response(payload, media_type="text/xml; charset=utf-8")

    def _answer(self, operation: str, arguments: dict[str, str]) -> list[etree._Element]:
        data = self.data
        if operation == "getSites":
            return [_item("site", codeSite=s.code, nomSite=s.name) for s in data.sites]
        if operation == "getStatuts":
            return [_item("statut", codeStatut=c, nomStatut=n) for c, n in data.statuses.items()]
        if operation == "getFormations":
            return [
                _item("formation", codeFormation=c, nomFormation=n)
                for c, n in data.programs.items()
            ]
        site = _argument(arguments, "codeSite")
        if site not in data.groups:
            raise SoapFault(f"Site inconnu : {site}")
        if operation in ("getGroupes", "getGroupesFormationContinue"):
            continuing = operation == "getGroupesFormationContinue"
            return [_group(g) for g in data.groups[site] if g.continuing is continuing]
        if operation == "getApprenantsGroupe":
            raw = _argument(arguments, "codeGroupe")
            if not raw.isdigit() or (site, int(raw)) not in data.learners:
                raise SoapFault(f"Groupe inconnu : {raw}")
            return [_learner(p) for p in data.learners[(site, int(raw))]]
        if operation == "getFormateurs":
            return [_trainer(t) for t in data.trainers[site]]
        if operation == "getTuteurs":
            return [_tutor(t) for t in data.tutors[site]]
        raise SoapFault(f"Opération inconnue : {operation}")  # pragma: no cover


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _item(tag: str, **values: object) -> etree._Element:
    element = etree.Element(_q(tag))
    for name, value in values.items():
        if value is None:
            continue
        child = etree.SubElement(element, _q(name))
        if isinstance(value, tuple):
            for code in value:
                etree.SubElement(child, _q("code")).text = str(code)
        else:
            child.text = str(value)
    return element


def _group(g: SimGroup) -> etree._Element:
    return _item("groupe", codeGroupe=g.code, nomGroupe=g.name, abregeGroupe=g.cursus,
                 codeFormation=g.program, anneeFormation=g.step)  # fmt: skip


def _learner(p: SimLearner) -> etree._Element:
    return _item("apprenant", codeApprenant=p.code, nomApprenant=p.lastname,
                 prenomApprenant=p.firstname, dateNaissance=p.birthdate.isoformat(),
                 email=p.email, login=p.login, codeStatut=p.status)  # fmt: skip


def _trainer(t: SimTrainer) -> etree._Element:
    return _item("formateur", codePersonnel=t.code, nomPersonnel=t.lastname,
                 prenomPersonnel=t.firstname, email=t.email, login=t.login,
                 codesGroupe=t.groups)  # fmt: skip


def _tutor(t: SimTutor) -> etree._Element:
    return _item("tuteur", codeInterlocuteur=t.code, nomInterlocuteur=t.lastname,
                 prenomInterlocuteur=t.firstname, email=t.email, login=t.login,
                 nomEntreprise=t.company, codesApprenant=t.learners)  # fmt: skip


def _argument(arguments: dict[str, str], name: str) -> str:
    value = arguments.get(name)
    if not value:
        raise SoapFault(f"Paramètre manquant : {name}")
    return value


def _parse_call(body: bytes) -> tuple[str, dict[str, str]]:
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapFault(f"XML invalide : {exc}") from None
    call = root.find(f"{{{SOAP_ENV}}}Body/*")
    if call is None:
        raise SoapFault("Enveloppe SOAP sans corps")
    operation = etree.QName(call).localname
    if operation not in OPERATIONS:
        raise SoapFault(f"Opération inconnue : {operation}")
    return operation, {etree.QName(c).localname: (c.text or "").strip() for c in call}


def _envelope(operation: str, items: list[etree._Element]) -> bytes:
    envelope = etree.Element(
        f"{{{SOAP_ENV}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV, "ns1": NAMESPACE}
    )
    response = etree.SubElement(
        etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), _q(f"{operation}Response")
    )
    response.extend(items)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _billion_laughs() -> str:
    entities = ['<!ENTITY lol0 "lol">']
    for n in range(1, 10):
        reference = f"&lol{n - 1};"
        entities.append(f'<!ENTITY lol{n} "{reference * 10}">')
    return "".join(entities)


#: The DTDs of hostile answers: entities nested ten deep (10**9 "lol"s once expanded),
#: or an external entity naming a local file. Either defines ``lol9``, which the body uses.
HOSTILE_KINDS: dict[str, str] = {
    "billion-laughs": _billion_laughs(),
    "xxe": '<!ENTITY lol9 SYSTEM "file:///etc/passwd">',
}


def hostile_answer(operation: str, kind: str) -> bytes:
    """An answer to ``operation`` whose body is an entity reference its own DTD declares."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!DOCTYPE SOAP-ENV:Envelope [{HOSTILE_KINDS[kind]}]>\n"
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{NAMESPACE}">'
        f"<SOAP-ENV:Body><ns1:{operation}Response>&lol9;</ns1:{operation}Response>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def _fault(message: str) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV})
    fault = etree.SubElement(
        etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault"
    )
    etree.SubElement(fault, "faultcode").text = "SOAP-ENV:Server"
    etree.SubElement(fault, "faultstring").text = message
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
