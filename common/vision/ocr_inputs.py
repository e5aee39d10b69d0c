"""What the brand-text matcher sees from OCR lines, and the score at which image text counts as brand text. Its
own module so the OCR zoom (common.vision.ocr_zoom, inside the local backend) and the logo_ocr channel share one
firing rule without the backend importing the channel."""

from __future__ import annotations

import re

OCR_TEXT_FIRE = 0.75  # same cut as fusion's LISTING_TEXT_FIRE: every rule-backed textmatch scores >= 0.75

# OCR often drops the space between a capitalised mark and the next word ("N1KEAir", "ACMEskates", measured
# with scripts/bench_vision.py on blurred, half-size text). Splitting only at case boundaries — a lower-case
# letter before a capital, then either before the last capital of a run followed by lower case ("N1KE|Air") or
# after the whole run ("ACME|skates"): the two readings are ambiguous, so both are offered — restores the word
# without splitting words written in one case ("acmeist", "Nikel", "NIKEL" stay whole).
_LOWER_UPPER = re.compile(r"(?<=[a-z])(?=[A-Z])")
_RUN_THEN_WORD = (
    re.compile(r"(?<=[A-Z0-9]{2})(?=[A-Z][a-z])"),  # N1KEAir -> N1KE Air
    re.compile(r"(?<=[A-Z0-9]{3})(?=[a-z]{2})"),  # ACMEskates -> ACME skates
)


def case_splits(text: str) -> list[str]:
    """The distinct case-boundary readings of ``text`` other than ``text`` itself."""
    base = _LOWER_UPPER.sub(" ", text)
    out = []
    for boundary in _RUN_THEN_WORD:
        split = boundary.sub(" ", base)
        if split != text and split not in out:
            out.append(split)
    if base != text and base not in out:
        out.append(base)
    return out


def ocr_match_inputs(lines: list[str]) -> list[tuple[str, str]]:
    """What the brand-text matcher sees from OCR: each line, the lines joined (a mark split over two detected
    boxes, "Nik" | "e"), and the case-split form of any of those that changes under it."""
    texts = [*lines, " ".join(lines)] if len(lines) > 1 else list(lines)
    texts += [split for text in list(texts) for split in case_splits(text) if split not in texts]
    return [("ocr", t) for t in texts]
