variable "project_id" {
  description = "Project that hosts the model endpoint."
  type        = string
}

variable "region" {
  description = "Cloud Run region (keep it next to the functions that call it)."
  type        = string
}

variable "name" {
  description = "Cloud Run service name."
  type        = string

  validation {
    condition     = can(regex("^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$", var.name))
    error_message = "name must be 1-49 lower case letters, digits or hyphens, starting with a letter."
  }
}

variable "service_account_id" {
  description = "account_id of the endpoint's runtime identity (it needs no project roles)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.service_account_id))
    error_message = "service_account_id must be 6-30 lower case letters, digits or hyphens."
  }
}

variable "image" {
  description = "Container image built from model_server/Dockerfile, pinned by digest or immutable tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[^ ]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.image))
    error_message = "image must be a full reference with a tag or digest, e.g. europe-west1-docker.pkg.dev/P/counterfeit/model-server:1.0."
  }
}

variable "container_port" {
  description = "Port the model server listens on inside the container (Cloud Run passes it as PORT)."
  type        = number
  default     = 8080
}

variable "environment" {
  description = "Extra environment variables for the model server (e.g. which manifest to load)."
  type        = map(string)
  default     = {}
}

variable "min_instances" {
  description = "Warm instances (1 avoids a model-load cold start on the first embed; 0 costs nothing idle)."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instances >= 0 && var.min_instances <= 100
    error_message = "min_instances must be between 0 and 100."
  }
}

variable "max_instances" {
  description = "Upper bound on instances (caps cost)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000
    error_message = "max_instances must be between 1 and 1000."
  }
}

variable "concurrency" {
  description = "Requests per instance at once; match the server's gunicorn --threads (it batches concurrent requests)."
  type        = number
  default     = 8

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "cpu" {
  description = "vCPUs per instance."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "8"], var.cpu)
    error_message = "cpu must be 1, 2, 4 or 8."
  }
}

variable "memory" {
  description = "Memory per instance. EfficientNet-Lite0 needs ~120 MB RSS (/work/shared/COMPONENTS.md); 1Gi leaves room for a larger manifest model."
  type        = string
  default     = "1Gi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.memory))
    error_message = "memory must look like 512Mi or 2Gi."
  }
}

variable "request_timeout_seconds" {
  description = "Longest request the endpoint serves."
  type        = number
  default     = 30

  validation {
    condition     = var.request_timeout_seconds >= 1 && var.request_timeout_seconds <= 3600
    error_message = "request_timeout_seconds must be between 1 and 3600."
  }
}

variable "health_check_path" {
  description = "HTTP path of the server's readiness check (null: Cloud Run's default TCP startup probe)."
  type        = string
  default     = null
}

variable "readable_buckets" {
  description = "Buckets the server may read gs:// images from (purpose -> bucket name): candidates, work, references."
  type        = map(string)
  default     = {}
}

variable "invokers" {
  description = "Who may call the endpoint: static label -> IAM member (the embed function's identity)."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "Refuse `terraform destroy` of the service."
  type        = bool
  default     = false
}
