# The document store: brands, references (with their embedding vectors), scans, verdicts, idempotency records.

resource "google_firestore_database" "this" {
  project                           = var.project_id
  name                              = var.database_id
  location_id                       = var.location_id
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "OPTIMISTIC"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"
}

# Review queue (brands/{brand}/verdicts): one tier, newest first.
resource "google_firestore_index" "verdicts_by_tier_newest" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "verdicts"
  query_scope = "COLLECTION"

  fields {
    field_path = "tier"
    order      = "ASCENDING"
  }

  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
}

# Review queue: one tier, highest score first.
resource "google_firestore_index" "verdicts_by_tier_score" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "verdicts"
  query_scope = "COLLECTION"

  fields {
    field_path = "tier"
    order      = "ASCENDING"
  }

  fields {
    field_path = "score"
    order      = "DESCENDING"
  }
}

# Nearest-reference search over brands/{brand}/references. Flat (exact) index: a brand has tens to hundreds of
# reference images, far below the size where an approximate index would pay off. Both scopes: the per-brand
# collection query (tenant-isolated path) and the collection-group query across brands.
resource "google_firestore_index" "references_embedding" {
  for_each    = toset(["COLLECTION", "COLLECTION_GROUP"])
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "references"
  query_scope = each.value

  # Firestore places __name__ before the vector field; declaring it keeps plans clean.
  fields {
    field_path = "__name__"
    order      = "ASCENDING"
  }

  fields {
    field_path = "embedding"
    vector_config {
      dimension = var.embedding_dimension
      flat {}
    }
  }
}
