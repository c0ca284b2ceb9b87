"""The ``ImportChiffre`` container: a PARTENAIRE_INDEX sealed for Index Education's eyes only.

Index Education publishes the envelope's schema (``ConteneurImportChiffre.xsd``,
namespace ``http://www.index-education.com/containeurimportchiffreV1``):
``Partenaire``, ``Description``, ``Cle`` ("the AES key and initialisation
vector encrypted in RSA with Index Education's public key"), ``Contenu``
(base64, "data encrypted in AES with the information in Cle"),
``Verification`` (base64, "SHA-256 of the unencrypted content"),
``DateExport`` and ``UAI``. The recipe below is the one a public ENT
connector follows (research note, ``docs/pronote.md``), written here from
that description:

1. compress the document with zlib;
2. encrypt it with AES-128 in CBC mode, PKCS#7 padding, a fresh random key
   and IV;
3. ``Cle`` = base64 of RSA PKCS#1 v1.5 encryption, with Index Education's
   public key, of key + IV + MD5(key + IV);
4. ``Verification`` = base64 of SHA-256 of the compressed document.

Only Index Education holds the private key: the farm cannot check a real
container, so the tests seal with a key pair they make and open with its
private half (:func:`open_container`, which exists for that).
"""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lxml import etree

CONTAINER_NAMESPACE = "http://www.index-education.com/containeurimportchiffreV1"
CONTAINER_VERSION = "1.0"
_KEY_BYTES = 16  # AES-128
_IV_BYTES = 16
_MD5_BYTES = 16


class ContainerError(Exception):
    """A key that cannot be used, or a container that does not open; the message says which."""


def load_public_key(pem: bytes, name: str) -> RSAPublicKey:
    """An RSA public key from PEM (``name`` is the file, for messages)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as error:
        raise ContainerError(f"{name}: not a PEM public key: {error}") from None
    if not isinstance(key, RSAPublicKey):
        raise ContainerError(f"{name}: not an RSA public key (Index Education's key is RSA)")
    return key


def _md5(data: bytes) -> bytes:
    # A checksum the recipe asks for, not a security measure.
    return hashlib.md5(data, usedforsecurity=False).digest()


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed container as bytes, and the SHA-256 it carries (for the operator's records)."""

    document: bytes
    verification: str


def seal(
    payload: bytes,
    public_key: RSAPublicKey,
    *,
    partner: str,
    uai: str,
    at: datetime,
    description: str = "PARTENAIRE_INDEX (RapprochementSSO v2.0)",
) -> Sealed:
    """``payload`` (a PARTENAIRE_INDEX document) sealed in an ``ImportChiffre`` container."""
    compressed = zlib.compress(payload, 9)
    key, iv = os.urandom(_KEY_BYTES), os.urandom(_IV_BYTES)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(compressed) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    content = encryptor.update(padded) + encryptor.finalize()
    secret = key + iv + _md5(key + iv)
    wrapped = public_key.encrypt(secret, asymmetric.PKCS1v15())
    verification = base64.b64encode(hashlib.sha256(compressed).digest()).decode("ascii")

    def tag(local: str) -> str:
        return f"{{{CONTAINER_NAMESPACE}}}{local}"

    root = etree.Element(tag("ImportChiffre"), nsmap={None: CONTAINER_NAMESPACE})  # type: ignore[dict-item]
    root.set("Version", CONTAINER_VERSION)
    for name, text in (
        ("Partenaire", partner),
        ("Description", description),
        ("Cle", base64.b64encode(wrapped).decode("ascii")),
        ("Contenu", base64.b64encode(content).decode("ascii")),
        ("Verification", verification),
        ("DateExport", at.isoformat(timespec="seconds")),
        ("UAI", uai),
    ):
        etree.SubElement(root, tag(name)).text = text
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Sealed(bytes(document), verification)


def open_container(document: bytes, private_key: RSAPrivateKey) -> bytes:
    """The payload of a container sealed for ``private_key``'s public half (tests, audits).

    Raises :class:`ContainerError` when the key does not fit, the key's
    checksum or the payload's SHA-256 is wrong.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(document, parser)
    values = {
        str(child.tag).rpartition("}")[2]: (child.text or "").strip()
        for child in root
        if isinstance(child.tag, str)
    }
    try:
        secret = private_key.decrypt(base64.b64decode(values["Cle"]), asymmetric.PKCS1v15())
    except (KeyError, ValueError) as error:
        raise ContainerError(f"the key does not open this container: {error}") from None
    key, iv, check = (
        secret[:_KEY_BYTES],
        secret[_KEY_BYTES : _KEY_BYTES + _IV_BYTES],
        secret[_KEY_BYTES + _IV_BYTES :],
    )
    if len(check) != _MD5_BYTES or _md5(key + iv) != check:
        raise ContainerError("the AES key's MD5 checksum does not match")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(base64.b64decode(values["Contenu"])) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    compressed = unpadder.update(padded) + unpadder.finalize()
    digest = base64.b64encode(hashlib.sha256(compressed).digest()).decode("ascii")
    if digest != values.get("Verification"):
        raise ContainerError("the content's SHA-256 does not match Verification")
    return zlib.decompress(compressed)
