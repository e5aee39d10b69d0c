variable "project_id" {
  description = "Project that owns the subscriptions."
  type        = string
}

variable "project_number" {
  description = "Project number (names the Pub/Sub service agent)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.project_number))
    error_message = "project_number must be the numeric project number."
  }
}

variable "topic_ids" {
  description = "Topic id per topic name (pubsub_topics output)."
  type        = map(string)
}

variable "dead_letter_topic_ids" {
  description = "DLQ topic id per source topic name (pubsub_topics output)."
  type        = map(string)
}

variable "max_delivery_attempts" {
  description = "Deliveries before a message goes to its DLQ (common/topics.py MAX_DELIVERY_ATTEMPTS)."
  type        = number

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub accepts max_delivery_attempts between 5 and 100."
  }
}

variable "push_subscriptions" {
  description = <<-EOT
    Push subscriptions that deliver a topic to a function: subscription name -> topic, the function's HTTPS URL
    and the ack deadline (time the function may take before Pub/Sub redelivers). Each dead-letters into the
    topic's DLQ after max_delivery_attempts.
  EOT
  type = map(object({
    topic                = string
    push_endpoint        = string
    ack_deadline_seconds = number
  }))

  validation {
    condition     = alltrue([for s in values(var.push_subscriptions) : s.ack_deadline_seconds >= 10 && s.ack_deadline_seconds <= 600])
    error_message = "ack_deadline_seconds must be between 10 and 600."
  }
}

variable "dead_letter_endpoint" {
  description = "HTTPS URL of the dead_letter function; every DLQ topic is pushed to it."
  type        = string
}

variable "dead_letter_ack_deadline_seconds" {
  description = "Ack deadline of the DLQ push subscriptions."
  type        = number
  default     = 60

  validation {
    condition     = var.dead_letter_ack_deadline_seconds >= 10 && var.dead_letter_ack_deadline_seconds <= 600
    error_message = "dead_letter_ack_deadline_seconds must be between 10 and 600."
  }
}

variable "push_service_account_email" {
  description = "Identity the push subscriptions sign their OIDC tokens with (iam module)."
  type        = string
}

variable "minimum_backoff" {
  description = "Shortest wait before a failed delivery is retried."
  type        = string
  default     = "10s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.minimum_backoff))
    error_message = "minimum_backoff must be a duration in seconds such as 10s."
  }
}

variable "maximum_backoff" {
  description = "Longest wait between retries (Pub/Sub allows at most 600s)."
  type        = string
  default     = "600s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.maximum_backoff)) && tonumber(trimsuffix(var.maximum_backoff, "s")) <= 600
    error_message = "maximum_backoff must be a duration in seconds, at most 600s."
  }
}
