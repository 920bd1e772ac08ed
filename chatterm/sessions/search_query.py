"""The query language of session search, and snippets: plain text, no SQLite, no files.

A query is words, ``"quoted phrases"`` and ``prefix*``; every one must appear in the turn
(in any of its texts). Each term becomes a quoted FTS5 string (user text never reaches
FTS5 as syntax) and a pattern that finds it here, in Python, with the tokenizer's notion
of a word (letters and digits, folded for case and diacritics as ``unicode61
remove_diacritics 2`` folds them). Snippets are cut around the matches and come back as
one line made safe with :func:`~chatterm.text.safe_text`, with the spans of the matches,
for the caller to style. Split from :mod:`chatterm.sessions.search` (the index), which,
like the search without it (:mod:`chatterm.sessions.search_scan`), uses these.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from chatterm.text import mend, safe_text

SNIPPET_CHARS = 100

Field = Literal["prompt", "reasoning", "answer"]
FIELDS: tuple[Field, ...] = ("prompt", "reasoning", "answer")
_SNIPPET_ORDER: tuple[Field, ...] = ("prompt", "answer", "reasoning")


# -- queries --------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")  # what unicode61 makes a token: letters and digits
_PIECE = re.compile(r'"([^"]*)"?(\*?)|(\S+)')


def fold(word: str) -> str:
    """A word as the index compares it: lower case, diacritics removed."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase the text must hold; ``prefix``: its last word may go on."""

    words: tuple[str, ...]  # folded
    source: str  # the words as typed, for FTS5 (which folds them as it folded the text)
    prefix: bool = False

    def fts(self) -> str:
        quoted = '"' + self.source.replace('"', '""') + '"'
        return quoted + "*" if self.prefix else quoted

    @property
    def pattern(self) -> re.Pattern[str]:
        """Where the term stands in a text: its words, whole (the last may go on if it is a
        prefix), in any case, with or without diacritics, anything but letters and digits
        between them."""
        return _term_pattern(self.words, self.prefix)


@functools.cache
def _variants() -> dict[str, str]:
    """Each letter, and the letters that fold to it (e: éèêë…), for the scripts whose
    diacritics the index removes."""
    table: dict[str, list[str]] = {}
    for code in itertools.chain(range(0xC0, 0x250), range(0x370, 0x400), range(0x1E00, 0x2000)):
        char = chr(code)
        folded = fold(char)
        if len(folded) == 1 and folded != char.lower():
            table.setdefault(folded, [folded]).append(char)
    return {base: "".join(chars) for base, chars in table.items()}


@functools.lru_cache(maxsize=64)
def _term_pattern(words: tuple[str, ...], prefix: bool) -> re.Pattern[str]:
    variants = _variants()
    parts = [
        "".join(f"[{re.escape(variants[c])}]" if c in variants else re.escape(c) for c in word)
        for word in words
    ]
    end = r"[^\W_]*" if prefix else r"(?![^\W_])"
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(parts) + end, re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Query:
    terms: tuple[Term, ...]

    def fts(self) -> str:
        """The FTS5 query: every term quoted, all of them required."""
        return " ".join(term.fts() for term in self.terms)

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse_query(text: str) -> Query:
    """Words, ``"quoted phrases"`` (an unclosed quote runs to the end) and ``prefix*``;
    anything without a letter or a digit is left out."""
    terms: list[Term] = []
    for match in _PIECE.finditer(text):
        quoted, star, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            source, prefix = bare.rstrip("*"), bare.endswith("*")
        else:
            source, prefix = quoted, bool(star)
        found = _WORD.findall(mend(source))
        if found:
            # FTS5 sees only the words (letters and digits), never the user's punctuation.
            terms.append(Term(tuple(fold(word) for word in found), " ".join(found), prefix))
    return Query(tuple(terms))


# -- snippets ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snippet:
    """One line of a turn's text around a match: safe to show, ``spans`` the matches."""

    field: Field
    text: str
    spans: tuple[tuple[int, int], ...]


def turn_matches(query: Query, texts: Sequence[str]) -> bool:
    """Whether every term is in one of ``texts`` (a turn's prompt, reasoning, answer)."""
    return all(any(term.pattern.search(text) for text in texts) for term in query.terms)


def make_snippet(query: Query, texts: dict[Field, str], width: int = SNIPPET_CHARS) -> Snippet:
    """A line of the text that holds most of the terms (the prompt first, then the answer,
    then the reasoning), around its first match, with every match in it marked."""
    best: tuple[int, Field, int] | None = None  # terms found, field, first match
    for name in _SNIPPET_ORDER:
        found = [m.start() for term in query.terms if (m := term.pattern.search(texts[name]))]
        if found and (best is None or len(found) > best[0]):
            best = (len(found), name, min(found))
            if len(found) == len(query.terms):
                break
    if best is None:  # the index and this reading of words disagree: show the start
        name = next((n for n in _SNIPPET_ORDER if texts[n].strip()), "prompt")
        return _snippet_of(name, texts[name], 0, width, ())
    _, name, first = best
    text = texts[name]
    start = 0 if first <= width * 3 // 4 else first - width // 4  # from the start if it fits
    if start:
        space = _SPACE.search(text, start, first)  # start on a word
        start = space.end() if space is not None else first
    window = text[: start + width * 2]
    spans = [m.span() for term in query.terms for m in term.pattern.finditer(window, start)]
    return _snippet_of(name, text, start, width, spans)


_SPACES = re.compile(r"\s+")
_SPACE = re.compile(r"\s")


def _snippet_of(
    name: Field, text: str, start: int, width: int, matches: Sequence[tuple[int, int]]
) -> Snippet:
    """``text`` from ``start`` as one line of about ``width`` characters, with
    ``matches`` (offsets in ``text``) as spans of the line."""
    pieces: list[tuple[str, bool]] = []
    at = start
    for begin, end in sorted(matches):
        if begin >= at:
            pieces += [(text[at:begin], False), (text[begin:end], True)]
            at = end
    pieces.append((text[at:], False))
    line = "…" if start else ""
    spans: list[tuple[int, int]] = []
    cut = False
    for index, (piece, marked) in enumerate(pieces):
        room = width - len(line)
        if room <= 0:
            cut = any(rest.strip() for rest, _ in pieces[index:])
            break
        sample = piece if marked else piece[: room * 4 + 8]  # whitespace may shrink
        shown = safe_text(_SPACES.sub(" ", sample))
        if line in ("", "…"):
            shown = shown.lstrip()
        if not marked and (len(shown) > room or len(sample) < len(piece)):
            line += shown[:room].rstrip()
            cut = True
            break
        if marked:
            spans.append((len(line), len(line) + len(shown)))
        line += shown
    line = line.rstrip()
    return Snippet(name, line + "…" if cut else line, tuple(spans))
