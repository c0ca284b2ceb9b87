"""Hostile Pronote files: refused and named before anything is read from them.

XXE, entity expansion, external DTDs, libxml2's limits, and a 200 MB file
that must stream through in bounded memory: measured in a child process
by its own peak resident size (``VmHWM``), libxml2's allocations included,
which tracemalloc would not see.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from farm.pronote.parser import HostileFile, PronoteFileError, PronoteReader, read_pronote_file
from farm.pronote.settings import PronoteSettings

XXE = """<?xml version="1.0"?>
<!DOCTYPE PRONOTE_INDEX [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<PRONOTE_INDEX><Eleves><Eleve IdPN="1" Nom="&secret;" Prenom="x"/></Eleves></PRONOTE_INDEX>
"""
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE PRONOTE_INDEX [\n<!ENTITY l0 "ha">\n'
    + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">\n' for i in range(1, 10))
    + ']>\n<PRONOTE_INDEX><Eleves><Eleve IdPN="1" Nom="&l9;" Prenom="x"/></Eleves>'
    "</PRONOTE_INDEX>\n"
)
EXTERNAL_DTD = """<?xml version="1.0"?>
<!-- made by a tool -->
<!DOCTYPE PRONOTE_INDEX SYSTEM "http://127.0.0.1:9/pronote.dtd">
<PRONOTE_INDEX/>
"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<PARTENAIRE_INDEX xmlns="http://www.index-education.com/rapprochementssoV2.0"/>
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "IdPN_To_KOSMOS.xml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("document", "line"),
    [(XXE, 2), (BILLION_LAUGHS, 2), (EXTERNAL_DTD, 3), (PARAMETER_ENTITY, 2)],
    ids=["xxe", "billion-laughs", "external-dtd", "parameter-entity"],
)
def test_a_document_type_declaration_is_refused_as_hostile_with_its_line(
    tmp_path: Path, document: str, line: int
) -> None:
    path = write(tmp_path, document)
    reader = PronoteReader(path)
    people = reader.people()
    with pytest.raises(HostileFile) as caught:
        next(people)
    assert caught.value.line == line
    assert "document type declaration" in caught.value.reason
    assert str(caught.value).startswith(f"IdPN_To_KOSMOS.xml:{line}: ")
    # Nothing of the file was taken: no header, no person, no secret.
    assert reader.header.kind is None
    assert "root:" not in str(caught.value)


def test_the_xxe_target_never_reaches_the_message(tmp_path: Path) -> None:
    with pytest.raises(HostileFile) as caught:
        read_pronote_file(write(tmp_path, XXE))
    assert "root:" not in str(caught.value)
    assert "/bin/" not in str(caught.value)


def test_an_undeclared_entity_is_malformed_xml_naming_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '<PRONOTE_INDEX>\n<Eleves><Eleve Nom="&x;"/></Eleves></PRONOTE_INDEX>')
    with pytest.raises(PronoteFileError) as caught:
        read_pronote_file(path)
    assert not isinstance(caught.value, HostileFile)
    assert caught.value.line == 2
    assert "Entity 'x' not defined" in caught.value.reason
    assert "column" in caught.value.reason


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('<Eleves><Eleve IdPN="1" Nom="' + "A" * 11_000_000 + '" Prenom="b"/></Eleves>', "limit"),
        ("<a>" * 300 + "</a>" * 300, "depth"),
    ],
    ids=["huge-text", "deep-nesting"],
)
def test_libxml2_limits_are_kept_and_named_as_hostile(
    tmp_path: Path, body: str, words: str
) -> None:
    path = write(tmp_path, f"<PRONOTE_INDEX>{body}</PRONOTE_INDEX>")
    with pytest.raises(HostileFile) as caught:
        read_pronote_file(path)
    assert words in caught.value.reason.lower()


def test_a_person_with_thousands_of_children_is_refused(tmp_path: Path) -> None:
    children = "<Nom>x</Nom>" * 1000
    path = write(
        tmp_path,
        f'<PRONOTE_INDEX><Eleves><Eleve IdPN="1">{children}</Eleve></Eleves></PRONOTE_INDEX>',
    )
    with pytest.raises(HostileFile, match="more than 256 children"):
        read_pronote_file(path)


def test_more_people_than_the_limit_is_refused_naming_the_setting(tmp_path: Path) -> None:
    people = "".join(f'<Eleve IdPN="{i}" Nom="N" Prenom="P"/>' for i in range(11))
    path = write(tmp_path, f"<PRONOTE_INDEX><Eleves>{people}</Eleves></PRONOTE_INDEX>")
    with pytest.raises(PronoteFileError, match=r"more than 10 people.*max_people"):
        read_pronote_file(path, PronoteSettings(max_people=10))


HUGE_BYTES = 200 * 1024 * 1024
PEAK_LIMIT = 100 * 1024 * 1024

_STREAM = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from farm.pronote.parser import PronoteReader
    from farm.pronote.settings import PronoteSettings

    reader = PronoteReader(Path(sys.argv[1]), PronoteSettings(max_people=10**8))
    count = sum(1 for _ in reader.people())
    # The peak of this process's own memory since exec (getrusage would count
    # the parent's pages a vfork-ed child started with).
    status = Path("/proc/self/status").read_text()
    peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    print(count, len(reader.problems), peak)
    """
)


def _write_huge(path: Path) -> int:
    """An IdPN file of at least 200 MB, written in chunks; returns how many pupils."""
    # Long addresses make each person about 1 KB: fewer elements, the same bytes.
    address = "12 rue de la République, " * 36
    person = (
        '<Eleve IdPN="{0:09d}" Nom="DURAND-{0}" Prenom="Zoé" DateNaissance="2011-03-04" '
        f'Adresse1="{address}"/>\n'
    )
    written, count = 0, 0
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<PRONOTE_INDEX Mode="Complet">\n<Eleves>\n'
        )
        while written < HUGE_BYTES:
            chunk = "".join(person.format(count + k) for k in range(10_000))
            out.write(chunk)
            written += len(chunk)
            count += 10_000
        out.write("</Eleves>\n</PRONOTE_INDEX>\n")
    return count


@pytest.mark.slow
def test_a_200_mb_file_streams_through_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "IdPN_To_HUGE.xml"
    count = _write_huge(path)
    assert path.stat().st_size >= HUGE_BYTES

    done = subprocess.run(
        [sys.executable, "-c", _STREAM, str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )

    assert done.returncode == 0, done.stderr
    read, problems, peak_kib = done.stdout.split()
    assert (int(read), int(problems)) == (count, 0)
    peak = int(peak_kib) * 1024
    assert peak < PEAK_LIMIT, f"peak resident size {peak / 2**20:.0f} MiB"


def test_the_default_limit_refuses_the_huge_file_before_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "IdPN_To_BIG.xml"
    people = "".join(f'<Eleve IdPN="{i}" Nom="N" Prenom="P"/>' for i in range(2001))
    path.write_text(f"<PRONOTE_INDEX><Eleves>{people}</Eleves></PRONOTE_INDEX>", "utf-8")
    with pytest.raises(PronoteFileError) as caught:
        read_pronote_file(path, PronoteSettings(max_people=2000))
    assert caught.value.line == 1
    assert "more than 2000 people" in caught.value.reason
