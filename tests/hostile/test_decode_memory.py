"""Peak memory of decoding 49 MP images that are tiny files: bounded by their decoded size at 8 bits per channel.

Each file is decoded in its own child process (Pillow allocates in C, so tracemalloc cannot see it; the child's
high-water mark ``VmHWM`` can), along both real paths: the scan's ``imaging.preprocess`` and the reference
decode of ``brand add``. Before the fix a 93 KB 16-bit grey PNG grew the process by 1.8 GB (float64
temporaries), RGBA/LA16/palette PNGs by 0.8-0.9 GB (whole-image compositing copies), a float TIFF by 1.9 GB and
a lossless WebP by 1.3 GB. A memory bound is not a wall-clock assertion: it does not depend on machine load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
# The decoded size at 8 bits per channel, in Pillow's 4-byte RGB layout, times 1.25 (the byte budget of
# common.decode_memory), plus allocator and interpreter noise.
RGB_BYTES = 4
BOUND_FACTOR = 1.25
SLACK_MB = 24
REFUSED_GROWTH_MB = 16  # refused from the header: no pixel buffer was ever allocated

PROBE = r"""
import json, re, sys
from pathlib import Path
from common import imaging
from common.errors import BadImage
from common.settings import DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS
limits = {"max_bytes": DEFAULT_MAX_IMAGE_BYTES, "max_pixels": DEFAULT_MAX_IMAGE_PIXELS}
def rss_mb():  # VmHWM: this process image's peak (ru_maxrss would start at pytest's own peak after fork)
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
def run(path, data):
    if path == "scan":
        imaging.preprocess(data, **limits)
    elif path == "evidence":  # the comparison panel of an evidence bundle
        from common.evidence.bundle import _open_image
        if _open_image(data, DEFAULT_MAX_IMAGE_PIXELS)[0] is None:
            raise BadImage("image too large to decode (evidence panel left empty)")
    else:  # what brand add decodes a kit photo with
        from common.brands import _decode_reference
        from common.settings import Settings
        _decode_reference(type("D", (), {"settings": Settings.from_env({})})(), data)
path, name, warm = sys.argv[1], sys.argv[2], sys.argv[3]
run(path, Path(warm).read_bytes())  # lazy imports, allocator pools
data = Path(name).read_bytes()
before = rss_mb()
try:
    run(path, data)
    outcome, reason = "decoded", ""
except BadImage as exc:
    outcome, reason = "refused", str(exc)
print(json.dumps({"growth_mb": rss_mb() - before, "outcome": outcome, "reason": reason}))
"""

WIDE = (
    "wide_49mp_gray16.png",
    "wide_49mp_rgb48.png",
    "wide_49mp_rgba.png",
    "wide_49mp_la16.png",
    "wide_49mp_palette_trns.png",
    "wide_49mp_float.tif",
    "wide_49mp_gray16.tif",
    "wide_49mp_rgb48.tif",
    "wide_49mp_lossless.webp",
    "bomb_49mp_gray.png",
)


def measure(path: str, image: Path, warm: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, path, str(image), str(warm)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", ["scan", "brand_add"])
@pytest.mark.parametrize("name", WIDE)
def test_wide_49mp_image_decodes_within_its_8_bit_size_or_is_refused_from_the_header(
    hostile_corpus: Path, name: str, path: str
) -> None:
    from PIL import Image

    image = hostile_corpus / "images" / name
    with Image.open(image) as im:
        width, height = im.size
    bound_mb = BOUND_FACTOR * width * height * RGB_BYTES / MB + SLACK_MB
    got = measure(path, image, hostile_corpus / "images" / "gray.jpg")
    print(f"{name} via {path}: +{got['growth_mb']:.0f} MB {got['outcome']} (bound {bound_mb:.0f} MB)")
    if got["outcome"] == "refused":
        assert got["reason"].startswith("image too large to decode"), got
        assert got["growth_mb"] < REFUSED_GROWTH_MB, got
    else:
        assert got["growth_mb"] < bound_mb, (
            f"{name} via {path}: {got['growth_mb']:.0f} MB > {bound_mb:.0f} MB"
        )


def test_the_wide_corpus_is_mostly_accepted(hostile_corpus: Path) -> None:
    """The budget must not refuse ordinary wide images: 16-bit, alpha and palette PNGs of 49 MP all decode."""
    from common import imaging
    from common.errors import BadImage
    from common.settings import DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS

    accepted = []
    for name in WIDE:
        data = (hostile_corpus / "images" / name).read_bytes()
        try:
            out = imaging.preprocess(
                data, max_bytes=DEFAULT_MAX_IMAGE_BYTES, max_pixels=DEFAULT_MAX_IMAGE_PIXELS
            )
        except BadImage:
            continue
        accepted.append(name)
        assert out[0].width * out[0].height >= 44_000_000
    assert {n for n in WIDE if n.endswith(".png")} <= set(accepted)


@pytest.mark.parametrize("name", ["wide_49mp_gray16.png", "wide_49mp_rgba.png", "wide_49mp_lossless.webp"])
def test_evidence_panel_decode_is_bounded_the_same_way(hostile_corpus: Path, name: str) -> None:
    """The evidence bundle decodes the candidate as received and the reference for its comparison panel."""
    from PIL import Image

    image = hostile_corpus / "images" / name
    with Image.open(image) as im:
        bound_mb = BOUND_FACTOR * im.width * im.height * RGB_BYTES / MB + SLACK_MB
    got = measure("evidence", image, hostile_corpus / "images" / "gray.jpg")
    limit = REFUSED_GROWTH_MB if got["outcome"] == "refused" else bound_mb
    assert got["growth_mb"] < limit, got
