"""Reference privacy (seed 004: references are "used only to extract mathematical features; never uploaded to
public cloud infrastructure"), proven on the real pipeline with the Cloud Vision backend switched on.

The outbound network stack is instrumented at its boundary: ``socket.socket.connect``/``send``/``sendall``,
``http.client.HTTPConnection.send``, ``urllib3``'s ``urlopen`` and ``requests.Session.send`` record every
destination and payload. The Cloud Vision client is Google's real ``ImageAnnotatorClient`` (REST transport,
anonymous credentials) pointed at a loopback server that answers like the API, so the request bytes it sends
are exactly what would go to Google.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import requests
import urllib3
from PIL import Image

from tests.support.http_server import LoopbackServer

WINDOW = 48  # bytes of a reference file that must never appear anywhere (far beyond chance collisions)
B64_WINDOW = 64
VISION_PATH = "/v1/images:annotate"
VISION_ANSWER = {
    "responses": [
        {
            "textAnnotations": [
                {
                    "description": "ACME\nROADSTER",
                    "boundingPoly": {"vertices": [{"x": 1, "y": 1}, {"x": 90, "y": 30}]},
                }
            ],
            "logoAnnotations": [],
        }
    ]
}


@dataclass
class Outbound:
    connects: list[tuple[str, int]] = field(default_factory=list)
    payloads: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, layer: str, data: object) -> None:
        if data is None:
            return
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if isinstance(data, bytes | bytearray | memoryview):
            self.payloads.append((layer, bytes(data)))
        elif hasattr(data, "read"):  # file-like request bodies are not used by our clients; flag if they are
            self.payloads.append((layer, b"<file-like body>"))


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> Iterator[Outbound]:
    rec = Outbound()
    real_connect, real_send, real_sendall = socket.socket.connect, socket.socket.send, socket.socket.sendall
    real_http_send = http.client.HTTPConnection.send
    real_urlopen = urllib3.connectionpool.HTTPConnectionPool.urlopen
    real_session_send = requests.Session.send

    def connect(sock, address):  # type: ignore[no-untyped-def]
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            rec.connects.append((address[0], address[1]))
        return real_connect(sock, address)

    def send(sock, data, *args):  # type: ignore[no-untyped-def]
        rec.add("socket.send", data)
        return real_send(sock, data, *args)

    def sendall(sock, data, *args):  # type: ignore[no-untyped-def]
        rec.add("socket.sendall", data)
        return real_sendall(sock, data, *args)

    def http_send(conn, data):  # type: ignore[no-untyped-def]
        rec.add("http.client", data)
        return real_http_send(conn, data)

    def urlopen(pool, method, url, body=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        rec.add("urllib3", body)
        return real_urlopen(pool, method, url, body, *args, **kwargs)

    def session_send(session, request, **kwargs):  # type: ignore[no-untyped-def]
        rec.add("requests", request.body)
        return real_session_send(session, request, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "send", send)
    monkeypatch.setattr(socket.socket, "sendall", sendall)
    monkeypatch.setattr(http.client.HTTPConnection, "send", http_send)
    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", urlopen)
    monkeypatch.setattr(requests.Session, "send", session_send)
    yield rec


@pytest.fixture
def vision_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.routes[VISION_PATH] = lambda _req: (200, {"Content-Type": "application/json"},
                                               json.dumps(VISION_ANSWER).encode())  # fmt: skip
    server.start()
    yield server
    server.stop()


def _fingerprints(data: bytes) -> list[bytes]:
    """Windows of the file's bytes and of its base64 (standard and URL-safe), from header, middle and tail."""
    out = []
    for frac in (0.1, 0.5, 0.9):
        start = int(len(data) * frac)
        out.append(data[start : start + WINDOW])
    for encoded in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
        for frac in (0.1, 0.5, 0.9):
            start = int(len(encoded) * frac) // 4 * 4
            out.append(encoded[start : start + B64_WINDOW])
    return out


