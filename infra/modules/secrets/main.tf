# Shared secrets (webhook HMAC keys per marketplace, review tokens per brand). Who may read each one is
# granted by the iam module (only the function that needs it).

resource "google_secret_manager_secret" "this" {
  for_each  = var.secrets
  project   = var.project_id
  secret_id = each.key

  labels = {
    purpose = "counterfeit"
  }

  annotations = {
    holds = each.value
  }

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "initial" {
  for_each    = nonsensitive(toset(keys(var.initial_values)))
  secret      = google_secret_manager_secret.this[each.value].id
  secret_data = var.initial_values[each.value]
}
