variable "project_id" {
  description = "Project that owns the buckets."
  type        = string
}

variable "location" {
  description = "Bucket location (a region such as europe-west1; keep it equal to the functions' region)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every bucket name (bucket names are global, so it should include the project id)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][-a-z0-9]{2,48}$", var.name_prefix))
    error_message = "name_prefix must be 3-49 lower case letters, digits or hyphens."
  }
}

variable "candidate_retention_days" {
  description = "Days an uploaded candidate image is kept before deletion (its evidence bundle keeps a copy)."
  type        = number
  default     = 90

  validation {
    condition     = var.candidate_retention_days >= 1
    error_message = "candidate_retention_days must be at least 1."
  }
}

variable "work_retention_days" {
  description = "Days the working copies (normalised images per scan) are kept."
  type        = number
  default     = 30

  validation {
    condition     = var.work_retention_days >= 1
    error_message = "work_retention_days must be at least 1."
  }
}

variable "evidence_coldline_after_days" {
  description = "Age at which evidence bundles move to COLDLINE storage (they are rarely read after a takedown)."
  type        = number
  default     = 180

  validation {
    condition     = var.evidence_coldline_after_days >= 30
    error_message = "evidence_coldline_after_days must be at least 30 (COLDLINE bills 90 days minimum anyway)."
  }
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object version is kept (versioned buckets)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete non-empty buckets (lose all data). Keep false in production."
  type        = bool
  default     = false
}
