variable "project_id" {
  description = "Google Cloud project id to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id: 6-30 lower case letters, digits or hyphens."
  }
}

variable "region" {
  description = "Region of the functions, the model endpoint and (by default) the buckets and Firestore."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "name_prefix" {
  description = "Prefix of function, service, service-account and secret names (2-15 characters: account ids are capped at 30)."
  type        = string
  default     = "counterfeit"

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{1,14}$", var.name_prefix))
    error_message = "name_prefix must be 2-15 lower case letters, digits or hyphens, starting with a letter."
  }
}

variable "bucket_location" {
  description = "Location of the buckets (null: the region). Must be a region the storage trigger supports."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_location == null || can(regex("^[a-z]+(-[a-z]+[0-9])?$", var.bucket_location))
    error_message = "bucket_location must be a region (europe-west1) or a location such as EU written in lower case (eu)."
  }
}

variable "firestore_location" {
  description = "Firestore location (null: the region). Cannot be changed after the database exists."
  type        = string
  default     = null
}

variable "firestore_database" {
  description = "Firestore database id (FIRESTORE_DATABASE). A named database avoids clashing with an existing (default)."
  type        = string
  default     = "counterfeit"

  validation {
    condition     = var.firestore_database == "(default)" || can(regex("^[a-z][-a-z0-9]{2,61}[a-z0-9]$", var.firestore_database))
    error_message = "firestore_database must be \"(default)\" or 4-63 lower case letters, digits and hyphens."
  }
}

variable "embedding_dimension" {
  description = "Embedding length of the model the endpoint serves (its manifest's output dimension; 1280 for EfficientNet-Lite0)."
  type        = number
  default     = 1280

  validation {
    condition     = var.embedding_dimension >= 1 && var.embedding_dimension <= 2048
    error_message = "Firestore vector indexes support 1 to 2048 dimensions."
  }
}

variable "model_image" {
  description = "Image of the model endpoint built from model_server/Dockerfile (tag or digest), e.g. europe-west1-docker.pkg.dev/PROJECT/counterfeit-images/model-server:1.0."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[^ ]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.model_image))
    error_message = "model_image must be a full image reference with a tag or a digest."
  }
}

variable "model_environment" {
  description = "Extra environment for the model server (e.g. the manifest it loads)."
  type        = map(string)
  default     = {}
}

variable "model_health_check_path" {
  description = "Readiness path of the model server (common/embedding/server.py serves /healthz; null: TCP probe)."
  type        = string
  default     = "/healthz"

  validation {
    condition     = var.model_health_check_path == null || can(regex("^/", var.model_health_check_path))
    error_message = "model_health_check_path must start with / (or be null)."
  }
}

variable "model_min_instances" {
  description = "Warm model endpoint instances (0: no idle cost, first embed after idle waits for a cold start)."
  type        = number
  default     = 0

  validation {
    condition     = var.model_min_instances >= 0 && var.model_min_instances <= 100
    error_message = "model_min_instances must be between 0 and 100."
  }
}

variable "model_max_instances" {
  description = "Upper bound on model endpoint instances."
  type        = number
  default     = 5

  validation {
    condition     = var.model_max_instances >= 1 && var.model_max_instances <= 1000
    error_message = "model_max_instances must be between 1 and 1000."
  }
}

variable "model_concurrency" {
  description = "Concurrent requests per model endpoint instance: the server's gunicorn threads (model_server/Dockerfile --threads), which it batches dynamically."
  type        = number
  default     = 8

  validation {
    condition     = var.model_concurrency >= 1 && var.model_concurrency <= 1000
    error_message = "model_concurrency must be between 1 and 1000."
  }
}

variable "model_memory" {
  description = "Memory per model endpoint instance."
  type        = string
  default     = "1Gi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.model_memory))
    error_message = "model_memory must look like 512Mi or 2Gi."
  }
}

variable "model_cpu" {
  description = "vCPUs per model endpoint instance."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "8"], var.model_cpu)
    error_message = "model_cpu must be 1, 2, 4 or 8."
  }
}

variable "vision_backend" {
  description = "logo/OCR backend for candidates: local (RapidOCR + SIFT in the function) or cloud (Cloud Vision API; references never go there)."
  type        = string
  default     = "local"

  validation {
    condition     = contains(["local", "cloud"], var.vision_backend)
    error_message = "vision_backend must be local or cloud."
  }
}

