"""Exports stay data: a CSV cell never runs as a formula in a spreadsheet, and Markdown user
text never becomes a link, an image, raw HTML or a heading."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from outsourcing.exports import csv_writer, markdown_text, spreadsheet_cell

# OWASP's CSV injection list: the characters, and the same after leading whitespace.
DANGEROUS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\tplain text after a tab",
    "\rplain text after a CR",
    "\nplain text after a LF",
    ' =HYPERLINK("https://evil.example")',
    "   +cmd|' /C calc'!A0",
    " \t -2+3",
    "\u00a0@SUM(A1)",  # no-break space
    "\u3000=1+1",  # ideographic space
    "\x00=1+1",
    "\x0b@cmd",
    "\uff1d1+1",  # full-width equals, folded to "=" by some spreadsheets
    " \uff0b1",  # full-width plus
]
HARMLESS = ["", "Plain text", "a=b", "e-mail@example.com", " leading space, then words", "100%"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(value):
    assert spreadsheet_cell(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_ordinary_text_is_left_alone(value):
    assert spreadsheet_cell(value) == value


@pytest.mark.parametrize("value", [-5, Decimal("-12.50"), 0, None, date(2026, 1, 2)])
def test_numbers_and_dates_are_written_as_they_are(value):
    assert spreadsheet_cell(value) is value


def test_the_export_writer_quotes_every_dangerous_cell_of_a_row():
    out = io.StringIO()
    csv_writer(out).writerow([*DANGEROUS, *HARMLESS, Decimal("-1.00")])
    row = next(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert row[: len(DANGEROUS)] == ["'" + v for v in DANGEROUS]
    assert row[len(DANGEROUS) : -1] == HARMLESS
    assert row[-1] == "-1.00"


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("[click](https://evil.example)", r"\[click\](https://evil.example)"),
        ("![x](https://evil.example/p.png)", r"!\[x\](https://evil.example/p.png)"),
        ("<script>alert(1)</script>", r"\<script\>alert(1)\</script\>"),
        ("<https://evil.example>", r"\<https://evil.example\>"),
        ("&lt;b&gt;", r"\&lt;b\&gt;"),
        ("**bold** _it_ `code` ~~s~~", r"\*\*bold\*\* \_it\_ \`code\` \~\~s\~\~"),
        ("a | b", r"a \| b"),
        ("# Heading", r"\# Heading"),
        ("> quote", r"\> quote"),
        ("- item", r"\- item"),
        ("+ item", r"\+ item"),
        ("1. item", r"1\. item"),
        ("2) item", r"2\) item"),
        ("===", r"\==="),
        ("back\\slash", r"back\\slash"),
        ("Plain words, R and D (2026)!", "Plain words, R and D (2026)!"),
    ],
)
def test_markdown_user_text_is_literal(text, literal):
    assert markdown_text(text) == literal


def test_markdown_inline_text_stays_on_its_line():
    assert markdown_text("first\r\n# second\r<b>", inline=True) == "first # second \\<b\\>"
    assert markdown_text("first\n# second") == "first\n\\# second"
