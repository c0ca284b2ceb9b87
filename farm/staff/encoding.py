"""A staff CSV file as text lines: its encoding found, binary files refused, read line by line.

Files come from spreadsheets and school software, so four encodings are
accepted: UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's
"Unicode text") and Windows-1252 (Excel's "CSV (separator: semicolon)" on a
French Windows). A byte-order mark decides at once. Without one, the file is
UTF-8 if its first line with a non-ASCII byte is valid UTF-8, and
Windows-1252 otherwise; lines before that are ASCII and read the same in
both. The rest of the file must agree: a line that does not is one *bad
line*, reported with its line number and left out, so a file pasted
together from two exports is found out instead of turning names into
mojibake.

A file is refused as a whole (:class:`~farm.staff.problems.StaffFileError`)
when its first 64 KiB show it is not text: a spreadsheet, archive, PDF or
image by its signature, NUL bytes, UTF-16 without a byte-order mark, or a
majority of bytes that are no letters in any accepted encoding. A NUL byte
later in the file, or a line longer than 64 KiB, refuses it too.

Lines are read one at a time (:class:`TextLines`), so a file of any length
is read in the memory of one line.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from farm.staff.problems import StaffFileError

SAMPLE_BYTES: Final = 64 * 1024
MAX_LINE_BYTES: Final = 64 * 1024

UTF8: Final = "UTF-8"
UTF8_BOM: Final = "UTF-8 with BOM"
UTF16: Final = "UTF-16"
CP1252: Final = "Windows-1252"
ASCII: Final = "ASCII"

_SIGNATURES: Final = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .ods spreadsheet?)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 (.xls) spreadsheet"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xff\xfe\x00\x00", "UTF-32 text"),
    (b"\x00\x00\xfe\xff", "UTF-32 text"),
)
_SAVE_AS_CSV: Final = "save it from the spreadsheet as CSV (separator ';'), UTF-8 or Windows-1252"
_CONTROL_BYTES: Final = frozenset(range(0x09)) | frozenset(range(0x0E, 0x20)) | {0x7F}


@dataclass(frozen=True, slots=True)
class BadLine:
    """Why a line is not in the file's encoding; ``offset`` is where, in the line as given."""

    reason: str
    offset: int


def sniff(path: Path, head: bytes) -> str:
    """The encoding that the first bytes of ``path`` show, or why the file is refused.

    Returns :data:`UTF8_BOM`, :data:`UTF16`, or ``"ASCII"`` when the choice
    between UTF-8 and Windows-1252 is left to the first non-ASCII line.
    """
    if not head:
        raise StaffFileError(path, "the file is empty: nothing to import")
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise StaffFileError(path, f"this is {what}, not a CSV file", hint=_SAVE_AS_CSV)
    if head.startswith(codecs.BOM_UTF8):
        return UTF8_BOM
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return UTF16
    nul = head.find(b"\x00")
    if nul >= 0:
        pairs = head[: len(head) - len(head) % 2]
        even, odd = pairs[0::2], pairs[1::2]
        if even.count(0) > len(even) // 3 or odd.count(0) > len(odd) // 3:
            raise StaffFileError(
                path,
                "this looks like UTF-16 text without a byte-order mark",
                line=head[:nul].count(b"\n") + 1,
                hint="save it as UTF-8, or as 'Unicode text' (UTF-16 with its mark)",
            )
        raise StaffFileError(
            path,
            f"NUL byte at byte {nul + 1}: this is a binary file, not CSV text",
            line=head[:nul].count(b"\n") + 1,
            hint=_SAVE_AS_CSV,
        )
    controls = sum(1 for byte in head if byte in _CONTROL_BYTES)
    high = sum(1 for byte in head if byte >= 0x80)
    # Too few bytes say nothing: a short name list may well be mostly accents.
    mostly_high = len(head) >= 256 and high * 10 > len(head) * 3
    if controls * 100 > len(head) or (mostly_high and not _is_utf8(head)):
        raise StaffFileError(
            path,
            "most of the first bytes are no text in UTF-8 or Windows-1252: "
            "this is a binary file, not CSV text",
            hint=_SAVE_AS_CSV,
        )
    if b"\r" in head and b"\n" not in head:
        raise StaffFileError(
            path,
            "lines end with a lone carriage return (classic Mac OS)",
            hint="save the file with Windows or Unix line ends",
        )
    return ASCII


def _is_utf8(data: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=False)  # a character cut at the end of the sample is fine
    except UnicodeDecodeError:
        return False
    return True


