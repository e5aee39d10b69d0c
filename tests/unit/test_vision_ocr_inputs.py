"""What the brand-text matcher sees from OCR: lines, their join, and case-boundary splits for the words OCR
glues together on blurred text (measured in scripts/bench_vision.py: 'N1KEAir', 'ACMEskates')."""

import pytest

from common.vision.backends import VisionResult
from common.vision.channel import ocr_text_signal
from common.vision.ocr import OcrLine
from common.vision.ocr_inputs import case_splits, ocr_match_inputs


def _result(*texts: str) -> VisionResult:
    result = VisionResult(backend="local")
    result.text = [OcrLine(text=t, confidence=0.9, box=(0, 0, 10, 10)) for t in texts]
    return result


@pytest.mark.parametrize(
    ("read", "mark", "rule"),
    [("N1KEAir", "Nike", "leetspeak"), ("ACMEskates", "ACME", "exact"), ("GreatACMEdeal", "ACME", "exact")],
)
def test_glued_words_from_ocr_still_match(read, mark, rule):
    signal = ocr_text_signal(_result(read), [mark])
    assert signal.status == "fired" and signal.detail["rule"] == rule, signal


@pytest.mark.parametrize(
    ("read", "mark"),
    [
        ("acmeist manifesto", "ACME"),
        ("Nikel plated", "Nike"),
        ("NIKEL plated", "Nike"),
        ("mike rode a bike", "Nike"),
    ],
)
def test_words_in_one_case_are_never_split(read, mark):
    assert case_splits(read) == []
    assert ocr_text_signal(_result(read), [mark]).status == "clear"


def test_inputs_keep_lines_and_their_join_first():
    assert ocr_match_inputs(["Nik", "e Air"]) == [("ocr", "Nik"), ("ocr", "e Air"), ("ocr", "Nik e Air")]
    assert ocr_match_inputs([]) == []
