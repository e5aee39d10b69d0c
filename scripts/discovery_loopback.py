"""A discovery sweep on the loopback set, printing the figures docs/discovery.md quotes.

The real Vision and Brave clients ask a loopback server that answers with the stored responses of
tests/data/discovery; every image they name is served by a loopback "public web" (the demo candidates), the
fetcher keeps its production rules (127.0.0.1 and the metadata address in the responses stay refused), and the
embedded default's chain scans what is new. Two sweeps: the second shows the deduplication.

    .venv/bin/python scripts/discovery_loopback.py            # prints the run summaries and the coverage report
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# path on the loopback web -> demo candidate (the stored responses name these URLs)
SERVED = {
    "/images/I/71s1exact.jpg": "s1-exact.jpg",
    "/736x/4f/s1pin.jpg": "s1-exact.jpg",
    "/kf/S2modified.jpg": "s2-modified.jpg",
    "/wp/s17lookalike.jpg": "s2-mirrored.jpg",  # the demo's former look-alike (now a mirrored copy)
    "/s3selfshot.jpg": "s3-selfshot.jpg",
    "/images/g/s6composite.jpg": "s6-composite.jpg",
    "/s7text.jpg": "s7-text.jpg",
    "/il/s18used.jpg": "s18-used.jpg",
}
APPROVED = {"enabled": True, "approved_by": "Jane Doe (demo)", "approved_on": "2026-11-30"}


def main() -> int:
    import logging

    from common.brands import register_brand
    from common.discovery.image_search import BraveImageSearchSource
    from common.discovery.report import coverage, render_text
    from common.discovery.sweep import run_sweep
    from common.discovery.web_detection import WebDetectionSource
    from common.scan import local_runtime
    from common.settings import Settings
    from tests.support.discovery_apis import (
        BRAVE_PATH,
        VISION_PATH,
        ScriptedApi,
        simulated_public_web,
        stored,
    )
    from tests.support.kits import demo_kit

    logging.getLogger("common.callbacks").setLevel(logging.ERROR)  # found pages never get callbacks: quiet
    work = Path(tempfile.mkdtemp(prefix="discovery-loopback-"))
    try:
        demo = demo_kit(work / "demo")
        kit = work / "kit"
        shutil.copytree(demo["kit"], kit)
        doc = json.loads((kit / "brand.json").read_text())
        doc["discovery"] = {"web_detection": APPROVED, "image_search": APPROVED}
        (kit / "brand.json").write_text(json.dumps(doc))
        deps, bus = local_runtime(Settings(home=work / "home"))
        register_brand(deps, kit)
        deps.docs.set("marketplaces/example-market", {"brands": ["acme"], "hosts": ["example-market.com"]})
        api = ScriptedApi().start()
        with simulated_public_web() as web:
            for path, name in SERVED.items():
                web.serve(path, (demo["candidates"] / name).read_bytes())
            api.script(VISION_PATH, (200, {}, stored("vision_two_references.json", web.port)))
            api.script(BRAVE_PATH, (200, {}, stored("brave_images.json", web.port)))
            sources = {
                "web_detection": WebDetectionSource(endpoint=api.endpoint),
                "image_search": BraveImageSearchSource(api_key="loopback", endpoint=api.endpoint),
            }
            for label in ("first sweep", "second sweep (same answers, same bytes)"):
                started = time.perf_counter()
                result = run_sweep(deps, "acme", sources=sources, drain=bus.drain)
                s = result.summary()
                print(
                    f"{label}: {s['requests']} requests ({s['billed_units']} billed units, ${s['cost_usd']:.4f}); "
                    f"{s['found']} found -> {s['unique_images']} unique images: {s['scanned']} scanned, "
                    f"{s['unchanged']} unchanged, {s['duplicate_content']} duplicate content, "
                    f"{s['refused']} refused; {time.perf_counter() - started:.1f} s"
                )
        api.server.stop()
        print("\n".join(render_text(coverage(deps, "acme"))))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