class TextLines:
    """The decoded lines of one file, line ends kept, as ``csv.reader`` wants them.

    ``line`` is the number of the last line given (1-based). ``bad_lines``
    maps the number of each line that is not in the file's encoding to why
    and where (:class:`BadLine`);
    such a line is still given, decoded as well as can be, so that the row
    it belongs to can be reported. ``encoding`` is the encoding found so
    far: ``"ASCII"`` until a non-ASCII line decides.
    """

    def __init__(self, path: Path, binary: BinaryIO) -> None:
        self.path = path
        self._binary = binary
        head = binary.read(SAMPLE_BYTES)
        binary.seek(0)
        self.encoding = sniff(path, head)
        self.line = 0
        self.bad_lines: dict[int, BadLine] = {}
        self._utf16: io.TextIOWrapper | None = None
        if self.encoding == UTF16:
            self._utf16 = io.TextIOWrapper(binary, encoding="utf-16", newline="", errors="strict")

    def __iter__(self) -> Iterator[str]:
        if self._utf16 is not None:
            yield from self._utf16_lines(self._utf16)
            return
        readline = self._binary.readline
        while True:
            raw = readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            self.line += 1
            if len(raw) > MAX_LINE_BYTES:
                self._too_long()
            if self.line == 1 and self.encoding == UTF8_BOM:
                raw = raw[len(codecs.BOM_UTF8) :]
            if b"\x00" in raw:
                raise StaffFileError(
                    self.path,
                    "NUL byte: this part of the file is binary, not CSV text",
                    line=self.line,
                    column=raw.index(b"\x00") + 1,
                    hint=_SAVE_AS_CSV,
                )
            yield self._decode(raw)

    def _utf16_lines(self, text: io.TextIOWrapper) -> Iterator[str]:
        while True:
            try:
                line = text.readline(MAX_LINE_BYTES + 1)
            except UnicodeDecodeError as exc:
                raise StaffFileError(
                    self.path,
                    f"not valid UTF-16 ({exc.reason}) although the file starts with its mark",
                    line=self.line + 1,
                    hint="save the file again as UTF-8",
                ) from None
            if not line:
                return
            self.line += 1
            if len(line) > MAX_LINE_BYTES:
                self._too_long()
            if "\x00" in line:
                raise StaffFileError(
                    self.path,
                    "NUL character: this part of the file is binary, not CSV text",
                    line=self.line,
                    column=line.index("\x00") + 1,
                )
            yield line

    def _too_long(self) -> None:
        raise StaffFileError(
            self.path,
            f"line longer than {MAX_LINE_BYTES // 1024} KiB: this is not a CSV file of people",
            line=self.line,
        )

    def _decode(self, raw: bytes) -> str:
        if raw.isascii():
            return raw.decode("ascii")
        encoding = self.encoding
        if encoding in (UTF8, UTF8_BOM):
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return self._bad(raw, exc, "not UTF-8 like the rest of the file")
        if encoding == ASCII:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.encoding = CP1252
            else:
                self.encoding = UTF8
                return text
        # Windows-1252: a line that is valid UTF-8 as well comes from another export.
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            offset = next(i for i, c in enumerate(text) if not c.isascii())
            self.bad_lines[self.line] = BadLine(
                f"UTF-8 text in a file that is Windows-1252 up to here (at character "
                f"{offset + 1}): the file mixes encodings",
                offset,
            )
            return text
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            return self._bad(raw, exc, "a byte that is no character in Windows-1252")

    def _bad(self, raw: bytes, exc: UnicodeDecodeError, what: str) -> str:
        byte = raw[exc.start]
        shown = raw[: exc.start].decode("utf-8", errors="replace")
        self.bad_lines[self.line] = BadLine(
            f"{what} (byte 0x{byte:02X} at character {len(shown) + 1}): "
            "the file mixes encodings; save it again in one encoding",
            # The line is given decoded one character per byte: the byte's place is the offset.
            exc.start,
        )
        return raw.decode("cp1252", errors="replace")


def open_lines(path: Path) -> tuple[BinaryIO, TextLines]:
    """Open ``path`` for :class:`TextLines`; the caller closes the binary file."""
    try:
        binary = open(path, "rb")  # noqa: SIM115 - closed by the caller, after the last line
    except FileNotFoundError:
        raise StaffFileError(path, "no such file") from None
    except IsADirectoryError:
        raise StaffFileError(path, "this is a folder, not a file") from None
    except PermissionError:
        raise StaffFileError(path, "the file cannot be read (permission denied)") from None
    try:
        return binary, TextLines(path, binary)
    except BaseException:
        binary.close()
        raise
