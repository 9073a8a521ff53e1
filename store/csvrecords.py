"""CSV records with their line numbers, resynchronised after a broken quote.

Python's csv module lets a quoted field run over line ends (overviews do contain
newlines), so one unterminated quote makes the reader swallow the rows after it into a
single field, and those rows vanish without a word. This reader notices when a record
that spans several lines has swallowed rows (the record has the wrong number of fields,
a line inside it reads as a row of its own, or the quote is still open at the end of the
file), reports the line that opened the quote, and reads on from the next line: only the
broken line is lost, and it is named.
"""

import csv
import re
from dataclasses import dataclass

_LINES = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")


@dataclass(frozen=True)
class Record:
    line: int            # 1-based physical line where the record starts
    values: list         # the fields ([] when ``error`` is set and nothing was parsed)
    error: str = ""      # why the record is unusable ("" for a parsed record)


class _Lines:
    """The physical lines as an iterator whose position can be moved back (for resync)."""

    def __init__(self, lines):
        self.lines, self.pos = lines, 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _alone(line):
    """The fields of one physical line parsed on its own, or None if it does not parse."""
    try:
        return next(csv.reader([line], strict=True), [])
    except csv.Error:
        return None


def _leading_fields(line):
    """The fields a broken line starts with (enough to name its id), read leniently from its first 4 KiB."""
    try:
        return next(csv.reader([line[:4096].rstrip("\r\n")]), [])
    except csv.Error:
        return []


def _unterminated(text):
    try:
        list(csv.reader([text], strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


class RecordReader:
    """Iterate ``Record``s of a CSV text; the first one is the header.

    ``looks_like_row(values)`` tells whether a line inside a multi-line record is really a
    row of its own (the caller knows the header: width, id and year columns).
    """

    def __init__(self, text, looks_like_row=None):
        self.lines = _LINES.findall(text)
        self.looks_like_row = looks_like_row or (lambda values: False)
        self.width = None   # set by the caller once the header is known

    def __iter__(self):
        src = _Lines(self.lines)
        reader = csv.reader(src)
        while True:
            start = src.pos
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                swallowed = src.pos - start > 1
                yield Record(start + 1, _leading_fields(self.lines[start]), f"CSV error: {exc}" + (self._resync_note(start) if swallowed else ""))
                if swallowed:
                    src.pos, reader = start + 1, csv.reader(src)
                continue
            problem = self._swallowed(start, src.pos, values)
            if problem:
                yield Record(start + 1, _leading_fields(self.lines[start]), problem)
                src.pos, reader = start + 1, csv.reader(src)
                continue
            yield Record(start + 1, values)

    def _resync_note(self, start):
        return f"; a quote opened on line {start + 1} ran over the next lines, which are read again as rows"

    def _swallowed(self, start, end, values):
        """Why the record over lines [start, end) must be split, or "" when it is sound."""
        text = "".join(self.lines[start:end])
        at_eof = end == len(self.lines)
        if at_eof and _unterminated(text):
            if end - start == 1:
                return "unterminated quote at the end of the file"
            return ("unterminated quote: it runs to the end of the file over "
                    f"{end - start - 1} more line(s), which are read again as rows")
        if end - start == 1 or self.width is None:
            return ""
        if len(values) != self.width:
            return (f"{len(values)} fields where the header has {self.width}, over lines {start + 1}-{end}: "
                    f"a quote opened on line {start + 1} is not closed on it; the lines after it are read again as rows")
        for k in range(start + 1, end):
            alone = _alone(self.lines[k])
            if alone is not None and len(alone) == self.width and self.looks_like_row(alone):
                return (f"a quote opened on line {start + 1} is not closed on it and swallowed line {k + 1}, "
                        f"which reads as a row of its own; the lines after it are read again as rows")
        return ""
