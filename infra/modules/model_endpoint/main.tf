# The self-hosted ONNX model endpoint (model_server/Dockerfile) on Cloud Run. Private: only the identities in
# `invokers` (the embed and cluster functions) may call it; the function sends an ID token for the service URL.

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "Model endpoint runtime identity"
  description  = "Serves embeddings; may only read images from the pipeline's buckets."
}

resource "google_cloud_run_v2_service" "this" {
  project             = var.project_id
  name                = var.name
  location            = var.region
  description         = "ONNX image encoder for the embed channel"
  deletion_protection = var.deletion_protection
  # Functions reach run.app URLs over the internet path, which Cloud Run does not count as internal without a
  # VPC connector; IAM (no allUsers binding) is what keeps the endpoint private.
  ingress = "INGRESS_TRAFFIC_ALL"

  template {
    service_account                  = google_service_account.runtime.email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "${var.request_timeout_seconds}s"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image

      ports {
        container_port = var.container_port
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = true # CPU only while serving: billing stops between requests
        startup_cpu_boost = true # model load on cold start
      }

      dynamic "env" {
        for_each = var.environment
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "startup_probe" {
        for_each = var.health_check_path == null ? [] : [var.health_check_path]
        content {
          initial_delay_seconds = 0
          period_seconds        = 3
          failure_threshold     = 20
          timeout_seconds       = 2

          http_get {
            path = startup_probe.value
          }
        }
      }
    }
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = var.invokers
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.this.name
  role     = "roles/run.invoker"
  member   = each.value
}

# The embed channel may send gs:// URIs instead of bytes; the server reads them (only from these buckets).
resource "google_storage_bucket_iam_member" "reader" {
  for_each = var.readable_buckets
  bucket   = each.value
  role     = "roles/storage.objectViewer"
  member   = "serviceAccount:${google_service_account.runtime.email}"
}
