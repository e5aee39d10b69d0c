variable "project_id" {
  description = "Project that hosts the database."
  type        = string
}

variable "database_id" {
  description = "Firestore database id (FIRESTORE_DATABASE); \"(default)\" or a named database."
  type        = string

  validation {
    condition     = var.database_id == "(default)" || can(regex("^[a-z][-a-z0-9]{2,61}[a-z0-9]$", var.database_id))
    error_message = "database_id must be \"(default)\" or 4-63 lower case letters, digits and hyphens."
  }
}

variable "location_id" {
  description = "Firestore location: a region (europe-west1) or a multi-region (eur3, nam5). Cannot change later."
  type        = string
}

variable "embedding_dimension" {
  description = "Length of the reference embedding vectors (the model manifest's output dimension)."
  type        = number

  validation {
    condition     = var.embedding_dimension >= 1 && var.embedding_dimension <= 2048
    error_message = "Firestore vector indexes support 1 to 2048 dimensions."
  }
}

variable "vector_collection" {
  description = "Collection id searched with find_nearest (common/embedding/index.py VIEWS_COLLECTION)."
  type        = string
  default     = "reference_views"
}

variable "vector_field" {
  description = "Vector field searched with find_nearest (common/embedding/index.py VECTOR_FIELD)."
  type        = string
  default     = "embedding"
}

variable "deletion_protection" {
  description = "Refuse to delete the database (keep true in production; verdicts are evidence)."
  type        = bool
  default     = true
}
