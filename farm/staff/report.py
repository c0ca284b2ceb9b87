"""The report file of a staff import: who was imported, with their sync keys, logins, passwords.

It is the seed's final file (004, §5.2.E): one line per person and
establishment, with the fields of the file, the sync key made for the person,
the login and the first password (the file's, or the one generated), so the
establishment can hand the accounts out. Its headers are ones the column
mapping recognises, so the same file, edited, can be checked again.

The file holds passwords, so it is written as :class:`farm.passwords.CredentialsFile`
is: created readable and writable by its owner only (0600, ``O_EXCL``: never
through or over an existing file), in a folder of mode 0700 holding a
``.gitignore`` of its own (farm folders are kept in git), and never printed.
Every cell goes through :func:`farm.csv_cells.safe_row`, so a name that
begins with ``=`` is text, not a formula, in the spreadsheet that opens it.
It is UTF-8 with a byte-order mark and ``;`` separators, what a French Excel
opens as it is.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

from farm.csv_cells import safe_row
from farm.staff.fields import StaffKind
from farm.staff.records import ReportRow

_TEACHERS_HEADERS: Final = (
    "Cle synchro",
    "Civilite",
    "Nom",
    "Prenom",
    "Matiere",
    "RNE",
    "Nom utilisateur",
    "Mot de passe",
    "Email",
    "Date de naissance",
    "Adresse",
    "Code postal",
    "Ville",
    "Telephone fixe",
    "Telephone portable",
)
REPORT_HEADERS: Final[dict[StaffKind, tuple[str, ...]]] = {
    StaffKind.TEACHERS: _TEACHERS_HEADERS,
    StaffKind.STAFF: tuple("Fonction" if h == "Matiere" else h for h in _TEACHERS_HEADERS),
}


def report_lines(rows: Iterable[ReportRow]) -> Iterator[list[str]]:
    """The report's lines (header excepted), in import order, one per establishment.

    Numbers that begin with 0 (postal codes, phones) are written with the
    leading apostrophe the seed asks for, which keeps their zero in Excel.
    """
    for item in rows:
        row, person = item.row, item.person
        password = item.password.reveal() if item.password is not None else ""
        birthdate = row.birthdate.strftime("%d/%m/%Y") if row.birthdate else ""
        for tenant, code in row.assignments:
            yield [
                row.sync_key,
                row.civility,
                row.lastname,
                row.firstname,
                code,
                tenant,
                person.username,
                password,
                person.email,
                birthdate,
                row.address,
                _keep_zero(row.postcode),
                row.city,
                _keep_zero(row.phone),
                _keep_zero(row.mobile),
            ]


def _keep_zero(text: str) -> str:
    return f"'{text}" if text.startswith("0") else text


def write_report(path: Path, kind: StaffKind, rows: Sequence[ReportRow]) -> Path:
    """Write the report to ``path`` (or ``NAME-2.csv``... if taken); return the path written.

    Blocking: call it from a worker thread in async code.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(safe_row(REPORT_HEADERS[kind]))
    for line in report_lines(rows):
        writer.writerow(safe_row(line))
    data = buffer.getvalue().encode("utf-8-sig")
    descriptor, written = _create(path)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    return written


def _create(path: Path) -> tuple[int, Path]:
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Farm folders live in git: these passwords must never be committed with them.
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for attempt in range(1, 1000):
        candidate = path if attempt == 1 else path.with_name(f"{path.stem}-{attempt}{path.suffix}")
        try:
            return os.open(candidate, flags, 0o600), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no free report file name beside {path}")
