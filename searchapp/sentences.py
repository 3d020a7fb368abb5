"""Example sentences (例句) for writers: the sentences of matching reports that contain the query.

A sentence ends at 。！？； or a line break.  Sentences are numbered per
document in reading order, and the document page gives each one an anchor
``#s-N`` with the same numbering, so a result can link to its sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.analysis import gram_text

_SENT = re.compile(r"[^。！？!?；;\n]*[。！？!?；;]+[”’」』）)]*|[^。！？!?；;\n]+")
MAX_SENTENCE_CHARS = 400


def split_sentences(text: str) -> list[str]:
    """Sentences of a text in reading order (white space at the ends stripped, empty ones dropped)."""
    out = []
    for m in _SENT.finditer(text or ""):
        s = m.group(0).strip()
        if s:
            out.append(s)
    return out


def paragraphs_with_sentences(text: str) -> list[list[tuple[int, str]]]:
    """Paragraphs as lists of (sentence number, sentence), numbered like :func:`split_sentences`."""
    n = 0
    paras = []
    for line in (text or "").split("\n"):
        sents = split_sentences(line)
        if not sents:
            continue
        para = []
        for s in sents:
            para.append((n, s))
            n += 1
        paras.append(para)
    return paras


def matches(sentence: str, groups: list[list[str]]) -> bool:
    """Whether the sentence contains, for every AND group, one of its strings (white space ignored)."""
    g = gram_text(sentence)
    return all(any(alt in g for alt in alts) for alts in groups if alts)


@dataclass
class Example:
    text: str
    doc_id: str
    sentence_no: int
    title: str
    region: list[str]
    year: int | None
    count: int = 1  # how many reports (copies included) contain this very sentence
    doc_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"text": self.text, "doc_id": self.doc_id, "sentence": self.sentence_no, "title": self.title,
                "region": self.region, "year": self.year, "count": self.count}


def sentence_key(sentence: str) -> str:
    """Identity of a sentence across copies: text without white space and width differences."""
    return gram_text(sentence)
