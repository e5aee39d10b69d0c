output "buckets" {
  description = "Bucket names: upload candidates to `candidates` under <brand_id>/...; bundles land in `evidence`."
  value       = module.storage.names
}

output "candidates_bucket" {
  description = "Where to upload candidate images (gs://BUCKET/<brand_id>/<file>)."
  value       = module.storage.names["candidates"]
}

output "webhook_url" {
  description = "Marketplace webhook (POST, HMAC-SHA256 signed)."
  value       = module.functions["ingest_webhook"].url
}

output "authenticate_url" {
  description = "Close-up authentication (POST, HMAC-SHA256 signed like the webhook)."
  value       = module.functions["authenticate"].url
}

output "review_url" {
  description = "Review page (IAM-protected: call with an identity token or through `gcloud run services proxy`)."
  value       = module.functions["review"].url
}

output "review_service" {
  description = "Cloud Run service behind the review page (for `gcloud run services proxy`)."
  value       = module.functions["review"].name # a 2nd gen function's Cloud Run service has its name
}

output "model_endpoint_url" {
  description = "Model endpoint (MODEL_ENDPOINT_URL of the embed function)."
  value       = module.model_endpoint.url
}

output "model_image_repository" {
  description = "Artifact Registry path to push the model server image to."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "firestore_database" {
  description = "Firestore database id (FIRESTORE_DATABASE)."
  value       = module.firestore.database_id
}

output "topics" {
  description = "Topic ids of the chain."
  value       = module.pubsub_topics.topic_ids
}

output "dead_letter_topics" {
  description = "DLQ topic ids; `<topic>-dlq-archive` keeps messages that exhausted their retries (alerted), `<topic>-dlq-refused` those a step refused as permanent errors."
  value       = module.pubsub_topics.dead_letter_topic_ids
}

output "function_service_accounts" {
  description = "Runtime identity of each function."
  value       = { for name, sa in module.iam.function_service_accounts : name => sa.email }
}

output "secret_ids" {
  description = "Secrets to fill with `gcloud secrets versions add` before the functions start."
  value       = values(module.secrets.secret_ids)
}

output "cli_environment" {
  description = "Environment for running the `counterfeit` CLI against this deployment (e.g. `brand add`)."
  value = {
    COUNTERFEIT_BACKEND  = "gcp"
    GOOGLE_CLOUD_PROJECT = var.project_id
    CANDIDATES_BUCKET    = module.storage.names["candidates"]
    WORK_BUCKET          = module.storage.names["work"]
    REFERENCES_BUCKET    = module.storage.names["references"]
    EVIDENCE_BUCKET      = module.storage.names["evidence"]
    FIRESTORE_DATABASE   = module.firestore.database_id
  }
}
