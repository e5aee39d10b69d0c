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

# Review queue (brands/{brand}/queue, one row per listing; common/review/queue_list.py QUEUE_INDEXES): each
# view is equality filters (state, tier, marketplace, seller_id, rule; signals array-contains) ordered by
# created_at DESC, optionally a created_at range. The first index serves the default view alone; the others
# are merged by Firestore for any combination of filters (index merging), so 6 indexes cover every view.
resource "google_firestore_index" "queue_by_state_tier_newest" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "queue"
  query_scope = "COLLECTION"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }

  fields {
    field_path = "tier"
    order      = "ASCENDING"
  }

  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
}

resource "google_firestore_index" "queue_by_tier_newest" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "queue"
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

resource "google_firestore_index" "queue_by_marketplace_newest" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "queue"
  query_scope = "COLLECTION"

  fields {
    field_path = "marketplace"
    order      = "ASCENDING"
  }

  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
}

resource "google_firestore_index" "queue_by_seller_newest" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "queue"
  query_scope = "COLLECTION"

  fields {
    field_path = "seller_id"
    order      = "ASCENDING"
  }

  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
}

resource "google_firestore_index" "queue_by_rule_newest" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "queue"
  query_scope = "COLLECTION"

  fields {
    field_path = "rule"
    order      = "ASCENDING"
  }

  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
}

resource "google_firestore_index" "queue_by_signal_newest" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "queue"
  query_scope = "COLLECTION"

  fields {
    field_path   = "signals"
    array_config = "CONTAINS"
  }

  fields {
    field_path = "created_at"
    order      = "DESCENDING"
  }
}

# Review dashboard (common/review/dashboard.py DASHBOARD_INDEXES): counts with equality filters and a
# created_at range (no order-by, so the range field is ordered ascending): verdicts per tier per day, and
# the age of pending queue rows per tier.
resource "google_firestore_index" "verdicts_by_tier_created" {
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
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "queue_by_state_tier_oldest" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "queue"
  query_scope = "COLLECTION"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }

  fields {
    field_path = "tier"
    order      = "ASCENDING"
  }

  fields {
    field_path = "created_at"
    order      = "ASCENDING"
  }
}

# Review queue sorted by score instead of time (one tier, strongest first).
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

# Nearest-reference search (common/embedding/index.py): find_nearest (cosine) over the collection
# brands/{brand}/reference_views, field `embedding`: one document per stored view (whole image and crops) of
# each reference. Flat (exact) index: a brand has tens to hundreds of references, far below the size where an
# approximate index would pay off. Scope COLLECTION: the query runs on one brand's collection (tenant isolation).
resource "google_firestore_index" "reference_views_embedding" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = var.vector_collection
  query_scope = "COLLECTION"

  # Firestore places __name__ before the vector field; declaring it keeps plans clean.
  fields {
    field_path = "__name__"
    order      = "ASCENDING"
  }

  fields {
    field_path = var.vector_field
    vector_config {
      dimension = var.embedding_dimension
      flat {}
    }
  }
}

# Clusters (common/clusters): nearest listing fingerprints by find_nearest (COSINE) over
# brands/{brand}/cluster_prints: `pdq_vector` (PDQ's 256 bits as a +-1 vector, so cosine = 1 - 2*hamming/256)
# and `embedding` (the image model's vector). Flat (exact): the query is a range query with a threshold.
resource "google_firestore_index" "cluster_prints_pdq" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "cluster_prints"
  query_scope = "COLLECTION"

  fields {
    field_path = "__name__"
    order      = "ASCENDING"
  }

  fields {
    field_path = "pdq_vector"
    vector_config {
      dimension = 256
      flat {}
    }
  }
}

resource "google_firestore_index" "cluster_prints_embedding" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "cluster_prints"
  query_scope = "COLLECTION"

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

# The cluster list (common/clusters/views.py list_clusters): root == true, size >= n, largest first.
resource "google_firestore_index" "clusters_by_size" {
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = "clusters"
  query_scope = "COLLECTION"

  fields {
    field_path = "root"
    order      = "ASCENDING"
  }

  fields {
    field_path = "size"
    order      = "DESCENDING"
  }
}
