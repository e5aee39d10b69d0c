"""Print how far our PDQ hashes are from ThreatExchange's reference test vectors (tests/data/pdq).

    .venv/bin/python scripts/pdq_vectors.py

One row per vector: the exchange hash (whole frame, as ThreatExchange hashes a file), the matching hash (256 px
product-region copy, or the stored dihedral variant for the transformed upstream files) and, for comparison, the
matching hash in the old bit-reversed layout (hash schema 1). docs/imaging.md quotes the min-max of each column.
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


if __name__ == "__main__":
    main()
