# Buckets by purpose. Candidates trigger ingest, so working copies live in their own bucket: a write there can
# never re-trigger the chain. References hold only features derived from a brand's genuine photos.

locals {
  buckets = {
    candidates = {
      purpose    = "Uploaded candidate images; object finalize starts a scan (first path segment = brand id)."
      versioned  = true
      delete_age = var.candidate_retention_days
      coldline   = null
    }
    work = {
      purpose    = "Working copies made by preprocess; never triggers anything."
      versioned  = true
      delete_age = var.work_retention_days
      coldline   = null
    }
    references = {
      purpose    = "Features extracted from brand reference images (kept while the brand exists)."
      versioned  = true
      delete_age = null
      coldline   = null
    }
    evidence = {
      purpose    = "Evidence bundles for takedowns: versioned so an overwrite never loses a filed bundle."
      versioned  = true
      delete_age = null
      coldline   = var.evidence_coldline_after_days
    }
    sources = {
      purpose    = "Function source archives, one object per content hash."
      versioned  = true
      delete_age = null
      coldline   = null
    }
  }
}

resource "google_storage_bucket" "this" {
  #checkov:skip=CKV_GCP_62:Data-access audit logs (Cloud Audit Logs) cover object access; legacy bucket access logging would need yet another bucket with the same finding.
  for_each = local.buckets

  project                     = var.project_id
  name                        = "${var.name_prefix}-${each.key}"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy

  labels = {
    purpose = each.key
  }

  versioning {
    enabled = each.value.versioned
  }

  soft_delete_policy {
    retention_duration_seconds = 604800 # 7 days: the default; recovers from a mistaken delete
  }

  dynamic "lifecycle_rule" {
    for_each = each.value.delete_age == null ? [] : [each.value.delete_age]
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  dynamic "lifecycle_rule" {
    for_each = each.value.coldline == null ? [] : [each.value.coldline]
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type          = "SetStorageClass"
        storage_class = "COLDLINE"
      }
    }
  }

  # Overwritten or deleted versions are kept for a while, then removed.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}
