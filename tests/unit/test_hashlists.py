"""Hash exchange with the real ``threatexchange`` package, both directions, through ``counterfeit`` as a user runs
it: its CLI matches the hashes we export for the same images within its threshold, and a list its own hasher
produced imports into a brand and decides our scan, naming the list and the entry. Tenant isolation: an import
reaches only the brand named."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _images import photo
from PIL import Image
from threatexchange.signal_type.pdq.pdq_utils import PDQ_CONFIDENT_MATCH_THRESHOLD
from threatexchange.signal_type.pdq.signal import PdqSignal

from common import cli, hashing
from common.settings import get_settings

DATA = Path(__file__).resolve().parents[1] / "data" / "pdq"
REFERENCES = ("bridge-1-original.jpg", "rgb.jpeg", "q1050.jpg")  # ThreatExchange test images (BSD)
TE_CLI = Path(sys.executable).with_name("threatexchange")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def te(home: Path, *argv: str) -> str:
    """The threatexchange CLI in a subprocess; its state lives in $HOME/.threatexchange."""
    env = os.environ | {"HOME": str(home)}
    done = subprocess.run([str(TE_CLI), *argv], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (argv, done.stdout, done.stderr)
    return done.stdout


def jpeg(image: Image.Image, path: Path, quality: int = 80, scale: float = 1.0) -> Path:
    if scale != 1.0:
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
        )
    image.convert("RGB").save(path, "JPEG", quality=quality)
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COUNTERFEIT_BRANDS", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def make_kit(root: Path, brand: str, refs: dict[str, bytes]) -> Path:
    (root / "references").mkdir(parents=True)
    (root / "brand.json").write_text(json.dumps({"brand": brand, "display_name": brand.upper()}))
    for name, data in refs.items():
        (root / "references" / name).write_bytes(data)
    return root


@pytest.fixture
def acme(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    kit = make_kit(tmp_path / "kit", "acme", {n: (DATA / n).read_bytes() for n in REFERENCES})
    assert run_cli(capsys, "brand", "add", str(kit))[0] == 0
    return kit


def test_threatexchange_matches_our_exported_hashes(acme: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out_file = tmp_path / "acme.te"
    code, out, _ = run_cli(capsys, "hashes", "export", "--brand", "acme", "--out", str(out_file), "--json")
    assert code == 0 and json.loads(out) == {
        "brand": "acme",
        "format": "te",
        "hashes": 3,
        "out": str(out_file),
    }
    lines = out_file.read_text().splitlines()
    assert len(lines) == 3 and all(re.fullmatch(r"pdq [0-9a-f]{64}", line) for line in lines)

    # Its CLI, exactly as an HMA / ThreatExchange user would load the file: a local_file collaboration.
    te_home = tmp_path / "te-home"
    te(
        te_home,
        "config",
        "collab",
        "edit",
        "local_file",
        "--create",
        "--filename",
        str(out_file),
        "acme-refs",
    )
    te(te_home, "fetch")
    copies = {
        "bridge-1-original.jpg": jpeg(
            Image.open(DATA / "bridge-1-original.jpg"), tmp_path / "b.jpg", 70, 0.8
        ),
        "rgb.jpeg": DATA / "rgb.jpeg",
        "q1050.jpg": jpeg(Image.open(DATA / "q1050.jpg"), tmp_path / "q.jpg", 75),
    }
    for name, path in copies.items():
        found = te(te_home, "match", "photo", str(path))
        assert "(acme-refs)" in found, (name, found)
        distance = int(found.split()[1])
        assert distance <= PDQ_CONFIDENT_MATCH_THRESHOLD, (name, found)
    assert te(te_home, "match", "photo", str(jpeg(photo("chelsea"), tmp_path / "cat.jpg"))) == ""

    # And its index API: every reference file, hashed by PdqSignal itself, finds its exported hash.
    index = PdqSignal.get_index_cls().build([(line.split()[1], i) for i, line in enumerate(lines)])
    for name in REFERENCES:
        matches = index.query(PdqSignal.hash_from_bytes((DATA / name).read_bytes()))
        assert matches, name


def test_a_list_threatexchange_hashed_decides_our_scan(acme: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    originals = [jpeg(photo("motorcycle_left"), fakes / "fake-bike.jpg", 92), DATA / "q0291.jpg"]
    listing = te(tmp_path / "te-home", "hash", "photo", *map(str, originals))  # `pdq <hex>` per file
    (tmp_path / "fakes.te").write_text(listing)
    code, out, _ = run_cli(
        capsys,
        "hashes",
        "import",
        "--brand",
        "acme",
        str(tmp_path / "fakes.te"),
        "--source",
        "market-fakes",
        "--json",
    )
    assert code == 0
    assert json.loads(out) | {"revision": "-"} == {
        "brand": "acme",
        "source": "market-fakes",
        "format": "te",
        "entries": 2,
        "skipped": {},
        "revision": "-",
        "replaced": False,
    }
    # Candidates: a smaller re-encode of the first fake, the second as is, and an unrelated photo.
    bike = jpeg(Image.open(originals[0]), tmp_path / "listing-bike.jpg", 75, 0.7)
    code, out, _ = run_cli(
        capsys,
        "scan",
        "--brand",
        "acme",
        "--json",
        str(bike),
        str(originals[1]),
        str(jpeg(photo("coffee"), tmp_path / "c.jpg")),
    )
    assert code == 0
    records = {r["listing_id"]: r for r in map(json.loads, out.splitlines())}
    for listing_id, line in (("listing-bike.jpg", "line 1"), ("q0291.jpg", "line 2")):
        record = records[listing_id]
        signal = record["signals"]["hash"]
        assert record["tier"] == 1 and record["rule"] == "hash_short_circuit", record
        assert signal["status"] == "fired" and signal["reference"] == f"hashlist:market-fakes:{line}"
        assert f"entry '{line}' of imported hash list 'market-fakes'" in signal["reason"]
        assert signal["detail"]["hashlist"]["file"] == "fakes.te"
        assert signal["detail"]["hashlist"]["distance"] <= hashing.PDQ_MATCH
        manifest = json.loads((Path(record["evidence"]) / "manifest.json").read_text())
        assert manifest["reference"] is None and "imported hash list" in manifest["notes"][0]
    coffee = records["c.jpg"]["signals"]["hash"]
    assert coffee["status"] == "clear" and coffee["detail"]["hashlist"]["matched"] is False


def test_threatexchange_dataset_csv_and_hma_export_import(acme: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """The other shapes a marketplace sends: threatexchange's `dataset -P --csv` and HMA bank content JSON."""
    fake = jpeg(photo("astronaut"), tmp_path / "fake.jpg", 90)
    their_hash = PdqSignal.hash_from_bytes(fake.read_bytes())
    te_home = tmp_path / "te-home"
    (tmp_path / "seed.te").write_text(
        f"pdq {their_hash}\npdq {PdqSignal.hash_from_bytes((DATA / 'q2821.jpg').read_bytes())}\n"
    )
    te(
        te_home,
        "config",
        "collab",
        "edit",
        "local_file",
        "--create",
        "--filename",
        str(tmp_path / "seed.te"),
        "mkt",
    )
    te(te_home, "fetch")
    (tmp_path / "dataset.csv").write_text(te(te_home, "dataset", "-P", "--csv"))
    code, out, _ = run_cli(
        capsys,
        "hashes",
        "import",
        "--brand",
        "acme",
        str(tmp_path / "dataset.csv"),
        "--source",
        "mkt",
        "--json",
    )
    assert code == 0 and json.loads(out)["entries"] == 2 and json.loads(out)["format"] == "csv"
    bank = [{"id": 41, "bank": {"name": "FAKES"}, "signals": {"pdq": their_hash}, "note": "seized listing"}]
    (tmp_path / "bank.json").write_text(json.dumps(bank))
    assert (
        run_cli(
            capsys, "hashes", "import", "--brand", "acme", str(tmp_path / "bank.json"), "--source", "hma"
        )[0]
        == 0
    )
    code, out, _ = run_cli(capsys, "hashes", "list", "--brand", "acme", "--json")
    assert [json.loads(line)["list"] for line in out.splitlines()] == ["hma", "mkt"]

    code, out, _ = run_cli(
        capsys, "scan", "--brand", "acme", "--json", str(jpeg(photo("astronaut"), tmp_path / "a.jpg", 70))
    )
    signal = json.loads(out)["signals"]["hash"]
    assert signal["status"] == "fired" and signal["reference"] in ("hashlist:hma:41", "hashlist:mkt:line 2")
    assert signal["detail"]["hashlist"]["list"] in ("hma", "mkt")

    code, out, _ = run_cli(capsys, "hashes", "export", "--brand", "acme", "--format", "hma")
    bodies = [json.loads(line) for line in out.splitlines()]
    assert len(bodies) == 3 and all(PdqSignal.validate_signal_str(b["pdq"]) for b in bodies)
    code, out, _ = run_cli(capsys, "hashes", "export", "--brand", "acme", "--format", "csv")
    assert out.splitlines()[0].startswith("signal_type,signal_str,quality,brand,reference")


