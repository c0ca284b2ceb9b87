"""Reconciliation's findings for one establishment: pairs to make one, accounts twice, ghosts. Pure.

The seed's §7: a person an establishment imported from a CSV file is
brought by the directory later (a substitute who arrives late in the
academic feed). Until the two are made one, the person has two identities,
often two accounts. :func:`find_reconciliations` compares the tenant's
roster, its source's people and the site's index, and says, each with a
reason and a confidence:

* **pairs**: a CSV person and a directory person of the same establishment
  with the same names once folded (accents, case, punctuation: the sync
  key's folding), exactly one on each side, and the same e-mail and birth
  date wherever both sides have one. Confidence ``high`` when an e-mail or
  a birth date agrees, ``medium`` when the names are all there is to
  compare. Both are confirmed: a reconciliation links them;
* **ambiguous**: names shared by several people on one side, or an e-mail or
  a birth date that differs: listed, never linked (nothing is merged on a
  guess);
* **duplicates**: one Moodle account the index holds under two keys (two
  source people sharing an account: the farm never does it, so it is a
  repair to make by hand);
* **ghosts**: accounts of the index that no source holds any more: held for
  this tenant although neither its source nor its roster has the person
  (a complete sync will take them off), or held by no tenant at all and
  still active (the site keeps such accounts: ``removal = keep``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from farm.index import SiteIndex
from farm.model import Kind, Person
from farm.staff.roster import RosterEntry
from farm.staff.sync_keys import SOURCE_KEY_PREFIX, fold_name


class Confidence(StrEnum):
    """How sure a finding is: ``high`` and ``medium`` pairs are linked, the rest only listed."""

    HIGH = "high"
    MEDIUM = "medium"
    CERTAIN = "certain"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Pair:
    """A CSV person and the directory person they are, and their accounts on the site.

    ``csv_account`` is the Moodle id the CSV key holds (None: never
    created); ``directory_account`` the one the directory key holds, a
    duplicate a sync created (None: the usual case when the site refused
    it, or the sync has not run yet).
    """

    tenant: str
    csv_key: str
    directory: Person
    names: str
    confidence: Confidence
    reason: str
    csv_account: int | None = None
    directory_account: int | None = None


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """People that look like one another but are not linked, and why."""

    tenant: str
    names: str
    csv_keys: tuple[str, ...]
    directory_keys: tuple[str, ...]
    reason: str
    confidence: Confidence = Confidence.NONE


@dataclass(frozen=True, slots=True)
class Duplicate:
    """One Moodle account the index holds under several keys."""

    moodle_id: int
    keys: tuple[str, ...]
    reason: str
    confidence: Confidence = Confidence.CERTAIN


@dataclass(frozen=True, slots=True)
class Ghost:
    """An account of the index that no source holds any more."""

    key: str
    moodle_id: int | None
    username: str
    reason: str
    confidence: Confidence


@dataclass(frozen=True)
class Findings:
    """Everything :func:`find_reconciliations` found for one tenant."""

    tenant: str
    pairs: tuple[Pair, ...] = ()
    ambiguous: tuple[Ambiguity, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
    ghosts: tuple[Ghost, ...] = ()
    notes: tuple[str, ...] = field(default=())


def names_key(firstname: str, lastname: str) -> tuple[str, str]:
    """First and last names as the sync key folds them: compared, never shown."""
    return fold_name(firstname), fold_name(lastname)


def find_reconciliations(
    tenant: str,
    roster: Iterable[RosterEntry],
    directory: Sequence[Person],
    index: SiteIndex,
    *,
    birthdates: Mapping[str, date] | None = None,
    read_complete: bool = True,
) -> Findings:
    """What there is to reconcile in ``tenant``; see the module docstring.

    ``roster`` is the tenant's active roster, ``directory`` its source's
    people (read in full), ``index`` its site's, ``birthdates`` the
    directory people's birth dates by source key, where the source gives
    them. ``read_complete`` says the source's read was complete: a ghost is
    only ``high`` confidence then.
    """
    born = birthdates or {}
    csv_people: dict[str, RosterEntry] = {}
    for entry in roster:
        if entry.tenant == tenant and entry.active:
            csv_people.setdefault(entry.source_key, entry)
    people = [p for p in directory if not p.source_key.startswith(SOURCE_KEY_PREFIX)]
    by_names: dict[tuple[str, str], tuple[list[RosterEntry], list[Person]]] = {}
    for entry in csv_people.values():
        by_names.setdefault(names_key(entry.firstname, entry.lastname), ([], []))[0].append(entry)
    for person in people:
        key = names_key(person.firstname, person.lastname)
        if key in by_names:
            by_names[key][1].append(person)
    accounts = index.of(Kind.PERSON)
    pairs: list[Pair] = []
    ambiguous: list[Ambiguity] = []
    for key in sorted(by_names):
        entries, found = by_names[key]
        if not found:
            continue
        shown = f"{entries[0].firstname} {entries[0].lastname}"
        if len(entries) != 1 or len(found) != 1:
            ambiguous.append(
                Ambiguity(
                    tenant,
                    shown,
                    tuple(sorted(e.source_key for e in entries)),
                    tuple(sorted(p.source_key for p in found)),
                    f"{len(entries)} CSV and {len(found)} directory people share these names "
                    f"in {tenant}: link them by hand",
                )
            )
            continue
        entry, person = entries[0], found[0]
        confidence, reason = _compare(entry, person, born.get(person.source_key))
        if confidence is Confidence.NONE:
            ambiguous.append(
                Ambiguity(tenant, shown, (entry.source_key,), (person.source_key,), reason)
            )
            continue
        csv_entry = accounts.get(entry.source_key)
        dir_entry = accounts.get(person.source_key)
        pairs.append(
            Pair(
                tenant,
                entry.source_key,
                person,
                shown,
                confidence,
                f"same names in {tenant}, {reason}",
                csv_entry.moodle_id if csv_entry is not None else None,
                dir_entry.moodle_id if dir_entry is not None else None,
            )
        )
    held = set(csv_people) | {p.source_key for p in directory}
    return Findings(
        tenant=tenant,
        pairs=tuple(pairs),
        ambiguous=tuple(ambiguous),
        duplicates=tuple(_duplicates(index, tenant)),
        ghosts=tuple(_ghosts(index, tenant, held, read_complete)),
    )


def _compare(entry: RosterEntry, person: Person, born: date | None) -> tuple[Confidence, str]:
    """The pair's confidence and reason; :attr:`Confidence.NONE` when something differs."""
    agreed: list[str] = []
    if entry.email and person.email:
        if entry.email.casefold() != person.email.casefold():
            why = f"same names, but the e-mails differ ({entry.email}, {person.email})"
            return Confidence.NONE, why
        agreed.append("same e-mail")
    if entry.birthdate is not None and born is not None:
        if entry.birthdate != born:
            why = (
                f"same names, but the birth dates differ ({entry.birthdate.isoformat()}, "
                f"{born.isoformat()})"
            )
            return Confidence.NONE, why
        agreed.append("same birth date")
    if agreed:
        return Confidence.HIGH, " and ".join(agreed)
    return Confidence.MEDIUM, "no e-mail or birth date on both sides to compare"


