"""Is a brand name in a title or on a label a claim ("VOLTA roadster, original") or a reference to the brand
("dust cover compatible with VOLTA", "fits VOLTA", "espresso cup, like KAFFEO")?

Marketplaces are full of listings that name a brand they are not: accessories and spare parts for it, dupes
compared with it. Seed 002's rule "brand + abnormal price = counterfeit" holds for a claim, not for a reference:
an accessory costs a fraction of the product it fits. Fusion reads the words right before and after every
occurrence of the matched name (``reference_phrase``) and, when each occurrence is a reference, does not score
the match as a brand mark (docs/detection.md, "Listings that name the brand").

Only plain spellings count: a disguised name (leetspeak "V0LTA", homoglyphs, spacing, fuzzy) is evidence of intent
to evade filters, never a reference. A counterfeiter can write "for VOLTA" too; then the image's own marks
(logo, copy, barcode, the wordmark printed without a reference phrase) still decide, as they do for an
accessory.
"""

from __future__ import annotations

import re

# Textmatch rules whose span is the name as anyone writes it (common.vision.textmatch.RULE_SCORES).
PLAIN_RULES = frozenset({"exact", "nfkc_casefold", "plural"})

# Words right before the name that make it a reference: compatibility (accessories, parts, refills), and
# comparison (dupes, alternatives). An optional determiner may follow ("fits all VOLTA bikes", "for your VOLTA").
_BEFORE = re.compile(
    r"(?:\b(?:compatible|compatibility)\s+(?:with|for|to)|\bfor\s+use\s+(?:with|on|in)|"
    r"\b(?:made|designed|suitable|suited|intended|perfect|ideal|replacement|spare|spares)\s+for|"
    r"\bworks?\s+(?:with|on)|\bfits?|\bfitting|\bsuits?|\bfor|\blike|\bunlike|"
    r"\b(?:similar|equivalent|comparable|alternative|identical)\s+to|\binspired\s+by|\bas\s+good\s+as|"
    r"\bcheaper\s+than|\bbetter\s+than|\bvs\.?|\bversus)"
    r"\s+(?:(?:the|a|an|your|my|all|any|most|every|original)\s+)?$",
    re.IGNORECASE,
)
# Words right after it: "VOLTA-compatible", "KAFFEO style", "NORDA type".
_AFTER = re.compile(
    r"^\s*-?\s*(?:compatible|style|styled|type|inspired|look[- ]?alike|dupe)\b", re.IGNORECASE
)
_SEPARATORS = re.compile(r"\s*\|\s*|\s+")  # OCR lines are joined with " | " (common.vision.channel)


def reference_phrase(text: str, span: str, rule: str = "exact") -> str | None:
    """The phrase that makes every occurrence of ``span`` in ``text`` a reference to the brand ("compatible
    with VOLTA"), or None when one of them is a claim, ``span`` is not found, or the spelling is disguised."""
    return _reading(text, span, rule)[1]


def reference_in(texts: list[str], span: str, rule: str = "exact") -> str | None:
    """``reference_phrase`` over several texts (a title and a description): the phrase when the name occurs in
    at least one of them and every occurrence in every one is a reference."""
    phrases = [phrase if occurs else "" for occurs, phrase in (_reading(t, span, rule) for t in texts if t)]
    if not any(phrases) or any(p is None for p in phrases):
        return None
    return next(p for p in phrases if p)


def _reading(text: str, span: str, rule: str) -> tuple[bool, str | None]:
    """(whether ``span`` occurs in ``text``, ``reference_phrase``'s answer): one pass over the occurrences."""
    if not span.strip():
        return False, None
    flat, found = _occurrences(text, span)
    if not found or rule not in PLAIN_RULES:
        return bool(found), None
    first: str | None = None
    for m in found:
        before = _BEFORE.search(flat[: m.start()])
        after = _AFTER.match(flat[m.end() :])
        if before is None and after is None:
            return True, None
        if first is None:
            around = (before.group(0), "") if before is not None else ("", after.group(0) if after else "")
            first = f"{around[0]}{m.group(0)}{around[1]}".strip()
    return True, first


def _occurrences(text: str, span: str) -> tuple[str, list[re.Match[str]]]:
    """``text`` with its separators flattened, and the whole-word occurrences of ``span`` in it (any case)."""
    flat, name = _SEPARATORS.sub(" ", text), _SEPARATORS.sub(" ", span.strip())
    return flat, list(re.finditer(rf"(?<![^\W_]){re.escape(name)}(?![^\W_])", flat, re.IGNORECASE))
