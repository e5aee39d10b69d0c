"""The Terraform under infra/ matches the code: functions, triggers, topics and DLQs, env vars, grants.

Everything is read at test time (functions/, common/topics.py, common/settings.py), so a new handler, topic or
setting that infra does not deploy fails here with a message saying what to add.
"""

from __future__ import annotations

import ast
import re

import pytest
from _infra_hcl import (
    INFRA,
    ROOT,
    function_dirs,
    handler_signature,
    locals_of,
    module_call,
    published_topics,
    resource,
    settings_env_names,
    single,
    tf_files,
    variable_default,
)
from _infra_hcl import load as load_tf

from common import settings as settings_module
from common import topics

FUNCTIONS = locals_of("locals.tf")["functions"]
LOCALS = locals_of("locals.tf")
STORAGE_FINALIZED = "google.cloud.storage.object.v1.finalized"
# HMAC in code (webhook, verdict API, authenticate); IAM (review)
HTTP_FUNCTIONS = {
    "ingest_webhook": "public",
    "verdict_api": "public",
    "authenticate": "public",
    "review": "iam",
}
INGEST_FUNCTIONS = ("ingest_gcs", "ingest_webhook")

# Settings read by common/settings.py that are deliberately not set on the deployed functions, with why.
NOT_DEPLOYED = {
    "COUNTERFEIT_HOME": "state directory of the embedded default; the gcp backend keeps no local state",
    "COUNTERFEIT_MODELS_DIR": "the model manifests ship inside the package (common/models); a local override",
    "GCP_PROJECT": "legacy alias; GOOGLE_CLOUD_PROJECT is set",
    "COUNTERFEIT_FETCH_ALLOW_PRIVATE": "local emulator stack only: production must refuse private addresses (SSRF)",
    "REVIEW_TRUST_IAP": "the deployed review page sits behind IAM, not an IAP load balancer (docs/deploy.md)",
    "REVIEW_IAP_AUDIENCE": "only meaningful with REVIEW_TRUST_IAP behind an IAP load balancer",
    "DISCOVERY_VISION_ENDPOINT": "test servers and proxies only: the deployed sweep calls the public Vision API",
    "DISCOVERY_BRAVE_ENDPOINT": "test servers and proxies only: the deployed sweep calls api.search.brave.com",
}
# Settings only some functions need: env name -> {module that reads the setting: function that runs it}.
# A new reader of one of these settings fails test_function_specific_settings_have_known_readers until it is
# listed here (and infra gives the setting to the function that now needs it).
KNOWN_READERS = {
    # doctor (CLI only) checks the endpoint the embed function would call
    "MODEL_ENDPOINT_URL": {"common/embedding/client.py": ("embed", "cluster"), "common/doctor.py": "embed"},
    "WEBHOOK_SECRETS": {
        "common/webhook.py": "ingest_webhook",
        "common/callbacks.py": ("evidence", "review"),
        "common/verdict_api.py": "verdict_api",
        "common/authenticate/http.py": "authenticate",
    },
    "REVIEW_TOKENS": {
        "common/review/auth.py": "review",
        "common/review/app.py": "review",
        "common/review/session.py": "review",
        "common/review/dashboard_routes.py": "review",  # the reviewers configured on a brand, for their counts
    },
    "REVIEW_NAMES": {"common/review/case_routes.py": "review"},
    "REVIEW_BASE_URL": {"common/callbacks.py": ("evidence", "review")},
    "BRAVE_SEARCH_API_KEY": {"common/discovery/sweep.py": "discover"},
}
FUNCTION_SPECIFIC = {
    env: {fn for fns in readers.values() for fn in ((fns,) if isinstance(fns, str) else fns)}
    for env, readers in KNOWN_READERS.items()
}
SECRET_SETTINGS = {"WEBHOOK_SECRETS", "REVIEW_TOKENS", "BRAVE_SEARCH_API_KEY"}


def _env_of(name: str) -> set[str]:
    """Env names a function gets: base environment + its function_environment + its secret env."""
    plain = set(LOCALS["base_environment"]) | set(LOCALS["function_environment"].get(name, {}))
    return plain | set(FUNCTIONS[name]["secrets"])


