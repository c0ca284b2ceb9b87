"""Staff CSV files as establishments send them, written to a temporary folder for the tests.

The people and headers follow seed 004's examples (PLATON Francis,
DESCARTES Rachid...). Names carry accents and a ligature that Windows-1252
can write, so that every accepted encoding has something to get wrong.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")
"""Python's names of the encodings a staff file may come in (utf-16 writes its mark)."""

LYCEE = "0340041K"
COLLEGE = "0341921D"
"""Two establishments of one site of the shipped farm (the cité scolaire Clemenceau)."""

TEACHERS_HEADER = (
    "Civilité enseignant",
    "Nom enseignant",
    "Prénom enseignant",
    "Matière enseignant",
    "Nom utilisateur enseignant",
    "Mot de passe enseignant",
    "Code postal enseignant",
    "Adresse e-mail enseignant",
    "Date de naissance enseignant",
)
TEACHERS = (
    ("Monsieur", "PLATON", "Francis", "Philosophie", "", "", "'06000", "", "12/03/1971"),
    ("Monsieur", "DESCARTES", "Rachid", "Mathématiques", "rdescartes", "Cogito-1637", "", "", ""),
    ("Madame", "LAVOISIER", "Nicole", "Physique-Chimie", "", "", "", "n.lavoisier@example.fr", ""),
    ("Mme", "MOZART", "Pauline", "Éducation musicale", "", "", "", "", "27/01/56"),
    ("Mlle", "CŒUR", "Hélène", "Français", "", "", "34000", "", ""),
)

STAFF_HEADER = (
    "Civilité du personnel administratif",
    "Nom du personnel administratif",
    "Prénom du personnel administratif",
    "Fonction du personnel administratif (code)",
    "RNE administratif",
    "Adresse e-mail du personnel administratif",
)
STAFF = (
    ("Madame", "CURIE", "Marie", "DIR", LYCEE, "m.curie@example.fr"),
    ("Monsieur", "PASTEUR", "Louis", "EDU", LYCEE, ""),
    ("Monsieur", "PASTEUR", "Louis", "EDU", COLLEGE, ""),
    ("Mme", "GERMAIN", "Sophie", "MDS", COLLEGE, ""),
    ("M", "VERNE", "Jules", "TOS", LYCEE, ""),
    ("Melle", "SAND", "Aurore", "DOC", LYCEE, ""),
)


def csv_text(
    header: Sequence[str] | None, rows: Sequence[Sequence[str]], *, separator: str = ";"
) -> str:
    """The file's text with Windows line ends, as Excel writes it."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_csv(
    path: Path,
    header: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    *,
    encoding: str = "utf-8",
    separator: str = ";",
) -> Path:
    path.write_bytes(csv_text(header, rows, separator=separator).encode(encoding))
    return path
