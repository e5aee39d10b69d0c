output "names" {
  description = "Bucket name per purpose: candidates, work, references, evidence, sources."
  value       = { for key, bucket in google_storage_bucket.this : key => bucket.name }
}

output "location" {
  description = "Location of the buckets (the storage trigger's region)."
  value       = var.location
}