# --- functions -----------------------------------------------------------------------------------------------


def test_every_function_directory_is_deployed_and_nothing_else() -> None:
    dirs = set(function_dirs())
    assert dirs, "functions/ has no <name>/main.py"
    missing = dirs - set(FUNCTIONS)
    assert not missing, (
        f"functions without a deployment: add them to infra/locals.tf functions: {sorted(missing)}"
    )
    stale = set(FUNCTIONS) - dirs
    assert not stale, f"infra deploys functions that have no functions/<name>/main.py: {sorted(stale)}"


def test_functions_module_deploys_each_entry_with_its_name_as_entry_point() -> None:
    call = module_call("functions")
    assert call["source"] == "./modules/cloud_function"
    assert call["for_each"] == "${local.functions}"
    assert call["entry_point"] == "${each.key}"
    assert call["archive_path"] == "${path.root}/${var.function_source_dir}/${each.key}.zip"
    function = resource("google_cloudfunctions2_function", "this", "modules/cloud_function/main.tf")
    build = single(function["build_config"])
    assert build["entry_point"] == "${var.entry_point}"
    assert build["runtime"] == "${var.runtime}"


@pytest.mark.parametrize("name", function_dirs())
def test_entry_point_exists_with_the_signature_its_trigger_delivers(name: str) -> None:
    signature = handler_signature(name)
    assert signature is not None, f"functions/{name}/main.py has no `def {name}` (the entry point)"
    expected = "http" if FUNCTIONS[name]["trigger"] == "http" else "cloud_event"
    assert signature == expected, (
        f"{name}: trigger {FUNCTIONS[name]['trigger']!r} delivers {expected} requests, handler is {signature}"
    )


@pytest.mark.parametrize("name", function_dirs())
def test_trigger_matches_topics_py(name: str) -> None:
    fn = FUNCTIONS[name]
    if name in topics.SUBSCRIPTIONS:
        assert fn["trigger"] == "pubsub"
        assert fn["topics"] == [topics.SUBSCRIPTIONS[name]]
    elif name == "dead_letter":
        assert fn["trigger"] == "pubsub"
        assert sorted(fn["topics"]) == sorted(topics.dead_letter_topic(t) for t in topics.TOPICS)
    elif name in topics.SCHEDULED_FUNCTIONS:  # discover: Cloud Scheduler -> Pub/Sub (infra/discovery.tf)
        assert fn["trigger"] == "pubsub"
        assert fn["topics"] == [topics.SCHEDULED_FUNCTIONS[name]]
    elif name == "ingest_gcs":
        assert fn["trigger"] == "storage"
        assert fn["topics"] == []
    else:
        assert name in HTTP_FUNCTIONS, f"{name}: unknown function; say how it is triggered in this test"
        assert fn["trigger"] == "http"
        assert fn["topics"] == []


def test_storage_trigger_is_candidates_finalize_with_retry() -> None:
    call = module_call("functions")
    assert call["trigger"]["bucket"] == (
        '${each.value.trigger == "storage" ? module.storage.names["candidates"] : null}'
    )
    function = resource("google_cloudfunctions2_function", "this", "modules/cloud_function/main.tf")
    trigger = single(function["dynamic"])["event_trigger"]
    content = single(trigger["content"])
    assert content["event_type"] == STORAGE_FINALIZED
    assert content["retry_policy"] == "RETRY_POLICY_RETRY"
    assert single(content["event_filters"])["attribute"] == "bucket"
    from common import entrypoints  # the event type the handler accepts (everything else is dropped)

    assert entrypoints.FINALIZED == STORAGE_FINALIZED
    assert "run_finalized_upload(event)" in (INFRA.parent / "functions/ingest_gcs/main.py").read_text()


