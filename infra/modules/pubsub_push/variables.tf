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
    Push subscriptions that deliver a topic to a function, by subscription name:
      topic                - topic name (it also goes into the push path, see main.tf);
      topic_id             - projects/P/topics/T;
      dead_letter_topic_id - DLQ to move a message to after max_delivery_attempts (null on DLQ topics
                             themselves: the dead_letter function is the end of the line);
      function_url         - the function's base HTTPS URL, also the OIDC audience Cloud Run checks;
      ack_deadline_seconds - time the function may take before Pub/Sub redelivers.
  EOT
  type = map(object({
    topic                = string
    topic_id             = string
    dead_letter_topic_id = optional(string)
    function_url         = string
    ack_deadline_seconds = number
  }))

  validation {
    condition     = alltrue([for s in values(var.push_subscriptions) : s.ack_deadline_seconds >= 10 && s.ack_deadline_seconds <= 600])
    error_message = "ack_deadline_seconds must be between 10 and 600."
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
