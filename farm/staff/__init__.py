"""Staff CSV files: teachers and staff the directory does not carry (seed 004), as records.

Establishments add people from CSV files: contract CPE and nurses,
substitutes the directory brings late, people of two establishments. The
package follows the seed's steps and is pure (no network, no database):

1. **load** (:mod:`~farm.staff.encoding`, :mod:`~farm.staff.table`): the
   encoding found, binary files refused, the separator and the header,
   rows read one at a time;
2. **map** (:mod:`~farm.staff.fields`, :mod:`~farm.staff.columns`,
   :mod:`~farm.staff.column_profiles`): headers matched to fields by their
   synonyms, a mapping given or saved in the farm folder;
3. **check** (:mod:`~farm.staff.values`, :mod:`~farm.staff.rows`,
   :mod:`~farm.staff.inspection`): every row, every problem at once, with
   the seed's function codes (:mod:`~farm.staff.functions`) and sync keys
   (:mod:`~farm.staff.sync_keys`);
4. **records** (:mod:`~farm.staff.records`): people, cohorts and roles per
   tenant, as a source gives them;
5. **report** (:mod:`~farm.staff.report`): the owner-only file of sync keys,
   logins and passwords;
6. **roster** (:mod:`~farm.staff.roster`): what an import changes in each
   establishment's roster, the stored source every later sync reads;
7. **reconciliation** (:mod:`~farm.staff.matching`): CSV people the
   directory now brings, accounts held twice, ghosts.

A caller checks a file with :func:`check_staff_file`, then turns the
accepted rows into snapshots with :func:`staff_records`, and writes the
report with :func:`write_report` once the accounts exist.
"""

from farm.staff.column_profiles import (
    ColumnProfile,
    ColumnProfileError,
    is_profile_name,
    load_profile,
    save_profile,
)
from farm.staff.columns import ColumnMap, ColumnRef, parse_columns
from farm.staff.fields import StaffField, StaffKind
from farm.staff.inspection import StaffCheck, check_staff_file
from farm.staff.matching import (
    Ambiguity,
    Confidence,
    Duplicate,
    Findings,
    Ghost,
    Pair,
    find_reconciliations,
)
from farm.staff.problems import RowProblem, Severity, StaffFileError
from farm.staff.records import RecordOptions, ReportRow, StaffRecords, staff_records
from farm.staff.report import write_report
from farm.staff.roster import (
    RosterChange,
    RosterChanged,
    RosterContext,
    RosterEntry,
    RosterItem,
    RosterPlan,
    pending_rosters,
    plan_roster,
    roster_digest,
    roster_snapshot,
)
from farm.staff.rows import StaffRow
from farm.staff.table import DEFAULT_SEPARATOR, parse_separator, separator_name

__all__ = [
    "DEFAULT_SEPARATOR",
    "Ambiguity",
    "ColumnMap",
    "ColumnProfile",
    "ColumnProfileError",
    "ColumnRef",
    "Confidence",
    "Duplicate",
    "Findings",
    "Ghost",
    "Pair",
    "RecordOptions",
    "ReportRow",
    "RosterChange",
    "RosterChanged",
    "RosterContext",
    "RosterEntry",
    "RosterItem",
    "RosterPlan",
    "RowProblem",
    "Severity",
    "StaffCheck",
    "StaffField",
    "StaffFileError",
    "StaffKind",
    "StaffRecords",
    "StaffRow",
    "check_staff_file",
    "find_reconciliations",
    "is_profile_name",
    "load_profile",
    "parse_columns",
    "parse_separator",
    "pending_rosters",
    "plan_roster",
    "roster_digest",
    "roster_snapshot",
    "save_profile",
    "separator_name",
    "staff_records",
    "write_report",
]
