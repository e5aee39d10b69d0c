variable "project_id" {
  description = "Project that holds the secrets."
  type        = string
}

variable "secrets" {
  description = "Secrets to create: secret id -> what it holds."
  type        = map(string)

  validation {
    condition     = alltrue([for id in keys(var.secrets) : can(regex("^[A-Za-z0-9_-]{1,255}$", id))])
    error_message = "Secret ids may contain letters, digits, underscores and hyphens only."
  }
}

variable "initial_values" {
  description = <<-EOT
    Optional first versions: secret id -> value. Values given here end up in the Terraform state; leave this
    empty and add versions with `gcloud secrets versions add` to keep them out of it.
  EOT
  type        = map(string)
  default     = {}
  sensitive   = true
}
