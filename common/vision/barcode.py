"""QR and 1-D barcodes: decode with OpenCV (headless build) and compare with the brand's registered codes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from common.messages import Signal

# COMPONENTS.md: "EAN-13 filling the frame needs padding or corners" -> 1-D decoding on a white-padded copy
# (QR decoding does not need it and the padding occasionally hurt it).
PAD_FRACTION = 0.1
MAX_SIDE = 1600  # QR modules stay >= ~3 px on marketplace photos at this size; larger only costs time
# OpenCV's 1-D detector misses razor-sharp synthetic bars and some scales (measured on generated EAN-13 symbols:
# 3 of 48 renderings read in one pass, 21 of 48 with these passes), so it gets a few views; the first view that
# decodes wins. (scale factor, Gaussian blur kernel or 0)
ONE_D_PASSES = ((1.0, 0), (1.0, 3), (1.0, 5), (0.5, 0), (0.5, 3))
# QR: the ArUco-based detector finds codes reliably but sometimes fails to decode a finely resampled one
# (module ~6.2 px); a slight blur or the classic detector then reads it. (detector, blur kernel or 0)
QR_PASSES = ((cv2.QRCodeDetectorAruco, 0), (cv2.QRCodeDetectorAruco, 3), (cv2.QRCodeDetector, 0))


@dataclass(frozen=True)
class DecodedCode:
    kind: str  # "QR" or the 1-D symbology OpenCV reports ("EAN_13", "CODE128", ...)
    value: str
    box: tuple[int, int, int, int]  # x, y, w, h in the input image's pixels


def _to_bgr(image: Image.Image) -> tuple[np.ndarray, float]:
    rgb = np.asarray(image.convert("RGB"))
    scale = min(1.0, MAX_SIDE / max(rgb.shape[:2]))
    if scale < 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb[:, :, ::-1]), scale


def _box(points: np.ndarray, offset: float, scale: float) -> tuple[int, int, int, int]:
    pts = (np.asarray(points, dtype=np.float64).reshape(-1, 2) - offset) / scale
    x0, y0 = np.floor(pts.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
    return int(max(0, x0)), int(max(0, y0)), int(max(1, x1 - x0)), int(max(1, y1 - y0))


def _decode_qr(bgr: np.ndarray, scale: float, found: dict[tuple[str, str], DecodedCode]) -> None:
    for detector, blur in QR_PASSES:
        view = cv2.GaussianBlur(bgr, (blur, blur), 0) if blur else bgr
        ok, values, points, _ = detector().detectAndDecodeMulti(view)
        if ok and points is not None and any(values):
            for value, pts in zip(values, points, strict=False):
                if value:
                    found.setdefault(("QR", value), DecodedCode("QR", value, _box(pts, 0, scale)))
            return
        if points is None and detector is cv2.QRCodeDetectorAruco and not blur:
            # Nothing that looks like a QR code at all: the later passes only rescue codes that were located
            # but not decoded, so they would cost ~35 ms for nothing on the usual photo without a QR code.
            return


def _decode_1d(bgr: np.ndarray, scale: float, found: dict[tuple[str, str], DecodedCode]) -> None:
    pad = int(PAD_FRACTION * max(bgr.shape[:2]))
    padded = cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    detector = cv2.barcode.BarcodeDetector()
    for factor, blur in ONE_D_PASSES:
        view = (
            padded
            if factor == 1.0
            else cv2.resize(padded, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        )
        if blur:
            view = cv2.GaussianBlur(view, (blur, blur), 0)
        ok, values, kinds, points = detector.detectAndDecodeWithType(view)
        if ok and points is not None and any(values):
            for value, kind, pts in zip(values, kinds, points, strict=False):
                if value:
                    box = _box(np.asarray(pts) / factor, pad, scale)
                    found.setdefault((kind, value), DecodedCode(kind, value, box))
            return


def decode_codes(image: Image.Image) -> list[DecodedCode]:
    """Every QR code and 1-D barcode OpenCV can read, de-duplicated by (kind, value)."""
    bgr, scale = _to_bgr(image)
    found: dict[tuple[str, str], DecodedCode] = {}
    _decode_qr(bgr, scale, found)
    _decode_1d(bgr, scale, found)
    return list(found.values())


def normalise_code(value: str) -> str:
    """Compare codes without case, spaces or dashes ("4006381 333931" == "4006381333931")."""
    return re.sub(r"[\s-]+", "", value).casefold()


def barcode_signal(brand_codes: Sequence[str], decoded: Sequence[DecodedCode]) -> Signal:
    """ "barcode": fired when a decoded code equals a registered brand code. A QR payload also matches when it
    contains a registered code as a whole path/query segment (a product URL carrying the GTIN)."""
    if not brand_codes:
        return Signal.not_run("barcode", "brand kit registers no barcodes")
    wanted = {normalise_code(c): c for c in brand_codes if normalise_code(c)}
    codes = [{"kind": d.kind, "value": d.value, "box": list(d.box)} for d in decoded]
    for d in decoded:
        value = normalise_code(d.value)
        segments = set(re.split(r"[/?&=#:]+", value))
        for norm, original in wanted.items():
            if value == norm or norm in segments:
                return Signal(
                    name="barcode",
                    status="fired",
                    score=1.0,
                    reference=original,
                    reason=f"decoded {d.kind} {d.value[:80]!r} carries the brand code {original}",
                    detail={"decoded": codes, "matched": original},
                )
    reason = f"decoded {len(decoded)} code(s), none registered by the brand" if decoded else "no code decoded"
    return Signal(name="barcode", status="clear", score=0.0, reason=reason, detail={"decoded": codes})
