"""The simulator's WSDL: document/literal, one operation per NetYpareo collection.

Its names are the defaults of ``farm.sources.netypareo.settings``. Element
names follow the vocabulary of YParéo's public REST API (``codeSite``,
``nomApprenant``, ...) since the SOAP contract of real instances is private.
"""

from __future__ import annotations

from typing import Final
from xml.sax.saxutils import quoteattr

NAMESPACE: Final = "urn:farm:netypareo-simulator"

# Complex types: name -> [(element, xsd type, min occurs)].
TYPES: Final[dict[str, list[tuple[str, str, int]]]] = {
    "Site": [("codeSite", "xsd:string", 1), ("nomSite", "xsd:string", 1)],
    "Groupe": [
        ("codeGroupe", "xsd:int", 1),
        ("nomGroupe", "xsd:string", 1),
        ("abregeGroupe", "xsd:string", 1),
        ("codeFormation", "xsd:string", 1),
        ("anneeFormation", "xsd:string", 0),
    ],
    "Apprenant": [
        ("codeApprenant", "xsd:int", 1),
        ("nomApprenant", "xsd:string", 1),
        ("prenomApprenant", "xsd:string", 1),
        ("dateNaissance", "xsd:date", 0),
        ("email", "xsd:string", 0),
        ("login", "xsd:string", 0),
        ("codeStatut", "xsd:string", 0),
    ],
    "Personnel": [
        ("codePersonnel", "xsd:int", 1),
        ("nomPersonnel", "xsd:string", 1),
        ("prenomPersonnel", "xsd:string", 1),
        ("email", "xsd:string", 0),
        ("login", "xsd:string", 0),
        ("codesGroupe", "tns:ListeCodes", 0),
    ],
    "Interlocuteur": [
        ("codeInterlocuteur", "xsd:int", 1),
        ("nomInterlocuteur", "xsd:string", 1),
        ("prenomInterlocuteur", "xsd:string", 1),
        ("email", "xsd:string", 0),
        ("login", "xsd:string", 0),
        ("nomEntreprise", "xsd:string", 0),
        ("codesApprenant", "tns:ListeCodes", 0),
    ],
    "Statut": [("codeStatut", "xsd:string", 1), ("nomStatut", "xsd:string", 1)],
    "Formation": [("codeFormation", "xsd:string", 1), ("nomFormation", "xsd:string", 1)],
}

# Operations: name -> (arguments, item element, item type).
OPERATIONS: Final[dict[str, tuple[tuple[str, ...], str, str]]] = {
    "getSites": ((), "site", "Site"),
    "getGroupes": (("codeSite",), "groupe", "Groupe"),
    "getGroupesFormationContinue": (("codeSite",), "groupe", "Groupe"),
    "getApprenantsGroupe": (("codeSite", "codeGroupe"), "apprenant", "Apprenant"),
    "getFormateurs": (("codeSite",), "formateur", "Personnel"),
    "getTuteurs": (("codeSite",), "tuteur", "Interlocuteur"),
    "getStatuts": ((), "statut", "Statut"),
    "getFormations": ((), "formation", "Formation"),
}
ARGUMENT_TYPES: Final = {"codeSite": "xsd:string", "codeGroupe": "xsd:int"}


def _types() -> str:
    parts = [
        '<xsd:complexType name="ListeCodes"><xsd:sequence>'
        '<xsd:element name="code" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>'
        "</xsd:sequence></xsd:complexType>"
    ]
    for name, elements in TYPES.items():
        body = "".join(
            f'<xsd:element name="{el}" type="{typ}" minOccurs="{low}"/>'
            for el, typ, low in elements
        )
        parts.append(f'<xsd:complexType name="{name}"><xsd:sequence>{body}</xsd:sequence>'
                     "</xsd:complexType>")  # fmt: skip
    for op, (arguments, item, item_type) in OPERATIONS.items():
        args = "".join(f'<xsd:element name="{a}" type="{ARGUMENT_TYPES[a]}"/>' for a in arguments)
        parts.append(f'<xsd:element name="{op}"><xsd:complexType><xsd:sequence>{args}'
                     "</xsd:sequence></xsd:complexType></xsd:element>")  # fmt: skip
        parts.append(
            f'<xsd:element name="{op}Response"><xsd:complexType><xsd:sequence>'
            f'<xsd:element name="{item}" type="tns:{item_type}" minOccurs="0" '
            'maxOccurs="unbounded"/></xsd:sequence></xsd:complexType></xsd:element>'
        )
    return "".join(parts)


def wsdl_document(address: str) -> str:
    """The WSDL text, with ``address`` as the service's SOAP endpoint."""
    messages, port_ops, binding_ops = [], [], []
    for op in OPERATIONS:
        messages.append(
            f'<wsdl:message name="{op}Request"><wsdl:part name="parameters" element="tns:{op}"/>'
            f'</wsdl:message><wsdl:message name="{op}Response">'
            f'<wsdl:part name="parameters" element="tns:{op}Response"/></wsdl:message>'
        )
        port_ops.append(
            f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}Request"/>'
            f'<wsdl:output message="tns:{op}Response"/></wsdl:operation>'
        )
        binding_ops.append(
            f'<wsdl:operation name="{op}"><soap:operation soapAction="{NAMESPACE}#{op}"/>'
            '<wsdl:input><soap:body use="literal"/></wsdl:input>'
            '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:tns="{NAMESPACE}" targetNamespace="{NAMESPACE}" name="NetYpareo">'
        f'<wsdl:types><xsd:schema targetNamespace="{NAMESPACE}" elementFormDefault="qualified">'
        f"{_types()}</xsd:schema></wsdl:types>"
        f"{''.join(messages)}"
        f'<wsdl:portType name="NetYpareoPortType">{"".join(port_ops)}</wsdl:portType>'
        '<wsdl:binding name="NetYpareoBinding" type="tns:NetYpareoPortType">'
        '<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>'
        f"{''.join(binding_ops)}</wsdl:binding>"
        '<wsdl:service name="NetYpareoService"><wsdl:port name="NetYpareoPort" '
        f'binding="tns:NetYpareoBinding"><soap:address location={quoteattr(address)}/>'
        "</wsdl:port></wsdl:service></wsdl:definitions>\n"
    )
