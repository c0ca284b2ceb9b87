"""New passwords and the owner-only credentials file."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from farm.passwords import CredentialsFile, new_password
from farm.secrets import Secret


def test_a_new_password_passes_moodles_default_policy_and_never_prints() -> None:
    for _ in range(50):
        password = new_password()
        value = password.reveal()
        assert len(value) == 16
        assert any(c.islower() for c in value)
        assert any(c.isupper() for c in value)
        assert any(c.isdigit() for c in value)
        assert not value.isalnum()
        assert value not in repr(password) + str(password)


def test_a_new_password_never_begins_as_a_spreadsheet_formula() -> None:
    # One in eighteen would begin with "-" if nothing kept it from it: 500 draws see it.
    firsts = {new_password().reveal()[0] for _ in range(500)}

    assert all(c.isalnum() for c in firsts)
    assert len(firsts) > 20


def test_appends_from_many_threads_at_once_make_one_owner_only_file(tmp_path: Path) -> None:
    credentials = CredentialsFile(tmp_path / "var" / "credentials" / "site-1.csv")
    start = threading.Barrier(8)

    def append(n: int) -> None:
        start.wait()
        credentials.append([(f"user{n}", Secret(f"pw-{n}"))])

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    lines = credentials.path.read_text().splitlines()
    assert lines[0] == "username,password"
    assert sorted(lines[1:]) == sorted(f"user{n},pw-{n}" for n in range(8))
    assert stat.S_IMODE(credentials.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.path.parent.stat().st_mode) == 0o700
    assert (credentials.path.parent / ".gitignore").read_text() == "*\n"  # never committed


def test_an_existing_file_is_never_appended_to(tmp_path: Path) -> None:
    taken = tmp_path / "site-1.csv"
    taken.write_text("someone else's\n")
    credentials = CredentialsFile(taken)

    credentials.append([("user1", Secret("pw"))])

    assert taken.read_text() == "someone else's\n"
    assert credentials.path == tmp_path / "site-1-2.csv"
    assert credentials.path.read_text().splitlines() == ["username,password", "user1,pw"]
