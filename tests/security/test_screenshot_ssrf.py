"""The evidence screenshot browser is not an SSRF proxy: a hostile listing page that redirects, meta-refreshes,
frames, embeds, ``fetch()``es or opens a websocket to an internal server gets nothing from it.

Two real servers: the "public" listing site on 127.0.0.2 and the "internal" one on 127.0.0.1 holding a secret.
The address policy refuses all of 127/8, so the test treats exactly 127.0.0.2 as a public address (one address
admitted in ``fetch.check_address``, a stand-in for the internet; production rules are untouched) and names it
``shop.example`` at the resolver. 127.0.0.1 stays loopback and must never be contacted: its server records every
request it receives (HTTP and websocket handshakes alike), and the refusals must be in the manifest. Chromium
connects by itself to whatever address it pins, so the same pages run against the old code show the leak.
"""

from __future__ import annotations

import io
import ipaddress
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from common import fetch
from common.bootstrap import build_deps
from common.errors import FetchRefused
from common.evidence import build_bundle
from common.evidence.page_guard import PageBudget
from common.evidence.screenshot import find_chromium, launch_args, refusing_port, take_screenshot
from common.messages import Verdict
from common.settings import Settings
from tests.support.http_server import LoopbackServer, trickle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="Debian chromium is not installed"),
]
PUBLIC_ADDRESS = "127.0.0.2"  # stands in for a public address (admitted by the fixture only)
PUBLIC_NAME = "shop.example"
SECRET = b"INTERNAL-SECRET-7f3a9c"


@dataclass
class Net:
    public: LoopbackServer
    internal: LoopbackServer

    def listing(self, path: str = "/listing") -> str:
        return f"http://{PUBLIC_NAME}:{self.public.port}{path}"

    def secret(self, path: str = "/secret") -> str:
        return self.internal.url(path)

    def page(self, html: str, path: str = "/listing") -> str:
        self.public.bytes_route(path, f"<html><body>{html}</body></html>".encode(), content_type="text/html")
        return self.listing(path)


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Iterator[Net]:
    public = LoopbackServer(host=PUBLIC_ADDRESS).start()
    internal = LoopbackServer().start()
    for path in ("/secret", "/secret.png", "/secret.css", "/ws"):
        internal.bytes_route(path, b"<h1>" + SECRET + b"</h1>", content_type="text/html")
    real_check, real_getaddrinfo = fetch.check_address, socket.getaddrinfo
    simulated = ipaddress.ip_address(PUBLIC_ADDRESS)

    def check_address(ip, *, allow_private):  # type: ignore[no-untyped-def]
        return None if ip == simulated else real_check(ip, allow_private=allow_private)

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == PUBLIC_NAME:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (PUBLIC_ADDRESS, port or 0))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(fetch, "check_address", check_address)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        yield Net(public, internal)
    finally:
        public.stop()
        internal.stop()


def bundle_screenshot(tmp_path: Path, url: str) -> dict[str, Any]:
    """Build a real evidence bundle for a verdict whose listing has ``url``; its manifest's screenshot part."""
    deps = build_deps(Settings(home=tmp_path / "home"))  # production address rules
    deps.docs.set("brands/acme", {"display_name": "ACME", "trademarks": ["ACME"]})
    deps.docs.set("brands/acme/scans/s-1", {"listing": {"listing_id": "l-1", "url": url}, "status": "done"})
    verdict = Verdict(
        scan_id="s-1", brand_id="acme", listing_id="l-1", tier=1, score=0.9, signals={}, rule="weighted",
        created_at=datetime(2026, 12, 2, tzinfo=UTC),
    )  # fmt: skip
    root = Path(build_bundle(deps, verdict, out_dir=tmp_path / "evidence"))
    manifest = json.loads((root / "manifest.json").read_text())
    assert (root / "report.pdf").is_file()  # the bundle is complete whatever happened to the screenshot
    return dict(manifest["screenshot"]) | {"notes": manifest["notes"], "root": root}


# name -> the listing page's HTML, built from the internal URLs (INTERNAL: http://127.0.0.1:port)
HOSTILE_PAGES = {
    "meta refresh": '<meta http-equiv="refresh" content="0;url={secret}">',
    "iframe": '<iframe src="{secret}"></iframe>',
    "iframe through a public redirect": '<iframe src="{hop}"></iframe>',
    "image": '<img src="{secret_png}">',
    "stylesheet by localhost": '<link rel="stylesheet" href="{localhost_css}">',
    "fetch": '<p id="out">x</p><script>fetch("{secret}").then(r => r.text())'
    '.then(t => document.getElementById("out").textContent = t)</script>',
    "websocket": '<script>const ws = new WebSocket("{ws}"); ws.onmessage = e => document.title = e.data</script>',
    "script location": '<script>location.href = "{secret}"</script>',
}


