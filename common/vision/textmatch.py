"""Brand-text matching: does a piece of text (title, description, OCR output) name a registered trademark,
possibly disguised? One rule per evasion trick, each with its own score, so evidence says *how* it matched.

Word-boundary policy (why "acmeist" and "Nikel" do not fire): text is cut into tokens (letter/digit runs; CJK
characters are single tokens, so "正品Nike运动鞋" still yields "nike"); a mark matches only a run of *whole*
tokens. Ordinary words that merely contain a mark ("acmeist", "Nikel", "Nikes") are different tokens and are
not hits. Two deliberate exceptions: the possessive ("Nike's" -> token "Nike") and the plural of a mark of at
least PLURAL_MIN_LEN letters ("Nikes", rule "plural"; "gaps" stays clear for "Gap"), because sellers write
"authentic Nikes". Fuzzy matching is off for short marks because one edit turns a 4-letter mark into ordinary
words ("nikel", "mike"). CJK marks are matched as contiguous characters.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from confusable_homoglyphs import categories, confusables
from rapidfuzz.distance import OSA

# Scores per rule: confidence that the text names the mark. Deliberate disguises (spacing, leetspeak,
# homoglyphs) are strong evidence of intent, so they score close to a plain mention; fuzzy is weakest because
# ordinary words can sit one edit away from a mark ("channel" vs "Chanel").
RULE_SCORES: dict[str, float] = {
    "exact": 1.0,
    "nfkc_casefold": 0.97,
    "mixed_script": 0.95,
    "confusable": 0.92,
    "spacing": 0.9,
    "leetspeak": 0.9,
    "plural": 0.88,
    "fuzzy": 0.75,  # minus FUZZY_STEP per extra edit
}
FUZZY_STEP = 0.1
# Length-aware fuzzy thresholds (optimal-string-alignment edits, transposition = 1): no fuzzy below 5 letters
# (one edit from "nike" gives "nikel", "bike", "mike"); 1 edit for 5-7 letters; 2 edits from 8 letters.
FUZZY_MIN_LEN = 5
FUZZY_TWO_EDITS_LEN = 8
PLURAL_MIN_LEN = 4  # "gaps" must not count as the mark "Gap"
MAX_WINDOW_TOKENS = 16  # "L o u i s V u i t t o n" is 12 tokens
LEET: dict[str, str] = {
    "0": "o",
    "1": "il",
    "2": "z",
    "3": "e",
    "4": "a",
    "5": "s",
    "6": "g",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "|": "il",
    "!": "i",
    "€": "e",
    "+": "t",
}
# UTS #39 maps some letter pairs to one prototype ("rn" looks like "m").
MULTI_CHAR_SKELETON = (("rn", "m"), ("vv", "w"), ("cl", "d"))
SKELETON_SLACK = 3  # a window may be this many letters longer than the mark and still skeleton to it ("rn")
# After case folding, capital I and l are one glyph in most sans-serif fonts (UTS #39 maps I -> l); we fold both
# to "i" so "NIKE", "ΝΙΚΕ" (Greek) and "Nlke" share a skeleton. Digits stay to the leetspeak rule.
FOLDED_LOOKALIKES = str.maketrans({"l": "i", "|": "i"})
_CJK_RANGES = ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F), (0x3040, 0x30FF))
_WORD = re.compile(r"[^\W_]+")
_LEET_WORD = re.compile(r"[^\W_]*(?:[@$|!€+][^\W_]*)+[^\W_]*|[^\W_]+")


@dataclass(frozen=True)
class TextMatch:
    trademark: str
    source: str  # where the text came from: "title", "description", "ocr", ...
    text: str  # the matched span as it appears in the source
    score: float
    rule: str


@dataclass(frozen=True)
class _Token:
    folded: str
    start: int  # span in the raw (NFC) text
    end: int


def _is_cjk(ch: str) -> bool:
    if ord(ch) < _CJK_RANGES[0][0]:
        return False
    return any(lo <= ord(ch) <= hi for lo, hi in _CJK_RANGES)


def fold(text: str) -> str:
    """NFKC + casefold: fullwidth, ligatures, mathematical letters and case collapse to plain forms."""
    return unicodedata.normalize("NFKC", text).casefold()


def _tokens(raw: str, pattern: re.Pattern[str]) -> list[_Token]:
    out: list[_Token] = []
    for m in pattern.finditer(raw):
        run_start = m.start()
        for i, ch in enumerate(m.group()):
            if _is_cjk(ch):  # CJK: each character is a token, no spaces between words
                if run_start < m.start() + i:
                    out.append(_Token(fold(raw[run_start : m.start() + i]), run_start, m.start() + i))
                out.append(_Token(fold(ch), m.start() + i, m.start() + i + 1))
                run_start = m.start() + i + 1
        if run_start < m.end():
            out.append(_Token(fold(raw[run_start : m.end()]), run_start, m.end()))
    return out


@functools.cache
def _ascii_prototype(ch: str) -> str:
    """Direct homoglyph -> ASCII prototype (UTS #39 style, one step, no transitive chains)."""
    if ch.isascii():
        return ch
    best = ""
    for glyph in confusables.confusables_data.get(ch, []):
        c = glyph["c"].strip("\u200e")
        if len(c) == 1 and c.isascii() and c.isalpha():
            best = c.lower()
            break
    return best or ch


def _prototype(ch: str) -> str:
    proto = _ascii_prototype(ch)
    return proto if proto != ch else _ascii_prototype(ch.casefold()[:1] or ch)


@functools.lru_cache(maxsize=65536)
def _skeleton_chars(text: str) -> str:
    """First stage of the skeleton (per character), cached: tokens repeat a lot in long descriptions."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text))
    return "".join(_prototype(c) for c in decomposed if not unicodedata.combining(c))


def _token_skeletons(raw: str, token: _Token) -> tuple[str, str]:
    """Skeleton of one token as written and after folding (see _classify_window)."""
    return _skeleton_pair(raw[token.start : token.end], token.folded)


@functools.lru_cache(maxsize=65536)
def _skeleton_pair(written: str, folded: str) -> tuple[str, str]:
    return skeleton(written), skeleton(folded)


def _skeleton_finish(mapped: str) -> str:
    mapped = fold(mapped).translate(FOLDED_LOOKALIKES)
    for pair, proto in MULTI_CHAR_SKELETON:
        mapped = mapped.replace(pair, proto)
    return mapped


def skeleton(text: str) -> str:
    """UTS #39-style skeleton: NFKC, NFD, homoglyphs to ASCII prototypes (before case folding: Greek "Ν" looks
    like "N", its lower case "ν" like "v"), combining marks dropped (an extension: "Nikè" skeletons like
    "Nike"), casefold, then multi-letter look-alikes ("rn" -> "m")."""
    return _skeleton_finish(_skeleton_chars(text))


def _compact(s: str) -> str:
    return "".join(ch for ch in fold(s) if ch.isalnum())


def _leet_equal(candidate: str, mark: str) -> bool:
    """Same length, each char equal or a leetspeak stand-in, at least one stand-in used, and at least one
    letter kept as is (a price such as "8055" is not the mark "BOSS"; "B055" is)."""
    if len(candidate) != len(mark) or candidate == mark:
        return False
    if not any(c == m and c.isalpha() for c, m in zip(candidate, mark, strict=True)):
        return False
    used = False
    for c, m in zip(candidate, mark, strict=True):
        if c == m:
            continue
        if m in LEET.get(c, ""):
            used = True
            continue
        return False
    return used


def _separators_ok(raw: str, tokens: Sequence[_Token]) -> bool:
    """Guard for the spacing rule on one-word marks: "any one" must not match a mark "Anyone". Fire only if a
    separator is punctuation ("N.I.K.E") or some piece is at most 2 characters ("Nik e", "Ni ke")."""
    seps = [raw[a.end : b.start] for a, b in zip(tokens, tokens[1:], strict=False)]
    return any(s.strip() for s in seps) or any(len(t.folded) <= 2 for t in tokens)


def _window_ok(raw: str, window: Sequence[_Token], mark: _Mark) -> bool:
    """A multi-token window may stand for the mark if the mark itself has that many words, or the split looks
    deliberate (see _separators_ok)."""
    return len(window) == 1 or len(window) == len(mark.tokens) or _separators_ok(raw, window)


def _is_mixed_script(span: str) -> bool:
    aliases = {a for a in categories.unique_aliases(span) if a not in ("COMMON", "INHERITED")}
    return len(aliases) > 1


@dataclass(frozen=True)
class _Mark:
    raw: str
    tokens: tuple[str, ...]
    compact: str
    skeletons: frozenset[str]  # of the mark as written, upper- and lower-cased (UTS #39 maps "I" to "l")


def _prepare_mark(trademark: str) -> _Mark:
    raw = unicodedata.normalize("NFC", trademark.strip())
    toks = tuple(t.folded for t in _tokens(raw, _WORD))
    bare = "".join(ch for ch in raw if ch.isalnum())
    skels = frozenset(skeleton(v) for v in (bare, bare.upper(), bare.lower()))
    return _Mark(raw, toks, "".join(toks), skels)


def _classify_window(raw: str, window: Sequence[_Token], mark: _Mark) -> str | None:
    span = raw[window[0].start : window[-1].end]
    folded = tuple(t.folded for t in window)
    joined = "".join(folded)
    seps = [raw[a.end : b.start] for a, b in zip(window, window[1:], strict=False)]
    mark_seps_blank = (
        all(not s for s in seps) if all(len(t) == 1 and _is_cjk(t) for t in mark.tokens) else None
    )
    if joined == mark.compact:
        if span == mark.raw:
            return "exact"
        same_split = folded == mark.tokens and all(not s.strip() for s in seps)
        if same_split and mark_seps_blank is not False:
            return "nfkc_casefold"
        if _window_ok(raw, window, mark):
            return "spacing"
        return None
    if len(window) == 1 and len(mark.compact) >= PLURAL_MIN_LEN and joined in (mark.compact + "s",):
        return "plural"
    if not len(mark.compact) - 1 <= len(joined) <= len(mark.compact) + SKELETON_SLACK:
        return None
    as_written = _skeleton_finish("".join(_skeleton_chars(raw[t.start : t.end]) for t in window))
    folded_first = _skeleton_finish("".join(_skeleton_chars(t.folded) for t in window))
    if {as_written, folded_first} & mark.skeletons and _window_ok(raw, window, mark):
        return "mixed_script" if _is_mixed_script(span) else "confusable"
    return None


def _fuzzy_score(candidate: str, mark: _Mark) -> float | None:
    n = len(mark.compact)
    if n < FUZZY_MIN_LEN or not mark.compact.isalpha() or not candidate.isalpha():
        return None
    max_edits = 2 if n >= FUZZY_TWO_EDITS_LEN else 1
    dist = OSA.distance(candidate, mark.compact, score_cutoff=max_edits)
    if dist == 0 or dist > max_edits:
        return None
    return RULE_SCORES["fuzzy"] - FUZZY_STEP * (dist - 1)


def _match_one(
    source: str, raw: str, mark: _Mark, words: Sequence[_Token], leet: Sequence[_Token]
) -> TextMatch | None:
    best: TextMatch | None = None

    def offer(span: str, rule: str, score: float | None = None) -> None:
        nonlocal best
        s = RULE_SCORES[rule] if score is None else score
        if best is None or s > best.score:
            best = TextMatch(trademark=mark.raw, source=source, text=span, score=s, rule=rule)

    limit = min(MAX_WINDOW_TOKENS, max(len(mark.compact), len(mark.tokens)))
    fuzzy_span = max(2, len(mark.tokens))
    for i, head in enumerate(words):
        # Cheap gate: unless the first token could start the mark (as folded text or as a skeleton) or be its
        # plural, only the fuzzy rule can apply. Keeps long descriptions fast.
        promising = (
            mark.compact.startswith(head.folded)
            or head.folded.startswith(mark.compact)
            or any(sk.startswith(p) for sk in mark.skeletons for p in _token_skeletons(raw, head))
        )
        length = 0
        for j in range(i + 1, min(len(words), i + limit) + 1):
            window = words[i:j]
            length += len(window[-1].folded)
            if length > len(mark.compact) + SKELETON_SLACK or (not promising and j - i > fuzzy_span):
                break
            rule = _classify_window(raw, window, mark) if promising else None
            if rule:
                offer(raw[window[0].start : window[-1].end], rule)
            elif len(window) <= fuzzy_span and _window_ok(raw, window, mark):
                fz = _fuzzy_score("".join(t.folded for t in window), mark)
                if fz is not None:
                    offer(raw[window[0].start : window[-1].end], "fuzzy", fz)
    for i, tok in enumerate(leet):
        for j in range(i + 1, min(len(leet), i + limit) + 1):
            window = leet[i:j]
            joined = "".join(t.folded for t in window).rstrip("!")
            if len(joined) > len(mark.compact) + 1:
                break
            if _leet_equal(joined, mark.compact) and _window_ok(raw, window, mark):
                offer(raw[tok.start : window[-1].end], "leetspeak")
    return best


def match_brand_text(texts: Sequence[tuple[str, str]], trademarks: Sequence[str]) -> list[TextMatch]:
    """Best match per (trademark, source), strongest first. ``texts`` are (source, text) pairs."""
    marks = [_prepare_mark(t) for t in trademarks if _compact(t)]
    found: list[TextMatch] = []
    for source, text in texts:
        if not text:
            continue
        raw = unicodedata.normalize("NFC", text)
        words, leet = _tokens(raw, _WORD), _tokens(raw, _LEET_WORD)
        for mark in marks:
            hit = _match_one(source, raw, mark, words, leet)
            if hit is not None:
                found.append(hit)
    return sorted(found, key=lambda m: (-m.score, m.trademark, m.source))


def best_text_score(matches: Sequence[TextMatch]) -> tuple[float, TextMatch | None]:
    """(score, match) of the strongest match, or (0.0, None) when nothing matched."""
    if not matches:
        return 0.0, None
    top = max(matches, key=lambda m: m.score)
    return top.score, top
