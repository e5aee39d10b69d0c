# One Cloud Function (2nd gen) running as its own service account: a source archive uploaded under its content
# hash (a new hash is a new object, so Terraform redeploys exactly when the code changed), and who may call it.

locals {
  archive_sha256 = filesha256(var.archive_path)
  # Content-addressed object name: unchanged code keeps the same object and no rebuild happens.
  archive_object = "${var.name}/${local.archive_sha256}.zip"
}

resource "google_storage_bucket_object" "source" {
  name         = local.archive_object
  bucket       = var.source_bucket
  source       = var.archive_path
  content_type = "application/zip"
}

resource "google_cloudfunctions2_function" "this" {
  #checkov:skip=CKV_GCP_124:Ingress is chosen per function by the caller (var.ingress, default internal-only). Only the HMAC-signed marketplace webhook and the IAM-protected review page use ALLOW_ALL; tests/infra asserts every other function is ALLOW_INTERNAL_ONLY.
  project     = var.project_id
  name        = var.name
  location    = var.region
  description = var.description
  labels      = var.labels

  build_config {
    runtime         = var.runtime
    entry_point     = var.entry_point
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = var.source_bucket
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = var.memory
    available_cpu                    = var.cpu
    timeout_seconds                  = var.timeout_seconds
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = var.concurrency
    ingress_settings                 = var.ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = var.service_account_email
    environment_variables            = var.environment

    dynamic "secret_environment_variables" {
      for_each = var.secret_environment
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  dynamic "event_trigger" {
    for_each = var.trigger.type == "storage" ? [var.trigger] : []
    content {
      trigger_region        = event_trigger.value.region
      event_type            = "google.cloud.storage.object.v1.finalized"
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = var.trigger_service_account

      event_filters {
        attribute = "bucket"
        value     = event_trigger.value.bucket
      }
    }
  }
}

# Gen2 functions are Cloud Run services: invoking one needs roles/run.invoker on that service.
resource "google_cloud_run_v2_service_iam_member" "trigger" {
  count    = var.trigger.type == "storage" ? 1 : 0
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.name # a 2nd gen function runs as the Cloud Run service of the same name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${var.trigger_service_account}"
}

resource "google_cloud_run_v2_service_iam_member" "invokers" {
  for_each = var.invokers
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.name # a 2nd gen function runs as the Cloud Run service of the same name
  role     = "roles/run.invoker"
  member   = each.value
}

# Only for the marketplace webhook: marketplaces cannot mint Google identity tokens, so the handler
# authenticates every request itself (HMAC-SHA256 over the body with a per-marketplace secret, timestamp,
# replay check). tests/infra asserts no other function is public.
resource "google_cloud_run_v2_service_iam_member" "public" {
  count    = var.public ? 1 : 0
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.name # a 2nd gen function runs as the Cloud Run service of the same name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
