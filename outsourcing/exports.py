"""Text that leaves the app as a file: CSV cells a spreadsheet will open, Markdown a viewer
will render. User text in either must stay text."""

import csv
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# OWASP's CSV injection list: a cell a spreadsheet may run as a formula starts with one of
# these, or with one of the first four after leading whitespace or control characters
# (" =1+1", "\t=1+1", "\r=1+1", "\x00=1+1"). The full-width forms are there because some
# spreadsheets fold them to the ASCII ones.
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
BLANK_STARTS = frozenset("\t\r\n")


def _is_blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] == "C"


def spreadsheet_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when a spreadsheet would read the text as a formula.

    Only text is touched: numbers, dates and decimals are written as they are.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in BLANK_STARTS:
        return "'" + value
    first = next((c for c in value if not _is_blank(c)), "")
    return "'" + value if first in FORMULA_STARTS else value


class SpreadsheetSafeWriter:
    """``csv.writer`` whose every text cell goes through ``spreadsheet_cell``."""

    def __init__(self, file, **kwargs) -> None:
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([spreadsheet_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(file, **kwargs) -> SpreadsheetSafeWriter:
    """The CSV writer of every export: formulas in user text are neutralised."""
    return SpreadsheetSafeWriter(file, **kwargs)


# Markdown: backslash-escape what makes links and images (brackets: a "(" is harmless without
# them), emphasis, code, raw HTML and autolinks, entities and table cells; and, in a paragraph,
# the characters that open a block (heading, quote, list, setext underline) at a line start.
_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_BLOCK_START = re.compile(r"^(\s*)([#>+\-=])", re.MULTILINE)
_ORDERED_START = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def markdown_text(value: Any, *, inline: bool = False) -> str:
    """``value`` as literal Markdown text. ``inline`` is for text placed after something on
    its line (a heading, a list item, a table cell): line breaks fold into spaces, so no
    line of it can start a block."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INLINE.sub(r"\\\1", text)
    if inline:
        return " ".join(text.split("\n"))
    text = _BLOCK_START.sub(r"\1\\\2", text)
    return _ORDERED_START.sub(r"\1\\\2", text)