def test_pubsub_steps_publish_exactly_what_the_pipeline_returns() -> None:
    for step in topics.SUBSCRIPTIONS:
        granted = set(FUNCTIONS[step]["publishes"])
        assert granted == published_topics(f"{step}_step"), f"{step}: publisher grants differ from the code"
    for name in INGEST_FUNCTIONS:
        assert FUNCTIONS[name]["publishes"] == [topics.SCAN_REQUESTED]
    for name in ("dead_letter", "review"):
        assert FUNCTIONS[name]["publishes"] == []
    assert FUNCTIONS["discover"]["publishes"] == [topics.SCAN_REQUESTED]  # found images start scans
    every_publisher = {t for fn in FUNCTIONS.values() for t in fn["publishes"]}
    assert every_publisher | set(topics.SCHEDULED_TOPICS) == set(topics.TOPICS)
    assert not every_publisher & set(topics.SCHEDULED_TOPICS)  # only the scheduler publishes those


def test_chain_steps_may_publish_into_the_dlq_of_the_topic_they_read() -> None:
    """run_step dead-letters a permanent error itself (no retries): the step's identity needs publisher on
    exactly its own topic's DLQ, and the IAM module must be able to resolve DLQ topic ids."""
    iam = module_call("iam")
    assert iam["topic_ids"] == "${module.pubsub_topics.all_topic_ids}"
    assert iam["functions"].replace(" ", "").count("publishes=local.function_publishes[name]") == 1
    derived = locals_of("main.tf")["function_publishes"].replace(" ", "")
    assert 'fn.publishes,[fortopicinfn.topics:"${topic}-dlq"ifcontains(local.topics,topic)]' in derived
    for step in topics.SUBSCRIPTIONS:
        assert FUNCTIONS[step]["topics"] == [topics.SUBSCRIPTIONS[step]]  # so the DLQ derived is this one
        assert topics.SUBSCRIPTIONS[step] in LOCALS["topics"]


# --- topics, subscriptions, dead letters ---------------------------------------------------------------------


def test_every_topic_exists_with_a_dlq() -> None:
    assert LOCALS["topics"] == list(topics.TOPICS)
    assert module_call("pubsub_topics")["topics"] == "${local.topics}"
    dlq_names = locals_of("modules/pubsub_topics/main.tf")["dead_letter_topics"]
    assert dlq_names == '${{for topic in var.topics : topic => "${topic}-dlq"}}'
    assert topics.dead_letter_topic("x") == "x-dlq"
    dlq = resource("google_pubsub_topic", "dead_letter", "modules/pubsub_topics/main.tf")
    assert dlq["for_each"] == "${local.dead_letter_topics}"
    assert dlq["name"] == "${each.value}"
    # The Pub/Sub service agent may publish into every DLQ.
    grant = resource(
        "google_pubsub_topic_iam_member", "dead_letter_publisher", "modules/pubsub_topics/main.tf"
    )
    assert grant["for_each"] == "${local.dead_letter_topics}"
    assert grant["role"] == "roles/pubsub.publisher"
    assert (
        "gcp-sa-pubsub.iam.gserviceaccount.com" in locals_of("modules/pubsub_topics/main.tf")["pubsub_agent"]
    )


def test_subscriptions_dead_letter_after_max_delivery_attempts() -> None:
    assert LOCALS["max_delivery_attempts"] == topics.MAX_DELIVERY_ATTEMPTS
    call = module_call("pubsub_push")
    assert call["max_delivery_attempts"] == "${local.max_delivery_attempts}"
    sub = resource("google_pubsub_subscription", "push", "modules/pubsub_push/main.tf")
    policy = single(sub["dynamic"])["dead_letter_policy"]
    assert single(policy["content"])["max_delivery_attempts"] == "${var.max_delivery_attempts}"
    assert single(policy["content"])["dead_letter_topic"] == "${dead_letter_policy.value}"
    retry = single(sub["retry_policy"])
    assert retry == {"minimum_backoff": "${var.minimum_backoff}", "maximum_backoff": "${var.maximum_backoff}"}
    # The subscription of a source topic names that topic's DLQ; a DLQ's own subscription has none.
    mapping = call["push_subscriptions"]
    assert (
        'dead_letter_topic_id = target.dead_letter ? module.pubsub_topics.all_topic_ids["${target.topic}-dlq"]'
        in ((INFRA / "main.tf").read_text())
    ), mapping
    assert "dead_letter = contains(local.topics, topic)" in (INFRA / "main.tf").read_text()
    # The service agent must be able to ack on the source subscription, or nothing is ever dead-lettered.
    ack = resource(
        "google_pubsub_subscription_iam_member", "source_subscriber", "modules/pubsub_push/main.tf"
    )
    assert ack["role"] == "roles/pubsub.subscriber"
    assert ack["for_each"] == "${local.dead_lettered}"


