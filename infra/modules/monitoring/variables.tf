variable "project_id" {
  description = "Project whose metrics are watched."
  type        = string
}

variable "dead_letter_archive_suffix" {
  description = "Name suffix of the pull subscriptions that keep dead letters (pubsub_topics module)."
  type        = string
  default     = "-dlq-archive"
}

variable "alert_emails" {
  description = "Addresses notified when messages are dead-lettered (empty: incidents show in the console only)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@ ]+@[^@ ]+\\.[^@ ]+$", e))])
    error_message = "alert_emails must be e-mail addresses."
  }
}
