variable "project_id" {
  description = "Project the identities and grants live in."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the shared service account ids."
  type        = string

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{1,14}$", var.name_prefix))
    error_message = "name_prefix must be 2-15 lower case letters, digits or hyphens, starting with a letter."
  }
}

variable "project_number" {
  description = "Project number (names the Pub/Sub service agent)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.project_number))
    error_message = "project_number must be the numeric project number."
  }
}

variable "buckets" {
  description = "Bucket name per purpose (storage module output)."
  type        = map(string)
}

variable "topic_ids" {
  description = "Topic id per topic name (pubsub module output)."
  type        = map(string)
}

variable "firestore_database" {
  description = "projects/P/databases/D: datastore.user is granted only on this database."
  type        = string
}

variable "secret_ids" {
  description = "Secret id per secret name (secrets module output)."
  type        = map(string)
}

variable "functions" {
  description = <<-EOT
    One runtime identity per function and what it may touch, keyed by function name:
      account_id   - service account id (6-30 characters);
      bucket_roles - bucket purpose -> role (roles/storage.objectViewer to read, roles/storage.objectUser to
                     also write and overwrite: idempotent retries rewrite the same object);
      publishes    - topics it publishes to;
      secrets      - secret ids it reads;
      firestore    - whether it reads/writes documents.
  EOT
  type = map(object({
    account_id   = string
    bucket_roles = map(string)
    publishes    = list(string)
    secrets      = list(string)
    firestore    = bool
  }))

  validation {
    condition     = alltrue([for f in values(var.functions) : can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", f.account_id))])
    error_message = "account_id must be 6-30 lower case letters, digits or hyphens, starting with a letter."
  }

  validation {
    condition = alltrue(flatten([
      for f in values(var.functions) : [for role in values(f.bucket_roles) : contains(["roles/storage.objectViewer", "roles/storage.objectUser", "roles/storage.objectCreator"], role)]
    ]))
    error_message = "bucket_roles may only use objectViewer, objectCreator or objectUser (never admin roles)."
  }
}

variable "url_signers" {
  description = "Functions that sign V4 URLs of their own bucket objects (Token Creator on their own account)."
  type        = list(string)
  default     = []
}
