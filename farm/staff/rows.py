"""Every rule a staff row must pass, applied row by row: :class:`RowChecker` and :class:`StaffRow`.

A row passes when its mandatory fields are filled and every cell reads as
its field says (:mod:`farm.staff.values`); each failure is one
:class:`~farm.staff.problems.RowProblem`, and every problem of a row is
reported, not only the first. Then the rows that pass are put together:

* its **establishment** is the row's RNE/UAI cell when it has one (a valid
  UAI, and a tenant of the farm when the farm's tenants are known), else the
  one given for the whole file;
* its **sync key** (:mod:`farm.staff.sync_keys`) is compared with the rows
  before: the first row of a key wins, and a later one adds its
  establishment and its subject or function to it (seed 004, §4.1.A.C);
* a **login** given in the file must go with a password (and the reverse),
  and must be held by no one else: neither another row of the file nor, in
  ``taken_logins``, anyone in the directory or on the site.

The checker keeps each accepted row only when asked (``keep_rows``);
otherwise it keeps what the rules need (one small entry per sync key and
per login), so checking a file of any length takes little memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date

from farm.secrets import Secret
from farm.staff import values
from farm.staff.columns import ColumnMap
from farm.staff.fields import MANDATORY, StaffField, StaffKind
from farm.staff.functions import function_code
from farm.staff.problems import HIDDEN, RowProblem, Severity
from farm.staff.sync_keys import key_and_names, source_key
from farm.staff.table import RawRow, other_separator, separator_name
from farm.uai import UaiError, normalize_uai

Assignment = tuple[str, str]
"""(establishment, subject or function code): what one row says the person does where."""


@dataclass(slots=True)
class StaffRow:
    """One person of the file, as checked; ``lines`` are the file lines merged into it.

    ``assignments`` hold, in file order, each establishment with the
    person's subject there (teachers) or function code (staff).
    ``password`` is None when the file gave none.
    """

    line: int
    sync_key: str
    civility: str
    lastname: str
    firstname: str
    assignments: list[Assignment]
    login: str = ""
    password: Secret | None = None
    email: str = ""
    birthdate: date | None = None
    address: str = ""
    postcode: str = ""
    city: str = ""
    phone: str = ""
    mobile: str = ""
    usertype: str = ""
    lines: list[int] = field(default_factory=list)

    @property
    def source_key(self) -> str:
        return source_key(self.sync_key)

    @property
    def establishments(self) -> tuple[str, ...]:
        """The row's establishments, first seen first."""
        return tuple(dict.fromkeys(tenant for tenant, _ in self.assignments))


_Seen = tuple[int, tuple[Assignment, ...]]
"""What the checker keeps of a sync key when it keeps no rows: the first line, the assignments."""


_TEXT_FIELDS = {
    StaffField.ADDRESS: values.MAX_TEXT,
    StaffField.CITY: 120,
    StaffField.PHONE: 20,
    StaffField.MOBILE: 20,
    StaffField.USERTYPE: values.MAX_TEXT,
}