def _leaks(blob: bytes, references: dict[str, list[bytes]]) -> list[str]:
    return [name for name, prints in references.items() if any(p in blob for p in prints)]


def test_reference_images_never_leave_and_only_features_are_stored(
    tmp_path: Path, demo_dir: Path, outbound: Outbound, vision_server: LoopbackServer
) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import vision

    from common.brands import register_brand
    from common.imaging import open_working
    from common.scan import listings_from_paths, local_runtime, scan_listings
    from common.settings import Settings
    from common.vision.cloud import CloudVisionBackend

    settings = Settings(home=tmp_path / "home", vision_backend="cloud")
    deps, bus = local_runtime(settings)
    client = vision.ImageAnnotatorClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": f"http://127.0.0.1:{vision_server.port}"},
    )
    deps._vision = CloudVisionBackend(client=client)
    kit = demo_dir / "kit"
    ref_files = sorted(
        p for folder in ("references", "logos") for p in (kit / folder).iterdir() if p.is_file()
    )
    references = {p.name: _fingerprints(p.read_bytes()) for p in ref_files}
    assert len(references) >= 3

    register_brand(deps, kit)
    assert outbound.connects == [] and outbound.payloads == [], "brand add must not touch the network"
    assert vision_server.received == []

    candidates = sorted((demo_dir / "candidates").glob("*.jpg"))
    records = list(scan_listings(deps, bus, "acme", listings_from_paths(str(p) for p in candidates)))
    assert sum("tier" in r for r in records) >= 5

    # 1. Cloud Vision really ran, and the network saw only its endpoint
    assert len(vision_server.received) >= 5
    assert {addr for addr in outbound.connects} <= {("127.0.0.1", vision_server.port)}
    assert outbound.payloads

    # 2. no reference bytes (raw or base64) in anything sent, at any layer
    for layer, payload in outbound.payloads:
        assert not _leaks(payload, references), f"reference bytes left through {layer}"

    # 3. the Cloud Vision backend was only ever handed candidate pixels: each uploaded image equals the
    #    working copy of one scanned candidate
    working = [
        np.asarray(open_working(deps.blobs.read(settings.work_bucket, name)))
        for name in deps.blobs.list(settings.work_bucket, "acme/")
        if not name.endswith(".sift.npz")  # the SIFT keypoints preprocess stores next to each working copy
    ]
    uploads = []
    for req in vision_server.received:
        for item in json.loads(req.body)["requests"]:
            uploads.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(item["image"]["content"])))))
    assert uploads
    for up in uploads:
        assert any(up.shape == w.shape and np.array_equal(up, w) for w in working), (
            "upload is not a candidate"
        )

    # 4. stored data: reference bytes only where a brand's own evidence bundle deliberately copies them
    #    (evidence bucket, under the brand's prefix); never in documents, the candidates/work buckets or the
    #    references bucket (which holds derived features only)
    objects = tmp_path / "home" / "blobs" / "objects"
    evidence_copies = []
    for path in sorted(p for p in objects.rglob("*") if p.is_file()):
        rel = path.relative_to(objects).as_posix()
        leaked = _leaks(path.read_bytes(), references)
        if not leaked:
            continue
        assert rel.startswith(f"{settings.evidence_bucket}/acme/"), f"{rel} stores reference bytes {leaked}"
        evidence_copies.append(rel)
    reference_objects = list((objects / settings.references_bucket).rglob("*"))
    assert any(p.suffix == ".npz" for p in reference_objects)
    for db in (tmp_path / "home").glob("documents.sqlite3*"):
        assert not _leaks(db.read_bytes(), references), f"{db.name} stores reference bytes"
    for collection in ("brands", "brands/acme/references", "brands/acme/scans", "brands/acme/verdicts"):
        for _path, doc in deps.docs.list(collection):
            text = json.dumps(doc, default=str).encode()
            assert not _leaks(text, references), f"{collection} document stores reference bytes"
    print(
        f"vision uploads: {len(uploads)}; evidence bundles holding a reference copy: {len(evidence_copies)}"
    )
