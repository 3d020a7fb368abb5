"""Example sentences (例句) for writers: whole sentences of matching reports that contain the query.

A writer pastes what this gives, so it must be a whole sentence:

* A sentence ends at 。！？ (with a closing quote or bracket after it), or where
  its paragraph ends.  A semicolon does not end one: ``一是…；二是…。`` is one
  sentence, and cutting it at ``；`` would give fragments.
* A line break inside a sentence is not an end.  Cleaning joins most such
  breaks; what is left is joined here when the evidence is strong: the line
  ends with a comma-like mark, the next line starts with one or with a
  one-character clause (``现|象，就会``), a number runs on (``74.4|万亿元``), or a
  word runs across the break (jieba finds a word such as 劳动生产率 spanning
  it).  A line that merely lacks its final 。 stays a paragraph of its own.
  ``python -m searchapp.sentence_eval`` measures both decisions on hand-labelled
  lines from the corpora (``tests/data/sentence_units.json``).
* A heading is not a sentence.  ``三、存在问题`` or ``（二）加强队伍建设`` (an
  enumerator and a short text without inner punctuation, or any short line
  without punctuation) is marked as a heading; when a heading matches the
  query, the example is the text under it (``存在问题：（一）…（二）…``), up to
  the next heading of the same or a higher level.

Sentences are numbered per document in reading order; the document page renders
the same segmentation and gives each sentence an anchor ``#s-N``, so a result
links to its very sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.analysis import cut, gram_text

_SENT = re.compile(r"[^。！？!?\n]*[。！？!?]+[”’」』）)\]]*|[^。！？!?\n]+")
MAX_SENTENCE_CHARS = 400  # a longer "sentence" is a run-on block of text, not something to paste
MAX_BODY_CHARS = 300  # text under a matching heading: whole sentences up to about this length
MAX_HEADING_CHARS = 30  # an enumerated line longer than this is a sentence that starts with a number
MAX_PLAIN_HEADING_CHARS = 20  # an unnumbered line of its own, without punctuation, is a heading up to this
CONTEXT_SENTENCES = 2  # sentences shown before and after an example when it is expanded

# Enumerators of sections, most general first; the index is the heading's level.
_ENUMERATORS = [
    r"第[一二三四五六七八九十百零〇\d]+[章节部分篇]",
    r"[一二三四五六七八九十百]+\s*[、.．]",
    r"第[一二三四五六七八九十百]+\s*[，,、]",
    r"[（(]\s*[一二三四五六七八九十百]+\s*[)）]",
    r"\d{1,2}\s*[、.．](?!\d)",
    r"[（(]\s*\d{1,2}\s*[)）]",
    r"[①-⑳]",
    r"[A-Za-z]\s*[、.．](?![A-Za-z])",
]
_ENUM_ANY = re.compile(r"^\s*(?:" + "|".join(f"(?P<l{i}>{e})" for i, e in enumerate(_ENUMERATORS)) + r")\s*")
_LONGEST_HEADING = MAX_HEADING_CHARS + 10 + 12  # rest + a long enumerator (第十二部分) + final marks
PLAIN_LEVEL = 1  # an unnumbered heading line counts as a top-level section
_INNER = re.compile(r"[，,；;：:。！？!?]")
_TRAILING = "。.：:；;！!？?，, \u3000"
_TERMINAL_END = re.compile(r"[。！？!?；;：:…][”’」』）)\]]*$")
_OPEN_END = re.compile(r"[，,、（(“「《—-]$")
_CONT_START = re.compile(r"^[，,、。；;：:！!？?）)”」》%％]")
_ONE_CHAR_CLAUSE = re.compile(r"^[\u4e00-\u9fff][，,、。；;]")  # "象，就会…": no sentence starts so
_NUMBER_END = re.compile(r"[0-9０-９.．A-Za-z]$")
_NUMBER_GOES_ON = re.compile(r"^[0-9０-９.．A-Za-z%％万亿千百元个]")


@dataclass(frozen=True)
class Sentence:
    """One sentence (or heading) of a document, numbered in reading order."""

    n: int
    text: str
    heading_level: int | None = None  # None for a sentence; the section level for a heading

    @property
    def heading(self) -> bool:
        return self.heading_level is not None


def heading_level(sentence: str, alone: bool) -> int | None:
    """The section level when ``sentence`` is a bare heading, else None.

    ``alone``: the sentence is its paragraph's only one (a line of its own).
    """
    if len(sentence) > _LONGEST_HEADING:
        return None
    core = sentence.strip().rstrip(_TRAILING)
    if not core or _OPEN_END.search(sentence.strip()):
        return None  # a line ending in a comma goes on: it is never a heading
    m = _ENUM_ANY.match(core)
    if m:
        level = int((m.lastgroup or "l0")[1:])
        rest = core[m.end():]
        if len(rest) <= MAX_HEADING_CHARS and not _INNER.search(rest):
            return level
        # "（九）坚持转变政府职能，努力建设廉洁勤政务实高效政府" on a line of its own, no final 。
        if alone and len(rest) <= MAX_HEADING_CHARS + 10 and not _TERMINAL_END.search(sentence.strip()):
            return level
        return None
    if alone and len(core) <= MAX_PLAIN_HEADING_CHARS and not _INNER.search(core) \
            and not _TERMINAL_END.search(sentence.strip()):
        return PLAIN_LEVEL
    return None


def heading_label(heading: str) -> str:
    """A heading without its enumerator and final mark: ``三、存在问题。`` → ``存在问题``."""
    core = heading.strip().rstrip(_TRAILING)
    if m := _ENUM_ANY.match(core):
        return core[m.end():].strip() or core
    return core


def _word_spans_break(left: str, right: str) -> bool:
    """Whether jieba cuts a word across the end of ``left`` and the start of ``right`` (劳动生|产率)."""
    a, b = left[-6:], right[:6]
    if not a or not b:
        return False
    pos = 0
    for w in cut(a + b):
        end = pos + len(w)
        if pos < len(a) < end and len(w) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in w):
            return True
        pos = end
    return False


def continues_sentence(prev: str, nxt: str) -> bool:
    """Whether the line break between ``prev`` and ``nxt`` falls inside a sentence."""
    if _TERMINAL_END.search(prev) or not nxt:
        return False
    if _CONT_START.match(nxt):
        return True  # no sentence starts with a comma or a closing bracket
    if heading_level(prev, True) is not None or _ENUM_ANY.match(nxt):
        return False
    if _OPEN_END.search(prev) or _ONE_CHAR_CLAUSE.match(nxt):
        return True
    if _NUMBER_END.search(prev) and _NUMBER_GOES_ON.match(nxt) and len(prev) > MAX_PLAIN_HEADING_CHARS:
        return True  # 74.4|万亿元, PM|2.5: a number or a code cut in two
    return _word_spans_break(prev, nxt)


def join_broken_lines(text: str) -> list[str]:
    """The text's paragraphs (non-empty lines), with line breaks inside a sentence joined."""
    out: list[str] = []
    for raw in (text or "").split("\n"):
        line = raw.strip()
        if not line:
            continue
        if out and continues_sentence(out[-1], line):
            sep = " " if out[-1][-1:].isascii() and out[-1][-1:].isalnum() and line[:1].isascii() \
                and line[:1].isalnum() else ""
            out[-1] = out[-1] + sep + line
        else:
            out.append(line)
    return out