def test_reimport_replaces_and_remove_deletes(acme: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from common.bootstrap import build_deps

    a, b = (PdqSignal.hash_from_bytes((DATA / n).read_bytes()) for n in ("q0291.jpg", "q2821.jpg"))
    (tmp_path / "l.te").write_text(f"pdq {a}\npdq {b}\n")
    assert (
        run_cli(capsys, "hashes", "import", "--brand", "acme", str(tmp_path / "l.te"), "--source", "l")[0]
        == 0
    )
    (tmp_path / "l.te").write_text(f"pdq {b}\n")
    code, out, _ = run_cli(
        capsys, "hashes", "import", "--brand", "acme", str(tmp_path / "l.te"), "--source", "l"
    )
    assert code == 0 and "replaced" in out and "1 entries" in out
    docs = build_deps(get_settings()).docs
    chunks = docs.list("brands/acme/hashlist_chunks")
    assert len(chunks) == 1 and b in chunks[0][1]["entries_json"] and a not in chunks[0][1]["entries_json"]
    code, out, _ = run_cli(capsys, "scan", "--brand", "acme", "--json", str(DATA / "q0291.jpg"))
    assert json.loads(out)["signals"]["hash"]["status"] != "fired"  # the replaced entry no longer matches
    assert run_cli(capsys, "hashes", "remove", "--brand", "acme", "--source", "l")[0] == 0
    assert docs.list("brands/acme/hashlist_chunks") == [] and docs.list("brands/acme/hashlists") == []
    code, _, err = run_cli(capsys, "hashes", "remove", "--brand", "acme", "--source", "l")
    assert code == 2 and "no hash list 'l'" in err


def test_bad_list_is_refused_whole(acme: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = PdqSignal.hash_from_bytes((DATA / "q0291.jpg").read_bytes())
    (tmp_path / "bad.te").write_text(f"pdq {good}\npdq {'z' * 64}\n")
    code, _, err = run_cli(
        capsys, "hashes", "import", "--brand", "acme", str(tmp_path / "bad.te"), "--source", "x"
    )
    assert code == 2 and "line 2" in err
    code, _, err = run_cli(
        capsys, "hashes", "import", "--brand", "acme", str(tmp_path / "none.te"), "--source", "x"
    )
    assert code == 2 and "cannot read" in err
    code, _, err = run_cli(
        capsys, "hashes", "import", "--brand", "acme", str(tmp_path / "bad.te"), "--source", "../x"
    )
    assert code == 2 and "invalid list name" in err
    code, out, _ = run_cli(capsys, "hashes", "list", "--brand", "acme")
    assert out == ""


def test_import_reaches_only_the_brand_named(acme: Path, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    other = make_kit(tmp_path / "other", "globex", {"q2821.jpg": (DATA / "q2821.jpg").read_bytes()})
    assert run_cli(capsys, "brand", "add", str(other))[0] == 0
    fake = DATA / "q0291.jpg"
    (tmp_path / "l.te").write_text(f"pdq {PdqSignal.hash_from_bytes(fake.read_bytes())}\npdq {'a5' * 32}\n")

    monkeypatch.setenv("COUNTERFEIT_BRANDS", "globex")  # a shell that may only touch globex
    code, _, err = run_cli(
        capsys, "hashes", "import", "--brand", "acme", str(tmp_path / "l.te"), "--source", "l"
    )
    assert code == 2 and "403 forbidden" in err
    code, _, err = run_cli(capsys, "hashes", "export", "--brand", "acme")
    assert code == 2 and "403 forbidden" in err
    assert (
        run_cli(capsys, "hashes", "import", "--brand", "globex", str(tmp_path / "l.te"), "--source", "l")[0]
        == 0
    )

    monkeypatch.delenv("COUNTERFEIT_BRANDS")
    code, out, _ = run_cli(capsys, "hashes", "list", "--brand", "acme")
    assert out == ""  # nothing reached acme
    code, out, _ = run_cli(capsys, "scan", "--brand", "acme", "--json", str(fake))
    assert json.loads(out)["signals"]["hash"]["status"] != "fired"  # globex's list is not acme's
    code, out, _ = run_cli(capsys, "scan", "--brand", "globex", "--json", str(fake))
    assert json.loads(out)["signals"]["hash"]["reference"] == "hashlist:l:line 1"


def test_export_refuses_records_of_an_older_hash_schema(acme: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from common.bootstrap import build_deps

    docs = build_deps(get_settings()).docs
    for path, doc in docs.list("brands/acme/references"):
        docs.set(path, {k: v for k, v in doc.items() if k not in ("hash_schema", "pdq_exchange")})
    code, _, err = run_cli(capsys, "hashes", "export", "--brand", "acme")
    assert code == 2 and "counterfeit brand add" in err


def test_hashes_help_has_examples_and_exit_codes(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        cli.main(["hashes", "export", "--help"])
    text = capsys.readouterr().out
    assert "threatexchange match photo" in text and "exit codes" in text


def test_kit_hashed_in_the_old_bit_order_keeps_matching_and_its_verdicts_stay_readable(
    acme: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    """A kit registered before hash schema 2 (bit-reversed PDQ): its scans still match (records converted on
    read), `brand add` re-hashes it, and the verdicts recorded before stay readable and agree with new ones."""
    from common.bootstrap import build_deps
    from common.messages import Verdict

    docs = build_deps(get_settings()).docs
    for path, doc in docs.list("brands/acme/references"):
        old = {k: v for k, v in doc.items() if k not in ("hash_schema", "pdq_exchange")}
        old["hashes"] = {
            k: hashing.reverse_pdq_hex(v) if k.startswith("pdq") else v for k, v in doc["hashes"].items()
        }
        docs.set(path, old | {"extractors": doc["extractors"] | {"hash": "1"}})
    candidate = jpeg(Image.open(DATA / "bridge-1-original.jpg"), tmp_path / "copy.jpg", 80, 0.5)
    code, out, _ = run_cli(capsys, "scan", "--brand", "acme", "--json", str(candidate))
    before = json.loads(out)
    assert before["signals"]["hash"]["status"] == "fired"
    assert before["signals"]["hash"]["reference"] == "reference:bridge-1-original.jpg"

    code, out, _ = run_cli(capsys, "brand", "add", str(acme))
    assert code == 0 and "3 updated" in out
    assert {doc.get("hash_schema") for _, doc in docs.list("brands/acme/references")} == {hashing.HASH_SCHEMA}
    stored = docs.get(f"brands/acme/verdicts/{before['scan_id']}")
    assert stored is not None and Verdict.model_validate(stored).signals["hash"].status == "fired"
    code, out, _ = run_cli(capsys, "scan", "--brand", "acme", "--json", str(candidate))
    after = json.loads(out)
    assert after["signals"]["hash"]["reference"] == before["signals"]["hash"]["reference"]
    assert after["signals"]["hash"]["detail"]["distances"] == before["signals"]["hash"]["detail"]["distances"]
