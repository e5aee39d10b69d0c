"""The OCR zoom reads a small, faint wordmark under a mark that the full-image pass misses, maps its box back to
image pixels, stays off when the full pass already read the brand, and adds no brand hit on negatives."""

from common.vision import synthetic as syn
from common.vision.ocr import OcrLine, RapidOcrEngine
from common.vision.ocr_zoom import (
    MAX_CROPS,
    has_brand_text,
    merge_lines,
    read_with_zoom,
    zoom_regions,
)

ENGINE = RapidOcrEngine()


def test_zoom_reads_a_faint_wordmark_the_full_pass_misses():
    img, (x0, y0, x1, y1) = syn.small_wordmark_scene("NORDA", 2)  # 46 px wide, grey on grey, under an emblem
    assert 40 <= x1 - x0 <= 70
    lines, report = read_with_zoom(ENGINE, img, ["NORDA"])
    assert report.ran  # the zoom runs only when the full-image pass found no brand text
    assert 1 <= len(report.crops) <= MAX_CROPS and len(report.new_lines) >= 1
    assert has_brand_text(lines, ["NORDA"])
    word = next(line for line in lines if "NORDA" in line.text)
    bx, by, bw, bh = word.box  # mapped back to image pixels: on the printed word
    assert bx < x1 and bx + bw > x0 and by < y1 and by + bh > y0


def test_zoom_is_skipped_when_the_full_pass_reads_the_brand():
    img, _ = syn.small_wordmark_scene("KAFFEO", 0)
    lines, report = read_with_zoom(ENGINE, img, ["KAFFEO"])
    assert has_brand_text(lines, ["KAFFEO"]) and not report.ran and report.crops == []


def test_zoom_adds_no_brand_hit_on_an_unrelated_photo_or_another_word():
    lines, report = read_with_zoom(ENGINE, syn.background(1, (400, 300)), ["NORDA", "KAFFEO", "VOLTA"])
    assert report.ran and not has_brand_text(lines, ["NORDA", "KAFFEO", "VOLTA"])
    img, _ = syn.small_wordmark_scene("NORDIC", 2)  # same print, a word that is not the mark
    lines, report = read_with_zoom(ENGINE, img, ["NORDA"])
    assert report.ran and not has_brand_text(lines, ["NORDA"])


def test_regions_look_around_and_below_marks_and_unsure_boxes_at_most_max_crops():
    size = (800, 600)
    mark = (300, 100, 80, 80)
    unsure = [OcrLine("0", 0.6, (500, 300, 60, 60)), OcrLine("o", 0.4, (100, 400, 30, 30))]
    crops = zoom_regions(size, [mark], [*unsure, OcrLine("SALE", 0.99, (0, 0, 400, 90))], (50, 50, 300, 300))
    assert len(crops) == MAX_CROPS
    x, y, w, h = crops[0]  # the mark's crop comes first and reaches below the mark
    assert x <= 300 and x + w >= 380 and y <= 100 and y + h >= 100 + 80 * 1.5
    assert all(cx >= 0 and cy >= 0 and cx + cw <= 800 and cy + ch <= 600 for cx, cy, cw, ch in crops)


def test_merge_keeps_the_more_confident_reading_of_one_line():
    full = [OcrLine("N0RDA", 0.55, (10, 10, 50, 12)), OcrLine("SALE", 0.9, (200, 10, 40, 12))]
    zoomed = [OcrLine("NORDA", 0.98, (11, 10, 49, 12)), OcrLine("SALE", 0.7, (200, 11, 40, 12))]
    merged, new = merge_lines(full, zoomed)
    assert [line.text for line in new] == ["NORDA"]
    assert sorted(line.text for line in merged) == ["NORDA", "SALE"]
    assert next(line for line in merged if line.text == "SALE").confidence == 0.9


def test_nothing_to_point_at_zooms_the_middle_of_the_frame():
    """No logo hit, no detector box, no product box (a busy background): the middle half of the frame."""
    assert zoom_regions((800, 600), [], []) == [(200, 150, 400, 300)]
    assert zoom_regions((800, 600), [], [], (100, 100, 200, 200)) == [
        (100, 100, 200, 200)
    ]  # a real hint wins


def test_an_embossed_wordmark_on_a_busy_photo_is_read_in_the_middle_crop():
    """The benchmark's embossed_mark listing the full pass read nothing of (light and shadow only, no box)."""
    import random

    from common.synthetic_brands import BY_ID
    from common.synthetic_listings import embossed_mark

    img, notes = embossed_mark(BY_ID["kaffeo"], random.Random(12))  # debossed, 126 px
    lines, report = read_with_zoom(ENGINE, img, ["KAFFEO"])
    assert report.crops == [(180, 120, 360, 240)]  # the middle of the 720 x 480 frame
    assert has_brand_text(lines, ["KAFFEO"]), (notes, lines)
    assert any("KAFFEO" in line.text for line in report.new_lines)  # read in that crop, not by the full pass