def _split(paragraph: str) -> list[str]:
    return [s for s in (m.group(0).strip() for m in _SENT.finditer(paragraph)) if s]


def paragraphs(text: str) -> list[list[Sentence]]:
    """The document as paragraphs of numbered sentences and headings (what the document page shows)."""
    n = 0
    out: list[list[Sentence]] = []
    for para in join_broken_lines(text):
        parts = _split(para)
        row = []
        for s in parts:
            row.append(Sentence(n, s, heading_level(s, alone=len(parts) == 1)))
            n += 1
        out.append(row)
    return out


def sentences_of(text: str) -> list[Sentence]:
    """Every sentence and heading of a text in reading order, numbered like :func:`paragraphs`."""
    return [s for para in paragraphs(text) for s in para]


def matches(sentence: str, groups: list[list[str]]) -> bool:
    """Whether the sentence contains, for every AND group, one of its strings (white space ignored)."""
    if all(any(alt in sentence for alt in alts) for alts in groups if alts):
        return True  # as written (the strings are normalised already): no need to normalise the sentence
    g = gram_text(sentence)
    return all(any(alt in g for alt in alts) for alts in groups if alts)


def body_under(sents: list[Sentence], i: int) -> list[int]:
    """Indexes of the sentences under heading ``sents[i]``: up to the next heading of its level or higher.

    Sub-headings are part of the body (``存在问题`` is followed by ``（一）…（二）…``).
    Whole sentences are taken up to about :data:`MAX_BODY_CHARS`.
    """
    level = sents[i].heading_level
    assert level is not None
    out: list[int] = []
    size = 0
    for j in range(i + 1, len(sents)):
        s = sents[j]
        if s.heading_level is not None and s.heading_level <= level:
            break
        if out and size + len(s.text) > MAX_BODY_CHARS:
            break
        out.append(j)
        size += len(s.text)
    return out


def _cap(text: str) -> str:
    return text if len(text) <= MAX_SENTENCE_CHARS else text[:MAX_SENTENCE_CHARS].rstrip() + "…"