@pytest.mark.parametrize("vector", sorted(HOSTILE_PAGES))
def test_hostile_page_never_reaches_the_internal_server(net: Net, tmp_path: Path, vector: str) -> None:
    net.public.redirect_route("/hop", net.secret())
    html = HOSTILE_PAGES[vector].format(
        secret=net.secret(),
        secret_png=net.secret("/secret.png"),
        hop=net.listing("/hop"),
        localhost_css=f"http://localhost:{net.internal.port}/secret.css",
        ws=f"ws://127.0.0.1:{net.internal.port}/ws",
    )
    shot = bundle_screenshot(tmp_path, net.page(html))
    assert net.internal.received == [], f"{vector}: the browser reached the internal server"
    assert [r.path for r in net.public.received][:1] == ["/listing"]  # the page itself was loaded
    assert shot["status"] == "captured"
    assert any(why in r for r in shot["refused"] for why in ("loopback", "websockets")), shot["refused"]
    assert any("request(s) of the page were refused" in n for n in shot["notes"])
    assert SECRET not in (shot["root"] / "manifest.json").read_bytes()


# Request kinds beyond the ones above, all on one page; each aims at its own internal path.
MORE_KINDS = {
    "worker": "<script>new Worker(URL.createObjectURL(new Blob(['fetch(\"{u}\")'], "
    '{{type: "text/javascript"}})))</script>',
    "beacon": '<script>navigator.sendBeacon("{u}", "x")</script>',
    "eventsource": '<script>new EventSource("{u}")</script>',
    "ping": '<a id="p" ping="{u}" href="#x">x</a><script>document.getElementById("p").click()</script>',
    "object": '<object data="{u}"></object>',
    "embed": '<embed src="{u}">',
    "import": '<style>@import url("{u}");</style>',
    "background": '<div style="width:9px;height:9px;background:url({u})"></div>',
    "font": '<style>@font-face {{ font-family: X; src: url("{u}") }} p {{ font-family: X }}</style><p>x</p>',
    "prefetch": '<link rel="prefetch" href="{u}">',
}


def test_every_other_request_kind_is_refused(net: Net) -> None:
    url = net.page("".join(html.format(u=net.secret(f"/{kind}")) for kind, html in MORE_KINDS.items()))
    shot = take_screenshot(url)
    assert net.internal.received == []
    for kind in MORE_KINDS:
        assert any(f"/{kind}: refused" in r and "loopback" in r for r in shot.refused), (kind, shot.refused)