class RowChecker:
    """Checks the rows of one file in order; read the outcome from its attributes.

    ``tenant`` is the establishment of rows without an RNE/UAI cell;
    ``tenants`` (when given) the tenant ids a row's UAI must be one of;
    ``taken_logins`` maps each login already held in the directory or on
    the site to its holder's source key (a row may keep a login its own
    source key holds).
    """

    def __init__(
        self,
        columns: ColumnMap,
        *,
        separator: str,
        tenant: str | None = None,
        tenants: Collection[str] | None = None,
        taken_logins: Mapping[str, str] | None = None,
        today: date,
        keep_rows: bool = True,
    ) -> None:
        self.columns = columns
        self.kind = columns.kind
        self.separator = separator
        self.tenant = tenant
        self.tenants = None if tenants is None else frozenset(tenants)
        self.taken_logins = taken_logins or {}
        self.today = today
        self.keep_rows = keep_rows
        self.problems: list[RowProblem] = []
        self.rows: dict[str, StaffRow] = {}
        self.read = 0
        self.conflicts = 0
        self.left_out = 0
        self.merged = 0
        self.accepted = 0
        self.per_tenant: Counter[str] = Counter()
        self.function_codes_seen = 0
        self._seen: dict[str, StaffRow | _Seen] = {}
        # One string per distinct subject or function, not one per row.
        self._codes: dict[str, str] = {}
        self._logins: dict[str, tuple[str, int]] = {}
        self._index = {f: c.index for f, c in columns.columns.items()}

    # -- one row -----------------------------------------------------------------------------

    def check(self, raw: RawRow) -> None:
        """Check one row and remember what it says."""
        self.read += 1
        found: list[RowProblem] = []
        if self._whole_row(raw, found):
            self._record(found)
            return
        cells = raw.cells
        row = self._fields(raw.line, cells, found)
        if row is None or any(p.severity is Severity.CONFLICT for p in found):
            self._record(found)
            return
        if any(p.severity is Severity.LEFT_OUT for p in found):
            self._record(found)
            return
        self._login_checks(raw.line, row, found)
        if any(p.severity is Severity.CONFLICT for p in found):
            self._record(found)
            return
        self._merge_or_add(row, found)
        self._record(found)

    def _record(self, found: list[RowProblem]) -> None:
        self.problems.extend(found)
        severities = {p.severity for p in found}
        if Severity.CONFLICT in severities:
            self.conflicts += 1
        elif Severity.LEFT_OUT in severities:
            self.left_out += 1
        elif Severity.MERGED in severities:
            self.merged += 1

    def _problem(
        self,
        found: list[RowProblem],
        line: int,
        staff_field: StaffField | None,
        value: str | None,
        reason: str,
        severity: Severity = Severity.CONFLICT,
    ) -> None:
        index = self._index.get(staff_field) if staff_field is not None else None
        header = self.columns.header_of(index) if index is not None else ""
        if staff_field is StaffField.PASSWORD and value:
            value = HIDDEN
        column = index + 1 if index is not None else None
        found.append(RowProblem(line, column, header, value, reason, severity))

    def _whole_row(self, raw: RawRow, found: list[RowProblem]) -> bool:
        """Problems that make the row's cells meaningless: encoding, separators, width."""
        bad = raw.bad_encoding
        if bad is not None:
            # Where the byte is: the cell it falls in (quotes aside, which is near enough).
            index = raw.text[: bad.offset].count(self.separator)
            value = raw.cells[index] if index < len(raw.cells) else None
            header = self.columns.header_of(index)
            found.append(RowProblem(raw.line, index + 1, header, value, bad.reason))
            return True
        width = self.columns.width
        cells = raw.cells
        if len(cells) != width and width > 1:
            other = other_separator(raw.text, self.separator, width)
            if other is not None and (other[1] == width or len(cells) == 1):
                self._problem(
                    found,
                    raw.line,
                    None,
                    None,
                    f"cells separated by {separator_name(other[0])}, the file's separator is "
                    f"{separator_name(self.separator)}: the file mixes separators",
                )
                return True
        extra = [cell for cell in cells[width:] if cell.strip()] if self.columns.has_header else []
        if extra:
            self._problem(
                found,
                raw.line,
                None,
                None,
                f"{len(cells)} cells where the header has {width}: a separator inside a cell "
                "that is not between quotes?",
            )
            return True
        return False

    def _fields(self, line: int, cells: list[str], found: list[RowProblem]) -> StaffRow | None:
        kind = self.kind
        width = len(cells)
        got = {f: cells[i] for f, i in self._index.items() if i < width}
        if values.control_character("".join(cells)) is not None:
            for staff_field in self._index:
                text = got.get(staff_field, "")
                why = values.control_character(text)
                if why is not None:
                    self._problem(found, line, staff_field, text, why)
            if found:
                return None
        for staff_field in MANDATORY[kind]:
            if not got.get(staff_field, "").strip():
                self._problem(found, line, staff_field, "", f"empty: mandatory in a {kind} file")
        parsed: dict[StaffField, str] = {}
        for staff_field, reader in (
            (StaffField.CIVILITY, values.civility),
            (StaffField.LASTNAME, values.name),
            (StaffField.FIRSTNAME, values.name),
            (StaffField.SUBJECT, values.name),
            (StaffField.EMAIL, values.email),
            (StaffField.LOGIN, values.login),
            (StaffField.PASSWORD, values.password),
        ):
            text = got.get(staff_field, "")
            if not text.strip():
                continue
            try:
                parsed[staff_field] = reader(text)
            except ValueError as exc:
                self._problem(found, line, staff_field, text, str(exc))
        for staff_field, limit in _TEXT_FIELDS.items():
            text = got.get(staff_field, "")
            if not text:
                continue
            if staff_field in (StaffField.PHONE, StaffField.MOBILE):
                text = values.excel_text(text)
            try:
                parsed[staff_field] = values.name(text, limit=limit)
            except ValueError as exc:
                self._problem(found, line, staff_field, text, str(exc))
        birthdate = self._birthdate(line, got, found)
        postcode = self._postcode(line, got, found)
        code = self._code(line, got, parsed, found)
        establishment = self._establishment(line, got, found)
        first, last = parsed.get(StaffField.FIRSTNAME, ""), parsed.get(StaffField.LASTNAME, "")
        key, first_folded, last_folded = key_and_names(first, last)
        for staff_field, text, plain in (
            (StaffField.FIRSTNAME, first, first_folded),
            (StaffField.LASTNAME, last, last_folded),
        ):
            if text and not plain:
                self._problem(found, line, staff_field, text, "no letter or digit in the name")
        if any(p.severity is not Severity.WARNING for p in found):
            return None
        password = parsed.get(StaffField.PASSWORD)
        return StaffRow(
            line=line,
            sync_key=key,
            civility=parsed.get(StaffField.CIVILITY, ""),
            lastname=last,
            firstname=first,
            assignments=[(establishment or "", code or "")],
            login=parsed.get(StaffField.LOGIN, ""),
            password=Secret(password) if password else None,
            email=parsed.get(StaffField.EMAIL, ""),
            birthdate=birthdate,
            address=parsed.get(StaffField.ADDRESS, ""),
            postcode=postcode,
            city=parsed.get(StaffField.CITY, ""),
            phone=parsed.get(StaffField.PHONE, ""),
            mobile=parsed.get(StaffField.MOBILE, ""),
            usertype=parsed.get(StaffField.USERTYPE, ""),
            lines=[line],
        )

    def _birthdate(
        self, line: int, got: dict[StaffField, str], found: list[RowProblem]
    ) -> date | None:
        text = got.get(StaffField.BIRTHDATE, "")
        if not text.strip():
            return None
        try:
            return values.birthdate(text, self.today)
        except ValueError as exc:
            self._problem(found, line, StaffField.BIRTHDATE, text, str(exc))
            return None

    def _postcode(self, line: int, got: dict[StaffField, str], found: list[RowProblem]) -> str:
        text = got.get(StaffField.POSTCODE, "")
        if not text.strip():
            return ""
        value = values.postcode(text)
        if isinstance(value, values.Fixed):
            self._problem(found, line, StaffField.POSTCODE, text, value.warning, Severity.WARNING)
            return value.value
        return value

    def _code(
        self,
        line: int,
        got: dict[StaffField, str],
        parsed: dict[StaffField, str],
        found: list[RowProblem],
    ) -> str | None:
        """The row's subject (teachers) or function code (staff)."""
        if self.kind is StaffKind.TEACHERS:
            return parsed.get(StaffField.SUBJECT)
        text = got.get(StaffField.FUNCTION, "")
        if not text.strip():
            return None
        function = function_code(text)
        if function is None:
            self._problem(
                found,
                line,
                StaffField.FUNCTION,
                text,
                "not a function code of the seed's table (FONCTION_FILIERE: DIR, EDU, DOC...)",
            )
            return None
        self.function_codes_seen += 1
        if not function.for_staff:
            self._problem(
                found,
                line,
                StaffField.FUNCTION,
                text,
                "ENS (teaching) is not a staff function: teachers go in a teachers file",
            )
        elif not function.exported:
            self._problem(
                found,
                line,
                StaffField.FUNCTION,
                text,
                "TOS agents (agents des collectivités) are not exported: row left out",
                Severity.LEFT_OUT,
            )
        return function.code

    def _establishment(
        self, line: int, got: dict[StaffField, str], found: list[RowProblem]
    ) -> str | None:
        text = got.get(StaffField.UAI, "").strip()
        if not text:
            if self.tenant is None:
                self._problem(
                    found,
                    line,
                    StaffField.UAI if StaffField.UAI in self._index else None,
                    "",
                    "no establishment: fill the RNE/UAI column or give --tenant",
                )
            return self.tenant
        try:
            uai = normalize_uai(text)
        except UaiError as exc:
            self._problem(found, line, StaffField.UAI, text, str(exc))
            return None
        if self.tenants is not None and uai not in self.tenants:
            self._problem(found, line, StaffField.UAI, text, f"{uai} is not a tenant of the farm")
            return None
        return uai

    # -- rows together -----------------------------------------------------------------------

    def _login_checks(self, line: int, row: StaffRow, found: list[RowProblem]) -> None:
        if bool(row.login) != (row.password is not None):
            given, missing = (
                (StaffField.LOGIN, "password") if row.login else (StaffField.PASSWORD, "login")
            )
            value = row.login if row.login else HIDDEN
            self._problem(
                found,
                line,
                given,
                value,
                f"a login and a password go together: this row has no {missing}",
            )
            return
        if not row.login:
            return
        holder = self.taken_logins.get(row.login)
        if holder is not None and holder != row.source_key:
            self._problem(
                found,
                line,
                StaffField.LOGIN,
                row.login,
                f"login already used in the directory or on the site (by {holder})",
            )
            return
        other = self._logins.get(row.login)
        if other is not None and other[0] != row.sync_key:
            self._problem(
                found, line, StaffField.LOGIN, row.login, f"login also given on line {other[1]}"
            )

    def _merge_or_add(self, row: StaffRow, found: list[RowProblem]) -> None:
        tenant, code = row.assignments[0]
        code = self._codes.setdefault(code, code)
        assignment = row.assignments[0] = (tenant, code)
        first = self._seen.get(row.sync_key)
        if first is None:
            if self.keep_rows:
                self._seen[row.sync_key] = self.rows[row.sync_key] = row
            else:
                self._seen[row.sync_key] = (row.line, (assignment,))
            if row.login:
                self._logins[row.login] = (row.sync_key, row.line)
            self.accepted += 1
            self.per_tenant[tenant] += 1
            return
        line, known = (first.line, first.assignments) if isinstance(first, StaffRow) else first
        name = f"{row.firstname} {row.lastname}"
        if assignment in known:
            reason = f"repeats line {line} ({name}, same sync key): left out"
        else:
            what = "subject" if self.kind is StaffKind.TEACHERS else "function"
            reason = (
                f"same sync key as line {line} ({name}): establishment {tenant} and "
                f"{what} {code} added to line {line}, the rest of this line ignored"
            )
            if all(t != tenant for t, _ in known):
                self.per_tenant[tenant] += 1
            if isinstance(first, StaffRow):
                first.assignments.append(assignment)
                first.lines.append(row.line)
            else:
                self._seen[row.sync_key] = (line, (*known, assignment))
        found.append(RowProblem(row.line, None, "", None, reason, Severity.MERGED))
