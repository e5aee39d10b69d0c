variable "project_id" {
  description = "Project that hosts the function."
  type        = string
}

variable "region" {
  description = "Region of the function (and of its Cloud Run service)."
  type        = string
}

variable "name" {
  description = "Deployed function name (lower case, digits, hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be 1-63 characters of lower case letters, digits and hyphens, starting with a letter."
  }
}

variable "entry_point" {
  description = "Python function in main.py that functions-framework calls (the handler's name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*$", var.entry_point))
    error_message = "entry_point must be a Python identifier."
  }
}

variable "description" {
  description = "What the function does (shown in the console)."
  type        = string
  default     = ""
}

variable "runtime" {
  description = "Cloud Functions runtime id (python311: the interpreter the project's tests run on)."
  type        = string
  default     = "python311"

  validation {
    condition     = can(regex("^python3[0-9]+$", var.runtime))
    error_message = "runtime must be a python3xx runtime id such as python311."
  }
}

variable "archive_path" {
  description = "Zip built by scripts/build_function_sources.py (main.py + common/ + requirements.txt)."
  type        = string

  validation {
    condition     = fileexists(var.archive_path)
    error_message = "The source archive does not exist: run `python scripts/build_function_sources.py` first."
  }
}

variable "source_bucket" {
  description = "Bucket that holds the uploaded source archives."
  type        = string
}

variable "build_service_account" {
  description = "Service account id (projects/P/serviceAccounts/EMAIL) Cloud Build uses to build the function."
  type        = string
}

variable "service_account_email" {
  description = "Runtime identity of the function (made, with its grants, by the iam module)."
  type        = string
}

variable "environment" {
  description = "Plain environment variables (names common/settings.py reads)."
  type        = map(string)
  default     = {}
}

variable "secret_environment" {
  description = "Environment variables filled from Secret Manager: env name -> secret id (latest version)."
  type        = map(string)
  default     = {}
}

variable "memory" {
  description = "Memory per instance, e.g. 512Mi or 1Gi."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.memory))
    error_message = "memory must look like 512Mi or 2Gi."
  }
}

variable "cpu" {
  description = "vCPUs per instance (string, as Cloud Run takes it: \"1\", \"2\" or a fraction like \"0.583\")."
  type        = string
  default     = "1"
}

variable "timeout_seconds" {
  description = "Request timeout. Event-driven functions may take at most 540 s."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 540
    error_message = "timeout_seconds must be between 1 and 540 (the event-driven maximum)."
  }
}

variable "min_instances" {
  description = "Instances kept warm (each costs idle time)."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instances >= 0
    error_message = "min_instances must not be negative."
  }
}

variable "max_instances" {
  description = "Upper bound on instances: caps cost and the load on Firestore and the model endpoint."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000
    error_message = "max_instances must be between 1 and 1000."
  }
}

variable "concurrency" {
  description = "Requests one instance handles at once (1 keeps image decoding memory predictable)."
  type        = number
  default     = 1

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "trigger" {
  description = <<-EOT
    How events reach the function:
      http    - HTTPS requests only (webhook, review page, and Pub/Sub push subscriptions made by the pubsub module);
      storage - an Eventarc trigger on object finalize in `bucket`, retried until it succeeds.
  EOT
  type = object({
    type   = string
    bucket = optional(string)
    region = optional(string)
  })

  validation {
    condition     = contains(["http", "storage"], var.trigger.type)
    error_message = "trigger.type must be http or storage."
  }

  validation {
    condition     = var.trigger.type != "storage" || (var.trigger.bucket != null && var.trigger.region != null)
    error_message = "A storage trigger needs the bucket and its region (trigger_region must match the bucket)."
  }
}

variable "trigger_service_account" {
  description = "Email of the identity Eventarc uses to invoke a storage-triggered function (null for http)."
  type        = string
  default     = null
}

variable "public" {
  description = "Grant allUsers the invoker role (only for endpoints that authenticate requests themselves)."
  type        = bool
  default     = false
}

variable "invokers" {
  description = "Who may call the function: a static label -> IAM member (user:, group:, serviceAccount:)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.invokers) : can(regex("^(user|group|serviceAccount|domain):", m))])
    error_message = "invokers must be IAM members such as group:reviewers@example.com; use `public` for allUsers."
  }
}

variable "ingress" {
  description = "ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress)
    error_message = "ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "labels" {
  description = "Labels on the function."
  type        = map(string)
  default     = {}
}
