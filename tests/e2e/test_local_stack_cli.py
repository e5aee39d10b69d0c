"""`python scripts/local_stack.py up|status|env|down`: the README demo's one command, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from common.signing import sign_header
from common.verdict_api import signed_target
from tests.support.emulator_stack import _local_stack

pytestmark = pytest.mark.emulator
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local_stack.py"


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COUNTERFEIT_HOME=str(home))
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def _status_of(url: str, method: str = "GET") -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 — loopback
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _check_services(state: dict) -> None:
    """The services answer as deployed: the review page, the verdict lookup and authentication refuse an
    unauthenticated caller; the discovery sweep has its push subscription on the scheduler's topic."""
    port = state["ports"]
    base = "http://127.0.0.1:{}".format
    assert _status_of(base(port["review"]) + "/") in (401, 403), "review page open without a reviewer"
    verdicts = base(port["verdict_api"]) + "/v1/verdicts"
    assert _status_of(verdicts) == 401  # unsigned
    # signed with the stack's demo marketplace secret: past the signature, to the brand scope (no such brand)
    market, secrets = next(iter(_local_stack().DEMO_WEBHOOK_SECRETS.items()))
    query = "brand=nobrand&listing_id=x"
    header = sign_header(secrets[0], signed_target("/v1/verdicts", query), int(time.time()))
    request = urllib.request.Request(
        f"{verdicts}?{query}", headers={"X-Marketplace": market, "X-Signature": header}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 — loopback
    assert refused.value.code == 403, refused.value.read()
    assert _status_of(base(port["authenticate"]) + "/", "POST") == 401  # unsigned
    env = state["env"]
    from google.cloud import pubsub_v1

    from common.environ import overridden

    with overridden({"PUBSUB_EMULATOR_HOST": env["PUBSUB_EMULATOR_HOST"]}):
        subscriber = pubsub_v1.SubscriberClient()
        try:
            sub = subscriber.get_subscription(
                subscription=f"projects/{env['GOOGLE_CLOUD_PROJECT']}/subscriptions/discover"
            )
        finally:
            subscriber.close()
    assert sub.topic.endswith("/topics/discovery-requested")
    assert sub.push_config.push_endpoint.startswith(base(port["discover"]) + "/")
    # a message on the scheduler's topic reaches the sweep (a malformed one: dropped with its reason, logged)
    with overridden({"PUBSUB_EMULATOR_HOST": env["PUBSUB_EMULATOR_HOST"]}):
        publisher = pubsub_v1.PublisherClient()
        topic = f"projects/{env['GOOGLE_CLOUD_PROJECT']}/topics/discovery-requested"
        message_id = publisher.publish(topic, b"[1, 2]").result(timeout=30)
        publisher.transport.close()
    log = Path(env["COUNTERFEIT_HOME"]) / "logs" / "discover.log"
    deadline = time.monotonic() + 60
    while f"dropping event {message_id}" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert f"dropping event {message_id}" in log.read_text(), log.read_text()[-2000:]


def test_up_status_env_down(tmp_path):
    home = tmp_path / "home"
    up = _run(home, "up", "--free-ports", "--no-model")
    try:
        assert up.returncode == 0, up.stderr[-2000:]
        assert "ingest_gcs" in up.stdout and (home / "stack.json").exists()
        assert _run(home, "up", "--free-ports").returncode == 1  # already up: refuses a second stack

        status = _run(home, "status")
        assert status.returncode == 0
        lines = [line for line in status.stdout.splitlines() if line.strip()]
        names = {line.split()[0] for line in lines}
        # the three emulators and every deployed function: the chain's and the services' (none is forgotten)
        ls = _local_stack()
        deployed = {d.name for d in (ROOT / "functions").iterdir() if (d / "main.py").exists()}
        assert set(ls.ALL_FUNCTIONS) == deployed
        assert names == {"firestore", "pubsub", "storage", *ls.FUNCTIONS, *ls.SERVICE_FUNCTIONS}, (
            status.stdout
        )
        assert all(line.rstrip().endswith("up") for line in lines), status.stdout
        _check_services(json.loads((home / "stack.json").read_text()))

        env = _run(home, "env").stdout
        assert (
            "export FIRESTORE_EMULATOR_HOST='127.0.0.1:" in env and "export COUNTERFEIT_BACKEND='gcp'" in env
        )
    finally:
        down = _run(home, "down")
    assert down.returncode == 0 and "stack down" in down.stdout
    assert not (home / "stack.json").exists()
    assert _run(home, "status").returncode == 1