def test_every_subscribed_topic_has_one_consumer_subscription_per_function() -> None:
    """Mirror of local.push_subscriptions: the (function, topic) pairs and which of them dead-letter."""
    pairs = {
        (name, topic, topic in topics.TOPICS)
        for name, fn in FUNCTIONS.items()
        if fn["trigger"] == "pubsub"
        for topic in fn["topics"]
    }
    expected = {(f, t, True) for f, t in (topics.SUBSCRIPTIONS | topics.SCHEDULED_FUNCTIONS).items()}
    expected |= {("dead_letter", topics.dead_letter_topic(t), False) for t in topics.TOPICS}
    assert pairs == expected
    # Fan-out: each expensive channel has its own subscription on channels-requested.
    fan_out = {f for f, t, _ in pairs if t == topics.CHANNELS_REQUESTED}
    assert fan_out == set(topics.EXPENSIVE_CHANNELS)


def test_push_goes_to_a_topic_path_with_the_function_url_as_audience() -> None:
    """functions-framework converts a raw push into a messagePublished CloudEvent using the topic in the path."""
    sub = resource("google_pubsub_subscription", "push", "modules/pubsub_push/main.tf")
    push = single(sub["push_config"])
    assert push["push_endpoint"] == "${each.value.function_url}/${local.topic_path}/${each.value.topic}"
    assert locals_of("modules/pubsub_push/main.tf")["topic_path"] == "projects/${var.project_id}/topics"
    assert single(push["oidc_token"])["audience"] == "${each.value.function_url}"


# --- environment ---------------------------------------------------------------------------------------------


def test_every_setting_is_deployed_or_explained() -> None:
    read = settings_env_names()
    assert {"COUNTERFEIT_BACKEND", "GOOGLE_CLOUD_PROJECT", "CANDIDATES_BUCKET"} <= read  # the parser works
    deployed = set(LOCALS["base_environment"]) | set(FUNCTION_SPECIFIC)
    unexplained = read - deployed - set(NOT_DEPLOYED)
    assert not unexplained, (
        f"common/settings.py reads {sorted(unexplained)}: set them in infra/locals.tf (base_environment or "
        "function_environment / secrets) or add them to NOT_DEPLOYED here with the reason"
    )
    typos = deployed - read
    assert not typos, f"infra sets env vars common/settings.py never reads: {sorted(typos)}"


