"""The cloud path of hash exchange: reference hash records and an imported list in the Firestore emulator, through
the DocumentStore port only (the same code the CLI runs on SQLite), matched by the hash step's signal."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from PIL import Image
from threatexchange.signal_type.pdq.signal import PdqSignal

from common import hashing, hashlists
from common.bootstrap import build_deps
from common.brands import get_brand, register_brand
from common.settings import Settings
from tests.support.emulator_stack import stack_env

pytestmark = pytest.mark.emulator
DATA = Path(__file__).resolve().parents[1] / "data" / "pdq"


def test_references_and_imported_list_live_in_firestore(emulators, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    brand_id = f"hl{uuid.uuid4().hex[:8]}"
    kit = tmp_path / "kit"
    (kit / "references").mkdir(parents=True)
    (kit / "brand.json").write_text(json.dumps({"brand": brand_id, "display_name": "HL"}))
    for name in ("bridge-1-original.jpg", "rgb.jpeg"):
        (kit / "references" / name).write_bytes((DATA / name).read_bytes())
    with stack_env(emulators) as env:
        settings = Settings.from_env(env)
        assert settings.backend == "gcp"
        deps = build_deps(settings)
        register_brand(deps, kit)
        refs = dict(deps.docs.list(f"brands/{brand_id}/references"))
        assert {doc["hash_schema"] for doc in refs.values()} == {hashing.HASH_SCHEMA}
        exported = {row["reference"]: row["pdq"] for row in hashlists.export_rows(deps, brand_id)}
        assert exported["reference:rgb.jpeg"] == PdqSignal.hash_from_bytes((DATA / "rgb.jpeg").read_bytes())

        fake = DATA / "q0291.jpg"
        listing = f"pdq {PdqSignal.hash_from_bytes(fake.read_bytes())}\n".encode()
        result = hashlists.import_list(deps, brand_id, listing, source="market", filename="market.te")
        assert result.entries == 1
        assert [doc["list"] for doc in hashlists.brand_lists(deps, brand_id)] == ["market"]
        fresh = build_deps(settings)  # another process: nothing cached, everything read back from Firestore
        signal = hashlists.match_signal(fresh, get_brand(fresh, brand_id), Image.open(fake).convert("RGB"))
        assert signal.status == "fired" and signal.reference == "hashlist:market:line 1"
        assert hashlists.remove_list(fresh, brand_id, "market") == 1
        assert fresh.docs.list(f"brands/{brand_id}/hashlist_chunks") == []
