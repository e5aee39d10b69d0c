variable "project_id" {
  description = "Project that owns the topics."
  type        = string
}

variable "project_number" {
  description = "Project number (names the Pub/Sub service agent that forwards dead letters)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.project_number))
    error_message = "project_number must be the numeric project number."
  }
}

variable "topics" {
  description = "Topics the code publishes to (common/topics.py TOPICS); each gets a `<topic>-dlq` topic."
  type        = list(string)

  validation {
    condition     = length(var.topics) > 0 && alltrue([for t in var.topics : can(regex("^[a-z][-a-z0-9]{2,200}$", t))])
    error_message = "topics must be non-empty lower-case names (letters, digits, hyphens)."
  }
}

variable "dead_letter_archive_retention" {
  description = "How long dead letters stay in the `<topic>-dlq-archive` pull subscriptions for inspection/replay."
  type        = string
  default     = "604800s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.dead_letter_archive_retention)) && tonumber(trimsuffix(var.dead_letter_archive_retention, "s")) <= 604800
    error_message = "dead_letter_archive_retention must be in seconds, at most 604800s (7 days)."
  }
}
