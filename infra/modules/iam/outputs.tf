output "build_service_account_id" {
  description = "projects/P/serviceAccounts/EMAIL of the build identity (build_config.service_account)."
  value       = google_service_account.build.id
}

output "trigger_service_account_email" {
  description = "Identity Eventarc uses to invoke ingest_gcs."
  value       = google_service_account.trigger.email
}

output "function_service_accounts" {
  description = "Runtime identity per function: email and IAM member."
  value = {
    for fn, sa in google_service_account.function : fn => {
      email  = sa.email
      member = "serviceAccount:${sa.email}"
    }
  }
}

output "push_service_account_email" {
  description = "Identity of the push subscriptions."
  value       = google_service_account.push.email
}

output "push_service_account_member" {
  description = "The push identity as an IAM member string."
  value       = "serviceAccount:${google_service_account.push.email}"
}
