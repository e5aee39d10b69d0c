output "database_id" {
  description = "Firestore database id (FIRESTORE_DATABASE)."
  value       = google_firestore_database.this.name
}

output "database_resource_name" {
  description = "projects/P/databases/D, used in IAM conditions."
  value       = "projects/${var.project_id}/databases/${google_firestore_database.this.name}"
}
