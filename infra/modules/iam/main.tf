# Identities shared by the pipeline and every grant a function needs, each on the narrowest resource:
# bucket-level object roles, topic-level publisher, per-secret accessor, Firestore conditioned on our database.

data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

locals {
  members = { for fn, sa in google_service_account.function : fn => "serviceAccount:${sa.email}" }

  bucket_grants = merge([
    for fn, f in var.functions : {
      for purpose, role in f.bucket_roles : "${fn}/${purpose}" => {
        function = fn
        bucket   = var.buckets[purpose]
        role     = role
      }
    }
  ]...)

  topic_grants = merge([
    for fn, f in var.functions : {
      for topic in f.publishes : "${fn}/${topic}" => {
        function = fn
        topic    = var.topic_ids[topic]
      }
    }
  ]...)

  secret_grants = merge([
    for fn, f in var.functions : {
      for secret in f.secrets : "${fn}/${secret}" => {
        function = fn
        secret   = var.secret_ids[secret]
      }
    }
  ]...)

  firestore_users = toset([for fn, f in var.functions : fn if f.firestore])

  build_roles = toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])
}

resource "google_service_account" "function" {
  for_each     = var.functions
  project      = var.project_id
  account_id   = each.value.account_id
  display_name = "Runtime identity of the ${each.key} function"
  description  = "Holds only the grants ${each.key} needs (this module)."
}

# Cloud Build identity for the function builds (instead of the Compute default account and its Editor role).
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "Builds the Cloud Functions"
  description  = "Reads the source archives, writes build logs and the built images."
}

resource "google_project_iam_member" "build" {
  for_each = local.build_roles
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.build.email}"
}

# Read access to the source archives: ours, and the gcf-v2-sources-* bucket Cloud Functions copies them to
# before the build. Conditioned on those bucket names so the build identity cannot read tenant images.
resource "google_project_iam_member" "build_sources" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = "serviceAccount:${google_service_account.build.email}"

  condition {
    title       = "function-sources-only"
    description = "Only the function source buckets"
    expression  = "resource.name == \"projects/_/buckets/${var.buckets["sources"]}\" || resource.name.startsWith(\"projects/_/buckets/${var.buckets["sources"]}/\") || resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")"
  }
}

# Identity Eventarc uses to deliver storage finalize events to ingest_gcs.
resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-trigger"
  display_name = "Eventarc trigger identity"
  description  = "Receives storage events and invokes ingest_gcs (run.invoker on that function only)."
}

resource "google_project_iam_member" "trigger_event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

# Storage finalize events reach Eventarc through Pub/Sub, published by the Cloud Storage service agent.
resource "google_project_iam_member" "gcs_agent_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# Identity the Pub/Sub push subscriptions sign their OIDC tokens with; it holds run.invoker on the consuming
# functions only (granted by the cloud_function module).
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "Pub/Sub push identity"
  description  = "Signs push OIDC tokens; may invoke the Pub/Sub-driven functions and nothing else."
}

# Pub/Sub mints those tokens as the push identity (explicitly needed in projects made before 2021-04-08).
resource "google_service_account_iam_member" "pubsub_agent_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${var.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_storage_bucket_iam_member" "function" {
  for_each = local.bucket_grants
  bucket   = each.value.bucket
  role     = each.value.role
  member   = local.members[each.value.function]
}

resource "google_pubsub_topic_iam_member" "function_publisher" {
  for_each = local.topic_grants
  project  = var.project_id
  topic    = each.value.topic
  role     = "roles/pubsub.publisher"
  member   = local.members[each.value.function]
}

resource "google_secret_manager_secret_iam_member" "function_accessor" {
  for_each  = local.secret_grants
  project   = var.project_id
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = local.members[each.value.function]
}

resource "google_project_iam_member" "function_firestore" {
  for_each = local.firestore_users
  project  = var.project_id
  role     = "roles/datastore.user"
  member   = local.members[each.value]

  condition {
    title       = "only-${replace(each.key, "_", "-")}-database"
    description = "Firestore access limited to the pipeline's database"
    expression  = "resource.name == \"${var.firestore_database}\""
  }
}

# V4 signed URLs of evidence reports in callbacks (common/adapters/gcp.py GcsBlobStore.signed_url): a function's
# runtime credentials hold no private key, so it signs through IAM signBlob as itself; this grant is on its own
# service account only (it can mint tokens for nobody else).
resource "google_service_account_iam_member" "url_signer" {
  for_each           = toset(var.url_signers)
  service_account_id = google_service_account.function[each.value].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_service_account.function[each.value].email}"
}
