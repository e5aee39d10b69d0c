"""The reports' TrueType faces, parsed once per process instead of once per PDF.

Why: fpdf2's ``add_font`` parses the whole face for every document (cmap and metrics of DejaVu's ~6,000 glyphs,
~45 ms CPU a face) and its output subsets the face again (~30 ms a face: cmap, post and glyf of the whole font
decoded once more). Both are the same work for every report. The subsetting also rewrites the parsed
fontTools font in place, which is why one parsed face cannot simply serve two documents.

So each face is parsed once (``_face``: metrics, cmap, glyph ids and descriptor, read-only afterwards) and every
document gets its own light copy (``add_cached_font``) with its own subset map (the glyphs that document used),
its own font descriptor (the output numbers and fills it in) and, when the document is written
(``CachedFontsProducer``), its own fontTools font to subset: a *pre-subset* of the face holding the basic
Latin/Latin-1 glyphs plus every glyph the document used, kept per glyph set (``_pre_subset``). fpdf2's own
subsetting still decides what is embedded (exactly the glyphs used, as without the cache); it only starts from
~200 glyphs instead of 6,000. Text stays extractable: the ToUnicode map comes from the document's subset map.

Thread-safe: faces and pre-subsets are built under a lock; what threads share is only read (the widths table
is a ``defaultdict`` whose misses insert the same default width, harmless under the GIL).
"""

from __future__ import annotations

import copy
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import OutputProducer

# Characters every report uses or is likely to (printable ASCII, Latin-1, the punctuation the report writes):
# a report whose text stays within them reuses one pre-subset.
BASE_CHARS = frozenset(range(0x20, 0x7F)) | frozenset(range(0xA0, 0x100)) | frozenset(map(ord, "—–•…·‘’“”€"))
PRE_SUBSETS_KEPT = 32  # distinct glyph sets per face (~40 KB each); titles in many scripts each add one


class _DocumentFont(TTFFont):
    """A TTFFont that knows its process-wide face (fpdf2's fonts have ``__slots__``)."""

    __slots__ = ("face",)
    face: _Face


@dataclass
class _Face:
    data: bytes  # the file as read, for each document's own fontTools font
    template: _DocumentFont  # parsed once; copied per document
    base_glyphs: frozenset[str]
    pre_subsets: OrderedDict[frozenset[str], bytes]


_lock = threading.Lock()
_faces: dict[tuple[Path, str], _Face] = {}


def _face(path: Path, style: str) -> _Face:
    key = (path, style)
    with _lock:
        face = _faces.get(key)
        if face is None:
            template = _DocumentFont(FPDF(), path, f"cached{style}", style)
            base = frozenset(template.cmap[c] for c in BASE_CHARS if c in template.cmap)
            face = _Face(path.read_bytes(), template, base, OrderedDict())
            template.face = face
            _faces[key] = face
        return face


def _open(data: bytes, *, recalc_bboxes: bool = True) -> ttLib.TTFont:
    return ttLib.TTFont(io.BytesIO(data), lazy=True, recalcTimestamp=False, recalcBBoxes=recalc_bboxes)


def add_cached_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """``pdf.add_font(family, style, path)`` from the process's parsed face (same metrics, same embedding)."""
    face = _face(Path(path), style)
    if face.template.color_font is not None:  # colour fonts keep per-document glyph state: no sharing
        pdf.add_font(family, style, str(path))
        return
    fontkey = f"{family.lower()}{''.join(sorted(style.upper()))}"
    font = copy.copy(face.template)
    font.i = len(pdf.fonts) + 1
    font.fontkey = fontkey
    font.desc = copy.copy(face.template.desc)  # the output gives it an object id and the embedded file
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    # Its own fontTools font (opening is lazy: ~0.1 ms): whatever writes the document may subset it in place.
    # CachedFontsProducer swaps in the much smaller pre-subset first.
    font.ttfont = _open(face.data)
    pdf.fonts[fontkey] = font


def _pre_subset(face: _Face, used: frozenset[str]) -> bytes:
    """The face cut down to ``used`` plus its basic glyphs, glyph names kept (fpdf2 subsets it by name)."""
    key = used | face.base_glyphs
    with _lock:
        cached = face.pre_subsets.get(key)
        if cached is not None:
            face.pre_subsets.move_to_end(key)
            return cached
        font = _open(face.data)
        options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
        # tables fpdf2 embeds none of (FontForge's timestamp, layout and math tables): less to read per document
        options.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "MATH"]
        subsetter = ftsubset.Subsetter(options)
        subsetter.populate(glyphs=sorted(key))
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
        face.pre_subsets[key] = out.getvalue()
        while len(face.pre_subsets) > PRE_SUBSETS_KEPT:
            face.pre_subsets.popitem(last=False)
        return face.pre_subsets[key]


class CachedFontsProducer(OutputProducer):
    """fpdf2's output, with each cached font given its own fontTools font (a pre-subset) just before it is
    subset and embedded: the document's text and footers are final by the time the producer is built."""

    def __init__(self, fpdf: FPDF) -> None:
        for font in fpdf.fonts.values():
            if isinstance(font, _DocumentFont):
                used = frozenset(font.subset.get_all_glyph_names())
                font.ttfont.close()
                # the pre-subset's bounding boxes already hold every glyph it keeps: not worked out again
                font.ttfont = _open(_pre_subset(font.face, used), recalc_bboxes=False)
        super().__init__(fpdf)