variable "max_image_bytes" {
  description = "Largest candidate image accepted, in bytes (MAX_IMAGE_BYTES)."
  type        = number
  default     = 41943040 # 40 MiB, common/settings.py DEFAULT_MAX_IMAGE_BYTES

  validation {
    condition     = var.max_image_bytes >= 1024 && var.max_image_bytes <= 104857600
    error_message = "max_image_bytes must be between 1 KiB and 100 MiB."
  }
}

variable "max_image_pixels" {
  description = "Largest decoded image accepted, in pixels (MAX_IMAGE_PIXELS); guards against decompression bombs."
  type        = number
  default     = 50000000 # common/settings.py DEFAULT_MAX_IMAGE_PIXELS

  validation {
    condition     = var.max_image_pixels >= 10000 && var.max_image_pixels <= 200000000
    error_message = "max_image_pixels must be between 10,000 and 200,000,000."
  }
}

variable "function_max_instances" {
  description = "Upper bound on instances of each function (caps cost and the load on Firestore)."
  type        = number
  default     = 20

  validation {
    condition     = var.function_max_instances >= 1 && var.function_max_instances <= 1000
    error_message = "function_max_instances must be between 1 and 1000."
  }
}

variable "function_source_dir" {
  description = "Directory holding the archives scripts/build_function_sources.py wrote (relative to infra/)."
  type        = string
  default     = "../build/functions"
}

variable "review_invokers" {
  description = "Principals allowed to open the review page (e.g. group:brand-legal@example.com). The page is never public."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.review_invokers : can(regex("^(user|group|serviceAccount|domain):", m))])
    error_message = "review_invokers must be IAM members such as group:reviewers@example.com (allUsers is not allowed)."
  }
}

variable "review_names_json" {
  description = "REVIEW_NAMES: JSON object reviewer id (token-<digest> or e-mail) -> the person's name, recorded on enforcement cases."
  type        = string
  default     = "{}"

  validation {
    condition     = can(jsondecode(var.review_names_json))
    error_message = "review_names_json must be a JSON object such as {\"token-1a2b3c4d5e\": \"Jane Doe\"}."
  }
}

variable "review_base_url" {
  description = "The review page's public address (callbacks link an item there when no signed URL exists); empty: none."
  type        = string
  default     = ""

  validation {
    condition     = var.review_base_url == "" || can(regex("^https://", var.review_base_url))
    error_message = "review_base_url must be empty or an https:// URL."
  }
}

variable "alert_emails" {
  description = "Addresses notified when messages are dead-lettered (empty: incidents appear in the console only)."
  type        = list(string)
  default     = []
}

variable "webhook_secrets_json" {
  description = "Optional first version of WEBHOOK_SECRETS ({\"marketplace\": [\"secret\", ...]}). Stored in state: prefer `gcloud secrets versions add`."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.webhook_secrets_json == null || can(jsondecode(var.webhook_secrets_json))
    error_message = "webhook_secrets_json must be a JSON object of lists."
  }
}

variable "review_tokens_json" {
  description = "Optional first version of REVIEW_TOKENS ({\"token\": [\"brand\", ...]}). Stored in state: prefer `gcloud secrets versions add`."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.review_tokens_json == null || can(jsondecode(var.review_tokens_json))
    error_message = "review_tokens_json must be a JSON object of lists."
  }
}

variable "candidate_retention_days" {
  description = "Days uploaded candidate images are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.candidate_retention_days >= 1
    error_message = "candidate_retention_days must be at least 1."
  }
}

variable "work_retention_days" {
  description = "Days working copies are kept."
  type        = number
  default     = 30

  validation {
    condition     = var.work_retention_days >= 1
    error_message = "work_retention_days must be at least 1."
  }
}

variable "evidence_coldline_after_days" {
  description = "Age at which evidence bundles move to COLDLINE."
  type        = number
  default     = 180

  validation {
    condition     = var.evidence_coldline_after_days >= 30
    error_message = "evidence_coldline_after_days must be at least 30."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` empty and delete the buckets. Only for throw-away environments."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Protect the Firestore database (verdicts and review decisions) from deletion."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Extra labels on every resource that takes labels."
  type        = map(string)
  default     = {}
}