def _duplicates(index: SiteIndex, tenant: str) -> list[Duplicate]:
    by_account: dict[int, list[str]] = {}
    for key, entry in index.of(Kind.PERSON).items():
        if entry.moodle_id is not None and (tenant in entry.tenants or not entry.tenants):
            by_account.setdefault(entry.moodle_id, []).append(key)
    return [
        Duplicate(
            moodle_id,
            tuple(sorted(keys)),
            f"account {moodle_id} is held by {len(keys)} source people: "
            "two people must never share an account; repair it by hand",
        )
        for moodle_id, keys in sorted(by_account.items())
        if len(keys) > 1
    ]


def _ghosts(index: SiteIndex, tenant: str, held: set[str], complete: bool) -> list[Ghost]:
    out: list[Ghost] = []
    for key, entry in sorted(index.of(Kind.PERSON).items()):
        username = str(entry.values.get("username", ""))
        if entry.suspended:
            continue
        if tenant in entry.tenants and key not in held:
            out.append(
                Ghost(
                    key,
                    entry.moodle_id,
                    username,
                    f"held for {tenant}, but neither its source nor its roster has the person: "
                    "the next complete sync takes the account off",
                    Confidence.HIGH if complete else Confidence.MEDIUM,
                )
            )
        elif not entry.tenants and entry.values.get("suspended") is not True:
            out.append(
                Ghost(
                    key,
                    entry.moodle_id,
                    username,
                    "no establishment holds it any more and it is still active "
                    "(the site keeps such accounts: removal = keep)",
                    Confidence.CERTAIN,
                )
            )
    return out
