"""A fast, exact ``unicodedata.normalize("NFKC", text)`` for Chinese report text.

Why: NFKC over a whole report costs ~0.25 s per MB because report text is
almost never already in NFKC form.  The culprits are a handful of full-width
punctuation marks and digits (，；：（）％１２…), and one of them is enough for
CPython to give up its quick check and normalise every character the slow way.

How, and why it is exact: NFKC(s) is canonical composition of NFKD(s), and
NFKD(s) is the canonical reordering of every character replaced by its full
compatibility decomposition.  Replacing a character ``c`` by ``NFKD(c)``
beforehand therefore leaves NFKD(s), and so NFKC(s), unchanged, whatever its
neighbours are.  We do that replacement (a few ``str.replace`` calls, one per
distinct offending character) for characters whose decomposition is already
final (``NFKC(c) == NFKD(c)``), after which the text usually passes CPython's
quick check and ``unicodedata.normalize`` returns almost at once.  Any
character outside the table still gets the full, slow treatment, so the result
is always exactly NFKC.  ``tests/equivalence/test_text_fast_paths.py`` checks this on random
mixed-script strings.
"""
from __future__ import annotations

import re
import unicodedata

# Blocks where report text meets compatibility characters: Latin-1 (NBSP, ²), General
# Punctuation (…), letter-like and number forms (Ⅱ), enclosed numbers (①⑵), CJK symbols
# (ideographic space), enclosed/compatibility CJK, compatibility ideographs, vertical and
# small forms, and the half-/full-width block (，１Ａ).
_RANGES = ((0x00A0, 0x0100), (0x2000, 0x2070), (0x2100, 0x2190), (0x2460, 0x2500), (0x3000, 0x3040),
           (0x3200, 0x3400), (0xF900, 0xFB00), (0xFE30, 0xFE70), (0xFF00, 0xFFF0))


def _build_table() -> dict[str, str]:
    """char → its NFKD form, for characters whose NFKD form is also their NFKC form."""
    table: dict[str, str] = {}
    for lo, hi in _RANGES:
        for cp in range(lo, hi):
            c = chr(cp)
            d = unicodedata.normalize("NFKD", c)
            if d != c and unicodedata.normalize("NFKC", c) == d:
                table[c] = d
    return table


_DECOMPOSE = _build_table()
_DECOMPOSABLE = re.compile("[" + "".join(re.escape(c) for c in sorted(_DECOMPOSE)) + "]")


def nfkc(text: str) -> str:
    """Exactly ``unicodedata.normalize("NFKC", text)``, several times faster on Chinese prose."""
    found = _DECOMPOSABLE.findall(text)
    if found:
        table = _DECOMPOSE
        for c in set(found):
            text = text.replace(c, table[c])
    return unicodedata.normalize("NFKC", text)