def _settings_attribute(env_name: str) -> str:
    """The Settings field filled from ``env_name`` (keyword of the ``cls(...)`` call in Settings.from_env)."""
    tree = ast.parse((ROOT / "common/settings.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "cls":
            for kw in node.keywords:
                if any(isinstance(c, ast.Constant) and c.value == env_name for c in ast.walk(kw.value)):
                    return str(kw.arg)
    raise KeyError(env_name)


@pytest.mark.parametrize("env_name", sorted(KNOWN_READERS))
def test_function_specific_settings_have_known_readers(env_name: str) -> None:
    attribute = _settings_attribute(env_name)
    pattern = re.compile(rf"\.{attribute}\b")
    readers = {
        path.relative_to(ROOT).as_posix()
        for folder in ("common", "functions")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "settings.py" and pattern.search(path.read_text(encoding="utf-8"))
    }
    assert readers == set(KNOWN_READERS[env_name]), (
        f"settings.{attribute} ({env_name}) is read by {sorted(readers)}; update KNOWN_READERS and give "
        "the setting to the functions that run the new reader (infra/locals.tf)"
    )


def test_base_environment_selects_the_gcp_backend_and_the_deployed_resources() -> None:
    env = LOCALS["base_environment"]
    assert env["COUNTERFEIT_BACKEND"] == "gcp"
    assert env["GOOGLE_CLOUD_PROJECT"] == "${var.project_id}"
    for setting, purpose in [
        ("CANDIDATES_BUCKET", "candidates"),
        ("WORK_BUCKET", "work"),
        ("REFERENCES_BUCKET", "references"),
        ("EVIDENCE_BUCKET", "evidence"),
    ]:
        assert env[setting] == f'${{module.storage.names["{purpose}"]}}'
    assert env["FIRESTORE_DATABASE"] == "${module.firestore.database_id}"
    assert env["COUNTERFEIT_VISION_BACKEND"] == "${var.vision_backend}"
    call = module_call("functions")
    assert call["environment"] == (
        "${merge(local.base_environment, lookup(local.function_environment, each.key, {}))}"
    )


@pytest.mark.parametrize("name", function_dirs())
def test_function_gets_the_settings_it_needs(name: str) -> None:
    env = _env_of(name)
    assert set(LOCALS["base_environment"]) <= env
    for setting, needed_by in FUNCTION_SPECIFIC.items():
        if name in needed_by:
            assert setting in env, f"{name} needs {setting}"
        else:
            assert setting not in env, f"{name} gets {setting} but does not need it (least privilege)"
    for setting in SECRET_SETTINGS & env:
        assert setting in FUNCTIONS[name]["secrets"], f"{setting} must come from Secret Manager"


def test_limits_default_to_the_code_defaults() -> None:
    assert variable_default("max_image_bytes") == settings_module.DEFAULT_MAX_IMAGE_BYTES
    assert variable_default("max_image_pixels") == settings_module.DEFAULT_MAX_IMAGE_PIXELS


def test_private_fetches_are_never_enabled_in_the_cloud() -> None:
    for path in tf_files():
        code = "\n".join(
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.lstrip().startswith("#")
        )
        assert "COUNTERFEIT_FETCH_ALLOW_PRIVATE" not in code, path


def test_model_endpoint_reads_images_through_the_same_settings() -> None:
    env = LOCALS["model_environment"]
    assert env["COUNTERFEIT_BACKEND"] == "gcp"
    assert set(env) <= settings_env_names()
    assert {"CANDIDATES_BUCKET", "WORK_BUCKET", "REFERENCES_BUCKET"} <= set(env)
    assert LOCALS["function_environment"]["embed"]["MODEL_ENDPOINT_URL"] == "${module.model_endpoint.url}"
    callers = {n for n, env in LOCALS["function_environment"].items() if "MODEL_ENDPOINT_URL" in env}
    assert callers == {"embed", "cluster"}  # every function given the endpoint may invoke it
    assert module_call("model_endpoint")["invokers"] == {
        name: f'${{module.iam.function_service_accounts["{name}"].member}}' for name in callers
    }


def test_embedding_dimension_matches_the_shipped_model_manifest() -> None:
    import json

    manifests = sorted((INFRA.parent / "common" / "models").glob("*.json"))
    dims = {
        json.loads(p.read_text())["output_dim"]
        for p in manifests
        if "output_dim" in json.loads(p.read_text())
    }
    default = variable_default("embedding_dimension")
    assert not dims or default in dims, (
        f"embedding_dimension {default} but common/models/*.json say {sorted(dims)}"
    )


# --- exposure and least privilege ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", function_dirs())
def test_only_the_webhook_is_public_and_only_user_facing_functions_take_outside_traffic(name: str) -> None:
    fn = FUNCTIONS[name]
    expected_access = HTTP_FUNCTIONS.get(name, "private")
    assert fn["access"] == expected_access
    assert fn["ingress"] == ("ALLOW_ALL" if name in HTTP_FUNCTIONS else "ALLOW_INTERNAL_ONLY")
    assert module_call("functions")["public"] == '${each.value.access == "public"}'


def test_grants_use_object_roles_on_known_buckets_only() -> None:
    buckets = set(locals_of("modules/storage/main.tf")["buckets"])
    for name, fn in FUNCTIONS.items():
        assert set(fn["bucket_roles"]) <= buckets - {"sources"}, name
        assert set(fn["bucket_roles"].values()) <= {"${local.reader}", "${local.writer}"}, name
    assert LOCALS["reader"] == "roles/storage.objectViewer"
    assert LOCALS["writer"] == "roles/storage.objectUser"
    # Only the steps that write blobs may write (webhook listing images, working copies, a scan's SIFT pass,
    # evidence bundles; the review page adds a confirmed item's takedown notice to its evidence bundle, nothing
    # else).
    writers = {n for n, fn in FUNCTIONS.items() if "${local.writer}" in fn["bucket_roles"].values()}
    assert writers == {"ingest_webhook", "preprocess", "hash_match", "evidence", "review", "discover"}
    assert [p for p, r in FUNCTIONS["hash_match"]["bucket_roles"].items() if r == "${local.writer}"] == [
        "work"
    ]
    assert FUNCTIONS["discover"]["bucket_roles"] == {
        "references": "${local.reader}",
        "candidates": "${local.writer}",
    }
    assert [p for p, r in FUNCTIONS["review"]["bucket_roles"].items() if r == "${local.writer}"] == [
        "evidence"
    ]


def test_buckets_are_private_uniform_and_evidence_is_versioned() -> None:
    bucket = resource("google_storage_bucket", "this", "modules/storage/main.tf")
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    config = locals_of("modules/storage/main.tf")["buckets"]
    assert config["evidence"]["versioned"] is True
    assert set(config) == {"candidates", "work", "references", "evidence", "sources"}


def test_variables_are_typed_and_described() -> None:
    for path in tf_files():
        for block in load_tf(str(path.relative_to(INFRA))).get("variable", []):
            for name, spec in block.items():
                assert spec.get("type"), f"{path}: variable {name} has no type"
                assert spec.get("description"), f"{path}: variable {name} has no description"


def test_outputs_a_user_needs() -> None:
    outputs = {}
    for block in load_tf("outputs.tf").get("output", []):
        outputs.update(block)
    for name in ("buckets", "webhook_url", "review_url", "model_endpoint_url", "candidates_bucket"):
        assert name in outputs, name
        assert outputs[name].get("description"), name
    assert outputs["webhook_url"]["value"] == '${module.functions["ingest_webhook"].url}'


def test_example_tfvars_sets_every_required_variable() -> None:
    required = []
    for block in load_tf("variables.tf").get("variable", []):
        required += [name for name, spec in block.items() if "default" not in spec]
    example = (INFRA / "terraform.tfvars.example").read_text(encoding="utf-8")
    for name in required:
        assert re.search(rf"^{name}\s*=", example, re.M), f"terraform.tfvars.example lacks {name}"


# --- Firestore -----------------------------------------------------------------------------------------------


def test_vector_index_covers_the_find_nearest_query() -> None:
    from common.embedding import index as vector_index

    firestore = "modules/firestore/"
    assert variable_default("vector_collection", firestore + "variables.tf") == vector_index.VIEWS_COLLECTION
    assert variable_default("vector_field", firestore + "variables.tf") == vector_index.VECTOR_FIELD
    idx = resource("google_firestore_index", "reference_views_embedding", firestore + "main.tf")
    assert idx["collection"] == "${var.vector_collection}"
    assert idx["query_scope"] == "COLLECTION"  # the query runs on brands/{brand}/reference_views
    vector = idx["fields"][-1]
    assert vector["field_path"] == "${var.vector_field}"
    assert single(vector["vector_config"])["dimension"] == "${var.embedding_dimension}"
    assert module_call("firestore")["embedding_dimension"] == "${var.embedding_dimension}"


def test_review_queue_queries_have_their_composite_indexes() -> None:
    """Every index common/review/queue_list.py names (its queries' equality fields + created_at DESC) is a
    google_firestore_index on the queue collection, and the queries use only fields those indexes cover."""
    from common.review.queue_list import QUEUE_INDEXES, QueueFilters

    declared = set()
    for block in load_tf("modules/firestore/main.tf").get("resource", []):
        for idx in block.get("google_firestore_index", {}).values():
            if idx["collection"] == "queue":
                assert idx["query_scope"] == "COLLECTION"  # one brand's collection: tenant isolation
                declared.add(
                    tuple((f["field_path"], f.get("order") or f["array_config"]) for f in idx["fields"])
                )
    assert set(QUEUE_INDEXES) <= declared, set(QUEUE_INDEXES) - declared
    every = QueueFilters(marketplace="m", seller_id="s", signal="logo", rule="r")
    indexed = {fields[0][0] for fields in QUEUE_INDEXES}
    assert {f.field for f in every.store_filters(1)} - {"created_at"} <= indexed


def test_review_dashboard_counts_have_their_composite_indexes() -> None:
    """The dashboard's counts (common/review/dashboard.py DASHBOARD_INDEXES) each have their index, scoped to
    one brand's collection."""
    from common.review.dashboard import DASHBOARD_INDEXES

    declared = set()
    for block in load_tf("modules/firestore/main.tf").get("resource", []):
        for idx in block.get("google_firestore_index", {}).values():
            fields = tuple((f["field_path"], f.get("order")) for f in idx["fields"])
            declared.add((idx["collection"], idx["query_scope"], fields))
    for collection, fields in DASHBOARD_INDEXES.items():
        assert (collection, "COLLECTION", fields) in declared, (collection, fields)


def test_model_endpoint_concurrency_matches_the_server_threads() -> None:
    dockerfile = (INFRA.parent / "model_server/Dockerfile").read_text(encoding="utf-8")
    threads = re.search(r"--threads\s+(\d+)", dockerfile)
    assert threads, "model_server/Dockerfile no longer sets gunicorn --threads"
    assert variable_default("model_concurrency") == int(threads.group(1))
    assert variable_default("model_health_check_path") in dockerfile + (
        INFRA.parent / "common/embedding/server.py"
    ).read_text(encoding="utf-8")


def test_dead_letter_alert_watches_the_archive_subscriptions() -> None:
    archive = resource("google_pubsub_subscription", "dead_letter_archive", "modules/pubsub_topics/main.tf")
    assert archive["name"] == "${each.value}-archive"  # each.value = "<topic>-dlq"
    suffix = variable_default("dead_letter_archive_suffix", "modules/monitoring/variables.tf")
    assert f"{topics.dead_letter_topic(topics.SCAN_REQUESTED)}-archive".endswith(suffix)
    assert archive["retain_acked_messages"] is True


def test_refused_messages_are_archived_apart_and_never_alert() -> None:
    """run_step dead-letters permanent errors (bad input) itself with chain.PERMANENT_ATTRIBUTE: they are kept
    in `<topic>-dlq-refused` for inspection, and only messages that exhausted their retries reach the alerted
    `<topic>-dlq-archive`."""
    from common import chain

    path = "modules/pubsub_topics/main.tf"
    archive = resource("google_pubsub_subscription", "dead_letter_archive", path)
    refused = resource("google_pubsub_subscription", "refused_archive", path)
    assert archive["filter"] == f"NOT attributes:{chain.PERMANENT_ATTRIBUTE}"
    assert refused["filter"] == f"attributes:{chain.PERMANENT_ATTRIBUTE}"
    assert refused["topic"] == archive["topic"] and refused["name"] == "${each.value}-refused"
    assert refused["retain_acked_messages"] is True
    suffix = variable_default("dead_letter_archive_suffix", "modules/monitoring/variables.tf")
    assert not f"{topics.dead_letter_topic(topics.SCAN_REQUESTED)}-refused".endswith(suffix)


def test_the_scheduler_publishes_a_valid_discovery_request_to_its_topic() -> None:
    import base64
    import json

    from common.messages import DiscoveryRequested

    job = resource("google_cloud_scheduler_job", "discovery", "discovery.tf")
    target = single(job["pubsub_target"])
    assert target["topic_name"] == f'${{module.pubsub_topics.all_topic_ids["{topics.DISCOVERY_REQUESTED}"]}}'
    assert target["attributes"] == {"kind": DiscoveryRequested.KIND}
    # The data is HCL: base64encode(jsonencode({ schema_version = 1 })); what it encodes must parse.
    assert target["data"].replace(" ", "") == "${base64encode(jsonencode({schema_version=1}))}"
    request = DiscoveryRequested.from_pubsub(
        base64.b64decode(base64.b64encode(json.dumps({"schema_version": 1}).encode())), target["attributes"]
    )
    assert request.brand_id is None  # every opted-in brand
    assert job["count"] == "${var.discovery_schedule == null ? 0 : 1}"
    assert "cloudscheduler.googleapis.com" in (INFRA / "main.tf").read_text()
