"""Print how far our PDQ hashes are from ThreatExchange's reference test vectors (tests/data/pdq).

    .venv/bin/python scripts/pdq_vectors.py
    .venv/bin/python scripts/pdq_vectors.py --images DIR   # second table over every image in DIR instead

One row per vector: the exchange hash (whole frame, as ThreatExchange hashes a file), the matching hash (256 px
product-region copy, or the stored dihedral variant for the transformed upstream files) and, for comparison, the
matching hash in the old bit-reversed layout (hash schema 1). docs/imaging.md quotes the min-max of each column.
Then, for the untransformed files, how far the whole-frame hash of a downscaled copy (what hash-list matching
computes for a candidate, common.hashlists.LIST_QUERY_SIDE) is from python-threatexchange's hash of the file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import hashing, imaging  # noqa: E402

DATA = ROOT / "tests" / "data" / "pdq"
VARIANT_OF = {
    "rotate-90": "rot90",
    "rotate-180": "rot180",
    "rotate-270": "rot270",
    "flipx": "flipud",
    "flipy": "fliplr",
    "flip-plus-1": "transpose",
    "flip-minus-1": "transverse",
}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, help="a folder of images for the downscale table")
    args = parser.parse_args()
    vectors = json.loads((DATA / "expected.json").read_text())["vectors"]
    print(f"{'vector':<44} {'tol':>4} {'exchange':>9} {'matching':>9} {'old layout':>11}")
    for vector in vectors:
        data = (DATA / vector["file"]).read_bytes()
        image = imaging.decode(data, max_bytes=50_000_000, max_pixels=50_000_000).image
        variant = VARIANT_OF.get(vector.get("transform", ""), "")
        exchange, quality = hashing.exchange_pdq(
            image.transpose(hashing._TRANSPOSE[variant]) if variant else image
        )
        label = vector["file"] + (f" as {vector['transform']}" if variant else "")
        if quality < hashing.PDQ_MIN_QUALITY:
            print(
                f"{label:<44} {vector['tolerance']:>4} quality {quality} < {hashing.PDQ_MIN_QUALITY}: not hashed"
            )
            continue
        matching = hashing.compute_hashes(image, variants=True)[hashing._key("pdq", variant)]
        print(
            f"{label:<44} {vector['tolerance']:>4} {hashing.hamming(exchange, vector['pdq']):>9} "
            f"{hashing.hamming(matching, vector['pdq']):>9} "
            f"{hashing.hamming(hashing.reverse_pdq_hex(matching), vector['pdq']):>11}"
        )
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes

    from common.imaging import downscale

    print("\nwhole-frame hash of a downscaled copy vs threatexchange pdq_from_bytes of the file")
    sides = (1024, 512, 256)
    print(f"{'file':<44} {'size':>10} " + " ".join(f"{f'{side} px':>7}" for side in sides))
    if args.images:
        files = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    else:
        files = [DATA / v["file"] for v in vectors if "transform" not in v]
    for path in files:
        data = path.read_bytes()
        theirs, quality = pdq_from_bytes(data)
        if quality < hashing.PDQ_MIN_QUALITY:
            continue
        image = imaging.decode(data, max_bytes=50_000_000, max_pixels=50_000_000).image
        distances = [
            hashing.hamming(hashing.exchange_pdq(downscale(image, side))[0], theirs) for side in sides
        ]
        print(
            f"{path.name:<44} {f'{image.width}x{image.height}':>10} " + " ".join(f"{d:>7}" for d in distances)
        )


if __name__ == "__main__":
    main()
