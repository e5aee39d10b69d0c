output "name" {
  description = "Deployed function name."
  value       = google_cloudfunctions2_function.this.name
}

output "url" {
  description = "HTTPS URL of the function (push subscriptions and HTTP callers use it)."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}

output "service" {
  description = "Full resource name of the Cloud Run service behind the function."
  value       = google_cloudfunctions2_function.this.service_config[0].service
}

output "archive_object" {
  description = "Object name of the uploaded source (carries the content hash)."
  value       = google_storage_bucket_object.source.name
}