def test_webrtc_and_webtransport_send_no_udp_to_internal_addresses(net: Net) -> None:
    """STUN/TURN and WebTransport speak UDP, which no HTTP interception sees: the launch flags keep WebRTC to
    (refused) proxied TCP and QUIC is off, so an internal UDP port receives nothing."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    port = udp.getsockname()[1]
    url = net.page(
        "<script>const pc = new RTCPeerConnection({iceServers: ["
        f'{{urls: "stun:127.0.0.1:{port}"}}, '
        f'{{urls: "turn:127.0.0.1:{port}?transport=udp", username: "u", credential: "p"}}]}});'
        'pc.createDataChannel("x"); pc.createOffer().then(o => pc.setLocalDescription(o));'
        f'try {{ new WebTransport("https://127.0.0.1:{port}/") }} catch (e) {{}}</script>'
    )
    try:
        take_screenshot(url)
        with pytest.raises(BlockingIOError):
            udp.recvfrom(2048)  # nothing arrived while the page was loaded and captured
    finally:
        udp.close()


def test_redirect_of_the_listing_url_to_an_internal_address_is_refused(net: Net, tmp_path: Path) -> None:
    net.public.redirect_route("/listing", net.secret())
    shot = bundle_screenshot(tmp_path, net.listing())
    assert net.internal.received == []
    assert shot["status"] == "failed" and "loopback" in shot["reason"]
    assert not (shot["root"] / "screenshot.png").exists()
    assert any("screenshot failed" in n and "loopback" in n for n in shot["notes"])


def test_metadata_private_and_non_http_targets_are_refused_and_recorded(net: Net) -> None:
    targets = [
        "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.0.0.1/admin",
        "http://[::1]:9/x",
        "http://[::ffff:127.0.0.1]:9/x",
        f"http://2130706433:{net.internal.port}/secret",  # 127.0.0.1 in decimal
    ]
    url = net.page("".join(f'<iframe src="{t}"></iframe>' for t in targets))
    shot = take_screenshot(url)
    assert net.internal.received == []
    reasons = " | ".join(shot.refused)
    for why in ("metadata", "private", "loopback"):
        assert why in reasons, reasons
    assert shot.refused_count == len(targets)


def test_public_subresources_and_redirected_frames_still_render(net: Net) -> None:
    """The guard is not a blanket block: same-site images and a frame behind a public redirect load."""
    red = io.BytesIO()
    Image.new("RGB", (1280, 1600), (255, 0, 0)).save(red, "PNG")
    net.public.bytes_route("/red.png", red.getvalue(), content_type="image/png")
    net.public.redirect_route("/hop", net.listing("/sub/frame"))  # the frame must land on /sub/frame:
    net.public.bytes_route(
        "/sub/frame", b'<img src="pic.png">', content_type="text/html"
    )  # pic.png is relative
    net.public.bytes_route("/sub/pic.png", red.getvalue(), content_type="image/png")
    url = net.page(
        '<style>body{margin:0}</style><img src="/red.png" style="position:absolute;top:0;left:0">'
        '<iframe src="/hop" style="position:absolute;top:10px;left:10px"></iframe>'
    )
    shot = take_screenshot(url)
    image = Image.open(io.BytesIO(shot.png)).convert("RGB")
    assert image.size == (1280, 1600) and image.getpixel((640, 1500)) == (255, 0, 0)
    assert {"/listing", "/red.png", "/hop", "/sub/frame", "/sub/pic.png"} <= {
        r.path for r in net.public.received
    }
    assert shot.refused_count == 0 and net.internal.received == []


def test_a_redirected_listing_url_is_captured_at_its_final_address(net: Net) -> None:
    net.public.redirect_route("/go", net.listing("/item/1#photos"), status=301)
    net.public.bytes_route("/item/1", b"<h1>listing</h1>", content_type="text/html")
    shot = take_screenshot(net.listing("/go"))
    assert shot.final_url == net.listing("/item/1#photos")
    assert [r.path for r in net.public.received] == ["/go", "/item/1"]  # fetched once, served to the browser
    assert shot.requests == 1 and shot.refused_count == 0 and shot.stopped is None


def test_request_budget_aborts_the_rest_and_still_captures(net: Net) -> None:
    for i in range(30):
        net.public.bytes_route(f"/i{i}.png", b"", content_type="image/png")
    url = net.page("".join(f'<img src="/i{i}.png">' for i in range(30)))
    shot = take_screenshot(url, budget=PageBudget(max_requests=5))
    assert shot.png.startswith(b"\x89PNG")
    assert shot.requests == 5 and len(net.public.received) == 5
    assert shot.refused_count >= 26 and shot.stopped == "page budget reached: 5 requests"


def test_byte_budget_refuses_an_oversized_resource(net: Net) -> None:
    net.public.bytes_route("/big.png", b"\0" * 2_000_000, content_type="image/png")
    url = net.page('<img src="/big.png">')
    shot = take_screenshot(url, budget=PageBudget(max_total_bytes=1_000_000))
    assert shot.png.startswith(b"\x89PNG")
    assert any("/big.png" in r and "limit" in r for r in shot.refused), shot.refused
    assert shot.bytes_fetched < 1_000_000


def test_time_budget_cuts_a_slow_resource_and_still_captures(net: Net) -> None:
    net.public.routes["/slow.png"] = lambda _req: (200, {"Content-Type": "image/png"}, trickle(60, 0.5))
    url = net.page('<h1>listing</h1><img src="/slow.png">')
    shot = take_screenshot(url, budget=PageBudget(max_seconds=8.0))  # the image alone would take 30 s
    assert shot.png.startswith(b"\x89PNG")
    # cut either by its fetch deadline (what was left of the budget) or at capture time, still loading
    cut = ("longer than", "still loading when the page was captured")
    assert any("/slow.png" in r and any(c in r for c in cut) for r in shot.refused), shot.refused


def test_chromium_itself_cannot_connect_anywhere(net: Net) -> None:
    """The second wall: with no interception at all, the launch flags send Chromium's own connections
    (loopback included) to a port that refuses them."""
    from playwright.sync_api import Error, sync_playwright

    with refusing_port() as port, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=launch_args(port), headless=True)
        try:
            page = browser.new_page()
            for url in (net.secret(), f"http://localhost:{net.internal.port}/secret", net.public.url("/")):
                with pytest.raises(Error, match="ERR_PROXY_CONNECTION_FAILED"):
                    page.goto(url, timeout=10_000)
            blank = browser.new_page()  # the first one is on Chromium's error page
            blank.set_content(f'<script>new WebSocket("ws://127.0.0.1:{net.internal.port}/ws")</script>')
            blank.wait_for_timeout(500)
        finally:
            browser.close()
    assert net.internal.received == [] and net.public.received == []


def test_listing_url_itself_is_refused_before_any_browser_starts() -> None:
    for url in ("http://127.0.0.1:9/", "http://[fe80::1]/", "http://metadata/x", "file:///etc/passwd"):
        with pytest.raises(FetchRefused):
            take_screenshot(url, chromium="/nonexistent/chromium")