@dataclass
class Found:
    """One example inside one document: its text, the heading it stands under, and its context."""

    text: str
    sentence_no: int  # the anchor on the document page (the heading's, for text under a heading)
    heading: str | None
    before: list[str]
    after: list[str]


def find_examples(text: str, groups: list[list[str]], title: str = "") -> tuple[list[Found], str | None]:
    """The examples a document gives for the query groups, and, when none, why (a reason key).

    Reason keys: ``too_long`` (only run-on blocks contain it), ``heading_only`` (only headings
    with nothing under them), ``in_title`` (only the report's title has it), ``scattered``
    (the report matched through the words of the query, spread over several sentences).
    """
    if not matches(text, groups):  # no sentence can hold what the whole text lacks: skip the segmenting
        return [], "in_title" if title and matches(title, groups) else "scattered"
    paras = paragraphs(text)
    sents = [s for para in paras for s in para]
    # a sentence can only match inside a paragraph that matches (one normalisation per paragraph)
    candidates = {s.n for para in paras if matches("".join(x.text for x in para), groups) for s in para}
    found: list[Found] = []
    covered: set[int] = set()
    reasons: set[str] = set()
    for i, s in enumerate(sents):
        if i in covered or i not in candidates or not matches(s.text, groups):
            continue
        if s.heading:
            body = body_under(sents, i)
            if not body:
                reasons.add("heading_only")
                continue
            covered.update(body)
            first, last = i, body[-1]
            example = _cap("".join(sents[j].text for j in body))
            heading: str | None = s.text.rstrip("。.；;：:")
        else:
            if len(s.text) > MAX_SENTENCE_CHARS:
                reasons.add("too_long")
                continue
            first = last = i
            example, heading = s.text, None
        found.append(Found(
            text=example, sentence_no=s.n, heading=heading,
            before=[_cap(x.text) for x in sents[max(0, first - CONTEXT_SENTENCES):first]],
            after=[_cap(x.text) for x in sents[last + 1:last + 1 + CONTEXT_SENTENCES]],
        ))
    if found:
        return found, None
    for key in ("heading_only", "too_long"):
        if key in reasons:
            return [], key
    return [], "in_title" if title and matches(title, groups) else "scattered"


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
    heading: str | None = None  # the heading the text stands under, when the heading matched
    before: list[str] = field(default_factory=list)  # sentences just before (context)
    after: list[str] = field(default_factory=list)  # sentences just after

    @property
    def quote(self) -> str:
        """What a writer pastes: the sentence, or ``heading：text`` for text under a matching heading."""
        return f"{heading_label(self.heading)}：{self.text}" if self.heading else self.text

    def permalink(self, base_url: str) -> str:
        """The sentence inside its document (``base_url`` is the site's root, without a final /)."""
        return f"{base_url}/doc/{self.doc_id}#s-{self.sentence_no}"

    def citation(self, base_url: str) -> str:
        """The source line: ``——《title》，region，year年，link``."""
        parts = [f"《{self.title}》"]
        if self.region:
            parts.append("".join(self.region))
        if self.year:
            parts.append(f"{self.year}年")
        parts.append(self.permalink(base_url))
        return "——" + "，".join(parts)

    def copy_text(self, base_url: str) -> str:
        """The quote with its citation on the next line: what the copy button puts on the clipboard."""
        return f"{self.quote}\n{self.citation(base_url)}"

    def as_json(self, base_url: str | None = None) -> dict:
        out = {"text": self.text, "doc_id": self.doc_id, "sentence": self.sentence_no, "title": self.title,
               "region": self.region, "year": self.year, "count": self.count, "heading": self.heading,
               "before": self.before, "after": self.after}
        if base_url is not None:
            out["url"] = self.permalink(base_url)
            out["citation"] = self.copy_text(base_url)
        return out


def sentence_key(sentence: str) -> str:
    """Identity of a sentence across copies: text without white space and width differences."""
    return gram_text(sentence)


NO_SENTENCE_REASONS = {
    "scattered": "这些报告是按检索词的各个部分找到的：这些部分分散在不同的句子里，没有一个句子完整包含检索词。",
    "in_title": "检索词只出现在这些报告的标题里，正文的句子中没有。",
    "heading_only": "检索词只出现在小标题中，且标题下没有正文。",
    "too_long": "包含检索词的段落没有句号，超过 {max} 字，不能作为一个例句。",
}


def no_sentence_reason(reason_counts: dict[str, int]) -> str:
    """Why a query found reports but no example sentence, in words for the page."""
    if not reason_counts:
        return ""
    key = max(reason_counts, key=lambda k: (reason_counts[k], k))
    return NO_SENTENCE_REASONS[key].format(max=MAX_SENTENCE_CHARS)
