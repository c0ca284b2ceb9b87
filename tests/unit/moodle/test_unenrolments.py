"""Unenrolment slices: the roles of one course and person are decided in one slice."""

from __future__ import annotations

from farm.model import Enrolment, IndexEntry, Kind
from farm.moodle.unenrolments import unenrol_slices
from farm.operation import Action, Category, Operation


def unenrol(course: str, person: str, role: str) -> Operation:
    record = Enrolment(course, person, role)
    entry = IndexEntry(Kind.ENROLMENT, record.key, None, record.digest(), record.values())
    return Operation(Kind.ENROLMENT, Action.UNENROL, record.key, Category.REMOVE, None, entry)


def test_slices_keep_about_their_size_and_never_part_one_course_and_person() -> None:
    ops = [unenrol("MATHS", f"sdet:{n}", "student") for n in range(5)]
    ops[2:2] = [unenrol("MATHS", "sdet:1", "teacher")]  # sdet:1 leaves with two roles

    slices, alone = unenrol_slices(ops, 2)

    assert alone == []
    assert [[op.key for op in chunk] for chunk in slices] == [
        ["MATHS|sdet:0|student", "MATHS|sdet:1|student", "MATHS|sdet:1|teacher"],
        ["MATHS|sdet:2|student", "MATHS|sdet:3|student"],
        ["MATHS|sdet:4|student"],
    ]
