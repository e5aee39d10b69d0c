"""`counterfeit authenticate` / `scale-card` as a user runs them, and the kit's models + close-ups contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import cli
from common.authenticate import synthetic as syn
from common.brands import BrandKit, load_kit
from common.errors import BadInput
from common.settings import get_settings
from tests.support.kits import tiny_kit


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COUNTERFEIT_BRANDS", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def _kit(root: Path) -> Path:
    kit = tiny_kit(root / "kit")
    brand = json.loads((kit / "brand.json").read_text())
    brand["models"] = {"tote": {"spi": 12, "required_regions": ["seam", "stamp"]}}
    (kit / "brand.json").write_text(json.dumps(brand))
    stamps = kit / "closeups" / "tote" / "stamp"
    stamps.mkdir(parents=True)
    for i, cam in enumerate([syn.Camera(), syn.Camera(tilt_deg=12, roll_deg=30), syn.Camera(tilt_deg=18, tilt_dir_deg=90, roll_deg=60),
                             syn.Camera(tilt_deg=8, tilt_dir_deg=200, roll_deg=-40)]):  # fmt: skip
        (stamps / f"genuine-{i}.jpg").write_bytes(syn.stamp_photo(i, cam))
    return kit


def test_models_contract_is_validated() -> None:
    assert BrandKit.model_validate({"brand": "a", "display_name": "A", "models": {"tote": {"spi": 12}}})
    for bad in (
        {"tote": {"spi": -1}},
        {"tote": {"spi": 12, "colour": "red"}},
        {"bad/name": {"spi": 12}},
        {"tote": {"required_regions": ["Seam!"]}},
    ):
        with pytest.raises(ValueError):
            BrandKit.model_validate({"brand": "a", "display_name": "A", "models": bad})


def test_closeups_for_an_undeclared_model_or_without_card_are_refused(home, tmp_path) -> None:
    kit = tiny_kit(tmp_path / "k2")
    (kit / "closeups" / "bag" / "seam").mkdir(parents=True)
    (kit / "closeups" / "bag" / "seam" / "a.jpg").write_bytes(b"x")
    load_kit(kit)  # the kit itself is valid; close-ups are checked when they are measured
    code = cli.main(["brand", "add", str(kit)])
    assert code == 2
    brand = json.loads((kit / "brand.json").read_text()) | {"models": {"bag": {}}}
    (kit / "brand.json").write_text(json.dumps(brand))
    no_card = syn.photograph(syn.leather(1, (0.4, 0.3, 0.2)), syn.Camera(), 1)
    (kit / "closeups" / "bag" / "seam" / "a.jpg").write_bytes(no_card)
    from common.authenticate.kit import register_closeups
    from common.scan import local_runtime

    deps, _ = local_runtime(get_settings())
    with pytest.raises(BadInput, match="retake: the scale card is not in the photo"):
        register_closeups(deps, "acme", kit, {"bag": {}})


def test_authenticate_end_to_end_through_the_cli(home, tmp_path, capsys) -> None:
    kit = _kit(tmp_path)
    assert cli.main(["brand", "add", str(kit)]) == 0
    capsys.readouterr()
    assert cli.main(["brand", "add", str(kit)]) == 0  # idempotent: close-ups unchanged are not re-measured
    assert "0 added, 0 updated, 0 removed" in capsys.readouterr().out
    seam = tmp_path / "seam_1.jpg"
    seam.write_bytes(syn.seam_photo(12.2, seed=3, cam=syn.Camera(tilt_deg=10)))
    genuine_stamp = tmp_path / "genuine.jpg"
    genuine_stamp.write_bytes(syn.stamp_photo(30, syn.Camera(tilt_deg=14, roll_deg=-25)))
    fake_stamp = tmp_path / "fake.jpg"
    fake_stamp.write_bytes(syn.stamp_photo(31, syn.Camera(tilt_deg=14, roll_deg=-25), spacing=1.1))
    pdf = tmp_path / "report.pdf"

    code = cli.main(["authenticate", "--brand", "acme", "--model", "tote", str(seam), "--region",
                     f"stamp={genuine_stamp}", "--json", "--pdf", str(pdf)])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["result"] == "authentic", report["reasons"]
    assert pdf.read_bytes().startswith(b"%PDF")

    code = cli.main(
        ["authenticate", "--brand", "acme", "--model", "tote", str(seam), "--region", f"stamp={fake_stamp}"]
    )
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("ACME tote: SUSPECT")
    assert "human authenticator" in out

    code = cli.main(["authenticate", "--brand", "acme", "--model", "tote", str(seam)])
    assert "INCONCLUSIVE" in capsys.readouterr().out  # the stamp is required

    assert cli.main(["authenticate", "--brand", "acme", "--model", "tote", str(genuine_stamp)]) == 2
    assert "say which region" in capsys.readouterr().err


def test_brand_scoping_and_scale_card(home, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COUNTERFEIT_BRANDS", "other")
    seam = tmp_path / "seam.jpg"
    seam.write_bytes(b"irrelevant")
    assert cli.main(["authenticate", "--brand", "acme", "--model", "tote", str(seam)]) == 2
    assert "403 forbidden" in capsys.readouterr().err
    out = tmp_path / "card.pdf"
    assert cli.main(["scale-card", "--out", str(out)]) == 0
    assert "print at 100 %" in capsys.readouterr().out and out.read_bytes().startswith(b"%PDF")
