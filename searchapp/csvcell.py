"""Cells for CSV files that people open in spreadsheet programs.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is read as a formula by Excel, LibreOffice and Google Sheets (CSV injection),
and report text is scraped from the web, so any such cell gets a leading
apostrophe, the mark spreadsheets use for "this is text" (OWASP's advice).
"""
from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """``value`` as CSV cell text, neutralised when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values: list[Any]) -> list[str]:
    """:func:`safe_cell` over a row."""
    return [safe_cell(v) for v in values]
