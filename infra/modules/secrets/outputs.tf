output "secret_ids" {
  description = "Secret id per secret name (the same strings; referencing them orders grants after creation)."
  value       = { for key, secret in google_secret_manager_secret.this : key => secret.secret_id }
}
