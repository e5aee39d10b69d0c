"""The local emulator stack: Firestore + Pub/Sub emulators, a storage emulator that emits finalize CloudEvents,
the model endpoint, and the functions under functions-framework (`up`: every deployed one), wired with topics, push subscriptions,
retry policies and dead-letter topics exactly as Terraform wires them in GCP.

    python scripts/local_stack.py up        # fixed ports (README demo); state in $COUNTERFEIT_HOME/stack.json
    python scripts/local_stack.py status
    python scripts/local_stack.py down

Importable for tests and the load run: ``Stack(StackConfig(home=tmp, fixed_ports=False)).start()`` picks free
ports, and ``stop()`` ends every process group it started. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.emulator_paths import FIRESTORE_JAR, PUBSUB_LIB, pubsub_jar  # noqa: E402
from common.environ import overridden  # noqa: E402
from common.topics import (  # noqa: E402
    MAX_DELIVERY_ATTEMPTS,
    SCHEDULED_FUNCTIONS,
    SUBSCRIPTIONS,
    TOPICS,
    dead_letter_topic,
)

PYTHON = sys.executable

# name -> functions-framework signature type. Order = start order (consumers before producers).
FUNCTIONS: dict[str, str] = {
    "dead_letter": "cloudevent",
    "evidence": "cloudevent",
    "cluster": "cloudevent",
    "fuse": "cloudevent",
    "embed": "cloudevent",
    "logo_ocr": "cloudevent",
    "hash_match": "cloudevent",
    "preprocess": "cloudevent",
    "ingest_gcs": "cloudevent",
    "ingest_webhook": "http",
}
# The functions people and schedulers call rather than the chain: the review page, the marketplaces' verdict
# lookup, close-up authentication, and the scheduled discovery sweep (its push subscription on
# discovery-requested stands in for Cloud Scheduler's publish). `up` starts them beside the chain so every
# deployed entry point can be used locally; test stacks that only drive the chain leave them out.
SERVICE_FUNCTIONS: dict[str, str] = {
    "review": "http",
    "verdict_api": "http",
    "authenticate": "http",
    "discover": "cloudevent",
}
ALL_FUNCTIONS: dict[str, str] = FUNCTIONS | SERVICE_FUNCTIONS
# Request threads per function process (functions-framework's gunicorn reads THREADS; its default is 4 per
# core). The CPU-bound steps get one per core: more only interleaves image decodes, SIFT and ONNX runs on the
# same cores (more memory, more context switches, no more throughput: docs/speed.md). The cloud runs each of
# them at concurrency 1 per 1-vCPU instance (infra/modules/cloud_function) and scales by instances.
CPU_BOUND_FUNCTIONS = ("preprocess", "hash_match", "embed", "logo_ocr", "evidence")
CPU_BOUND_THREADS = max(1, os.cpu_count() or 1)
# Fixed ports for `up` (the README demo); tests use free ports instead.
FIXED_PORTS = {"firestore": 8081, "pubsub": 8085, "storage": 9023, "model": 8900} | {
    name: 8101 + i for i, name in enumerate(ALL_FUNCTIONS)
}
# Push delivery: a handler gets this long before Pub/Sub redelivers (the maximum, as Eventarc sets it: a burst
# queues work behind busy handlers, and an early redelivery would only repeat it).
ACK_DEADLINE_S = 600
# Retry backoff between redeliveries of a failed push (GCP allows 0-600 s; short keeps tests quick).
RETRY_MIN_BACKOFF_S = 1
RETRY_MAX_BACKOFF_S = 10
# How long `start` waits for everything to answer (the JVM emulators take ~5 s on 2 cores; each
# functions-framework process imports its module and the google-cloud libraries).
READY_TIMEOUT_S = 120
DEMO_WEBHOOK_SECRETS = {"demo-market": ["local-demo-secret"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def push_endpoint(port: int, project: str, topic: str) -> str:
    """functions-framework turns a raw Pub/Sub push into a messagePublished CloudEvent when the path names the
    topic (``event_conversion._PUBSUB_TOPIC_REQUEST_PATH``)."""
    return f"http://127.0.0.1:{port}/projects/{project}/topics/{topic}"


@dataclass
class StackConfig:
    home: Path
    project: str = "counterfeit-local"
    fixed_ports: bool = True
    webhook_secrets: Mapping[str, list[str]] = field(default_factory=lambda: dict(DEMO_WEBHOOK_SECRETS))
    with_model: bool = True  # start the model endpoint if common.embedding.server exists
    extra_env: Mapping[str, str] = field(default_factory=dict)  # for every function
    # function name -> (source file, extra env): lets tests swap in a fault-injecting wrapper
    function_overrides: Mapping[str, tuple[Path, Mapping[str, str]]] = field(default_factory=dict)
    functions: tuple[str, ...] = tuple(FUNCTIONS)


@dataclass
class Stack:
    config: StackConfig
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # ------------------------------------------------------------ addresses and environment
    @property
    def logs(self) -> Path:
        return self.config.home / "logs"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def client_env(self) -> dict[str, str]:
        """What a process needs to use the stack through the GCP adapters (tests, the load run, the CLI)."""
        env = {
            "COUNTERFEIT_BACKEND": "gcp",
            "COUNTERFEIT_HOME": str(self.config.home),
            "GOOGLE_CLOUD_PROJECT": self.config.project,
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.ports['firestore']}",
            "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{self.ports['pubsub']}",
            "STORAGE_EMULATOR_HOST": self.url("storage"),
            "WEBHOOK_SECRETS": json.dumps(dict(self.config.webhook_secrets)),
            "COUNTERFEIT_FETCH_ALLOW_PRIVATE": "1",  # e2e tests serve listing images from 127.0.0.1
        }
        if "model" in self.ports:
            env["MODEL_ENDPOINT_URL"] = self.url("model")
        return env

    def _function_env(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = dict(os.environ) | self.client_env() | dict(self.config.extra_env) | dict(extra)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    # ------------------------------------------------------------ lifecycle
    def start(self) -> Stack:
        self.config.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self._assign_ports()
        try:
            self._start_emulators()
            self._wait_http("firestore", "/")
            self._wait_http("pubsub", "/")
            self._wait_http("storage", "/")
            create_topology(self.config.project, self.ports, self.config.functions)
            if "model" in self.ports:
                self._spawn(
                    "model",
                    [PYTHON, "-m", "common.embedding.server", "--port", str(self.ports["model"])],
                    self._function_env({}),
                )
            for name in self.config.functions:
                self._start_function(name)
            for name in self.config.functions:
                self._wait_http(name, "/")
            if "model" in self.ports:
                self._wait_http("model", "/")
        except BaseException:
            self.stop()
            raise
        self._write_state()
        return self

    def stop(self) -> None:
        """SIGTERM each process group, then SIGKILL what is left; only the groups this stack started."""
        for pid in reversed(list(self.pids.values())):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for name, pid in list(self.pids.items()):
            proc = self._procs.get(name)
            while _alive(pid, proc) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid, proc):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        self.pids.clear()
        self._procs.clear()
        (self.config.home / "stack.json").unlink(missing_ok=True)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ internals
    def _assign_ports(self) -> None:
        names = ["firestore", "pubsub", "storage", *self.config.functions]
        if self.config.with_model and (ROOT / "common" / "embedding" / "server.py").exists():
            names.append("model")
        for name in names:
            self.ports[name] = FIXED_PORTS[name] if self.config.fixed_ports else free_port()

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(  # noqa: S603 — our own fixed argv
            argv, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self._procs[name] = proc
        self.pids[name] = proc.pid

    def _start_emulators(self) -> None:
        env = dict(os.environ)
        self._spawn(
            "firestore",
            ["java", "-cp", str(FIRESTORE_JAR), "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
             "--host", "127.0.0.1", "--port", str(self.ports["firestore"])],
            env,
        )  # fmt: skip
        jar = pubsub_jar()
        if jar is None:
            raise RuntimeError(f"Pub/Sub emulator jar not found under {PUBSUB_LIB}")
        self._spawn("pubsub", ["java", "-jar", str(jar), "--host=127.0.0.1",
                               f"--port={self.ports['pubsub']}"], env)  # fmt: skip
        storage_argv = [
            PYTHON, str(Path(__file__).resolve()), "storage-emulator",
            "--port", str(self.ports["storage"]), "--buckets", ",".join(_buckets()),
        ]  # fmt: skip
        if "ingest_gcs" in self.ports:
            storage_argv += ["--notify-bucket", _buckets()[0], "--notify-url", self.url("ingest_gcs")]
        self._spawn("storage", storage_argv, env)

    def _start_function(self, name: str) -> None:
        source, extra = self.config.function_overrides.get(name, (ROOT / "functions" / name / "main.py", {}))
        argv = [
            str(Path(PYTHON).parent / "functions-framework"), "--target", name, "--source", str(source),
            "--signature-type", ALL_FUNCTIONS[name], "--host", "127.0.0.1", "--port", str(self.ports[name]),
        ]  # fmt: skip
        env = self._function_env(extra)
        if name in CPU_BOUND_FUNCTIONS:
            env.setdefault("THREADS", str(CPU_BOUND_THREADS))
        self._spawn(name, argv, env)

    def _wait_http(self, name: str, path: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            proc = self._procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs / (name + '.log')}")
            try:
                with urllib.request.urlopen(self.url(name) + path, timeout=2):  # noqa: S310 — loopback
                    return
            except urllib.error.HTTPError:
                return  # it answered: ready (functions answer GET / with 4xx)
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"{name} not ready after {READY_TIMEOUT_S}s; see {self.logs / (name + '.log')}")

    def _write_state(self) -> None:
        state = {
            "ports": self.ports,
            "pids": self.pids,
            "env": self.client_env(),
            "project": self.config.project,
        }
        (self.config.home / "stack.json").write_text(json.dumps(state, indent=2))


def _alive(pid: int, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    try:
        os.killpg(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _buckets() -> list[str]:
    """Candidates first (the only bucket whose writes trigger ingest, as in infra/)."""
    from common.settings import get_settings

    s = get_settings()
    return [s.candidates_bucket, s.work_bucket, s.references_bucket, s.evidence_bucket]


def create_topology(project: str, ports: Mapping[str, int], functions: tuple[str, ...]) -> None:
    """Topics, DLQ topics, push subscriptions with retry + dead-letter policies (mirrors infra/pubsub)."""
    env_host = f"127.0.0.1:{ports['pubsub']}"
    with overridden({"PUBSUB_EMULATOR_HOST": env_host}):
        from google.api_core import exceptions as gexc
        from google.cloud import pubsub_v1
        from google.protobuf import duration_pb2

        publisher = pubsub_v1.PublisherClient()
        subscriber = pubsub_v1.SubscriberClient()
        try:
            for topic in TOPICS:
                for name in (topic, dead_letter_topic(topic)):
                    with contextlib.suppress(gexc.AlreadyExists):
                        publisher.create_topic(name=f"projects/{project}/topics/{name}")
            retry = pubsub_v1.types.RetryPolicy(
                minimum_backoff=duration_pb2.Duration(seconds=RETRY_MIN_BACKOFF_S),
                maximum_backoff=duration_pb2.Duration(seconds=RETRY_MAX_BACKOFF_S),
            )
            for function, topic in (SUBSCRIPTIONS | SCHEDULED_FUNCTIONS).items():
                if function not in functions:
                    continue
                _create_push_subscription(
                    subscriber, project, function, topic, ports[function], retry,
                    dead_letter=pubsub_v1.types.DeadLetterPolicy(
                        dead_letter_topic=f"projects/{project}/topics/{dead_letter_topic(topic)}",
                        max_delivery_attempts=MAX_DELIVERY_ATTEMPTS,
                    ),
                )  # fmt: skip
            if "dead_letter" in functions:
                for topic in TOPICS:
                    dlq = dead_letter_topic(topic)
                    _create_push_subscription(
                        subscriber, project, f"dead-letter-{topic}", dlq, ports["dead_letter"], retry, None
                    )
        finally:
            subscriber.close()
            publisher.transport.close()


def _create_push_subscription(subscriber, project, name, topic, port, retry, dead_letter) -> None:  # type: ignore[no-untyped-def]
    from google.api_core import exceptions as gexc
    from google.cloud import pubsub_v1

    request = {
        "name": f"projects/{project}/subscriptions/{name}",
        "topic": f"projects/{project}/topics/{topic}",
        "push_config": pubsub_v1.types.PushConfig(push_endpoint=push_endpoint(port, project, topic)),
        "ack_deadline_seconds": ACK_DEADLINE_S,
        "retry_policy": retry,
    }
    if dead_letter is not None:
        request["dead_letter_policy"] = dead_letter
    with contextlib.suppress(gexc.AlreadyExists):
        subscriber.create_subscription(request=request)


# ---------------------------------------------------------------- storage emulator with finalize events

# Eventarc retries a failed delivery with backoff; we do the same, up to this long per event.
NOTIFY_GIVE_UP_S = 300
NOTIFY_WORKERS = 4  # parallel deliveries to ingest_gcs (a burst of uploads must not queue behind one POST)


def finalized_cloudevent(obj: Mapping[str, object]) -> tuple[dict[str, str], bytes]:
    """Binary-mode CloudEvent headers + body for an object resource, as Eventarc delivers
    ``google.cloud.storage.object.v1.finalized`` (data = the JSON object resource)."""
    bucket, name, generation = str(obj["bucket"]), str(obj["name"]), str(obj["generation"])
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.storage.object.v1.finalized",
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "ce-subject": f"objects/{name}",
        "ce-id": f"{bucket}/{name}/{generation}",
        "ce-time": str(obj.get("updated") or obj.get("timeCreated") or ""),
        "Content-Type": "application/json",
    }
    return headers, json.dumps(dict(obj)).encode()


def serve_storage_emulator(
    port: int, buckets: list[str], notify_bucket: str | None, notify_url: str | None
) -> None:
    """Run gcp-storage-emulator with two additions real GCS has and the emulator lacks: ``ifGenerationMatch``
    on uploads (412 on mismatch) and finalize notifications (POSTed to ``notify_url`` for ``notify_bucket``)."""
    import logging
    import queue
    import threading
    from http import HTTPStatus

    from gcp_storage_emulator import server as emu_server
    from gcp_storage_emulator.handlers import buckets as emu_buckets
    from gcp_storage_emulator.handlers import objects as emu_objects
    from gcp_storage_emulator.storage import Storage

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("storage-events")
    events: queue.Queue[dict[str, object]] = queue.Queue()
    original_create = Storage.create_file

    def create_file(self, bucket_name, file_name, content, file_obj, file_id=None):  # type: ignore[no-untyped-def]
        original_create(self, bucket_name, file_name, content, file_obj, file_id)
        if notify_url and bucket_name == notify_bucket:
            events.put(dict(file_obj))

    Storage.create_file = create_file  # type: ignore[method-assign]
    # In memory there is nothing to persist, yet the emulator re-serialises every object's metadata to JSON on
    # each write (O(objects) per upload, quadratic over a burst). Skip it.
    Storage._write_config_to_file = lambda self: None  # type: ignore[method-assign]

    # Serve concurrently, as GCS does: downloads run in parallel, everything that touches the metadata maps runs
    # under one lock (the emulator's storage has no locking of its own).
    import http.server

    http.server.HTTPServer = http.server.ThreadingHTTPServer  # type: ignore[misc]  # emulator process only
    metadata_lock = threading.Lock()
    original_handle = emu_server.Router.handle

    def handle(self, method):  # type: ignore[no-untyped-def]
        path = self._request_handler.path
        if method == "GET" and ("alt=media" in path or path.startswith("/download/")):
            return original_handle(self, method)
        with metadata_lock:
            return original_handle(self, method)

    emu_server.Router.handle = handle  # type: ignore[method-assign]

    original_insert = emu_objects.insert

    def insert(request, response, storage, *args, **kwargs):  # type: ignore[no-untyped-def]
        wanted = request.query.get("ifGenerationMatch")
        if wanted:
            name = (request.query.get("name") or [None])[0]
            if name is None and isinstance(request.data, dict):
                meta = (
                    request.data.get("meta") if isinstance(request.data.get("meta"), dict) else request.data
                )
                name = meta.get("name")
            try:
                current = int(storage.get_file_obj(request.params["bucket_name"], name)["generation"])
            except Exception:  # noqa: BLE001 — emulator raises its own NotFound; absent means generation 0
                current = 0
            if current != int(wanted[0]):
                response.status = HTTPStatus.PRECONDITION_FAILED
                response.json({"error": {"code": 412, "message": "conditionNotMet",
                                         "errors": [{"reason": "conditionNotMet"}]}})  # fmt: skip
                return None
        return original_insert(request, response, storage, *args, **kwargs)

    emu_objects.insert = insert
    emu_server.HANDLERS = tuple(
        (regex, {m: (insert if h is original_insert else h) for m, h in handlers.items()})
        for regex, handlers in emu_server.HANDLERS
    )

    def deliver() -> None:
        import requests

        session = requests.Session()
        while True:
            obj = events.get()
            headers, body = finalized_cloudevent(obj)
            deadline, backoff = time.monotonic() + NOTIFY_GIVE_UP_S, 0.5
            while True:
                try:
                    resp = session.post(notify_url, data=body, headers=headers, timeout=60)
                    if resp.status_code < 300:
                        break
                    log.warning("ingest_gcs answered %s for %s", resp.status_code, headers["ce-id"])
                except requests.RequestException as exc:
                    log.warning("ingest_gcs unreachable for %s: %s", headers["ce-id"], exc.__class__.__name__)
                if time.monotonic() > deadline:
                    log.error("giving up on finalize event %s", headers["ce-id"])
                    break
                time.sleep(backoff)
                backoff = min(backoff * 2, 10)

    for _ in range(NOTIFY_WORKERS):
        threading.Thread(target=deliver, daemon=True).start()

    server = emu_server.create_server("127.0.0.1", port, in_memory=True)
    server.start()
    for name in buckets:
        emu_buckets.create_bucket(name, server._storage)
    print(
        f"storage emulator on 127.0.0.1:{port}; finalize events for {notify_bucket} -> {notify_url}",
        flush=True,
    )
    try:
        while True:
            time.sleep(1)
    finally:
        server.stop()


# ---------------------------------------------------------------- CLI


def _state(home: Path) -> dict | None:  # type: ignore[type-arg]
    path = home / "stack.json"
    return json.loads(path.read_text()) if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the stack (fixed ports) and return")
    up.add_argument("--free-ports", action="store_true", help="pick free ports instead of the fixed ones")
    up.add_argument("--no-model", action="store_true", help="do not start the model endpoint")
    sub.add_parser("down", help="stop what `up` started")
    sub.add_parser("status", help="show ports and whether each process is alive")
    sub.add_parser("env", help="print export lines for a shell that should use the stack")
    emu = sub.add_parser(
        "storage-emulator", help="(internal) gcp-storage-emulator that emits finalize events"
    )
    emu.add_argument("--port", type=int, required=True)
    emu.add_argument("--buckets", default="")
    emu.add_argument("--notify-bucket", default=None)
    emu.add_argument("--notify-url", default=None)
    args = parser.parse_args(argv)
    home = Path(os.environ.get("COUNTERFEIT_HOME", ".counterfeit-stack")).resolve()

    if args.command == "storage-emulator":
        buckets = [b for b in args.buckets.split(",") if b]
        serve_storage_emulator(args.port, buckets, args.notify_bucket, args.notify_url)
        return 0

    if args.command == "up":
        if _state(home):
            print(f"already up (state in {home / 'stack.json'}); run `down` first", file=sys.stderr)
            return 1
        config = StackConfig(
            home=home,
            fixed_ports=not args.free_ports,
            with_model=not args.no_model,
            functions=tuple(ALL_FUNCTIONS),
        )
        stack = Stack(config).start()
        print(f"stack up; logs in {stack.logs}")
        for name, port in stack.ports.items():
            print(f"  {name:<15} http://127.0.0.1:{port}")
        print('use it from a shell:  eval "$(python scripts/local_stack.py env)"')
        return 0
    state = _state(home)
    if args.command == "env":
        if not state:
            print("stack is not up", file=sys.stderr)
            return 1
        for key, value in state["env"].items():
            print(f"export {key}='{value}'")
        return 0
    if args.command == "status":
        if not state:
            print("stack is not up")
            return 1
        for name, pid in state["pids"].items():
            print(
                f"  {name:<15} pid {pid:<8} port {state['ports'][name]:<6} {'up' if _alive(pid, None) else 'DOWN'}"
            )
        return 0
    if args.command == "down":
        if not state:
            print("stack is not up")
            return 0
        stack = Stack(
            StackConfig(home=home), ports=state["ports"], pids={k: int(v) for k, v in state["pids"].items()}
        )
        stack.stop()
        print("stack down")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
