# Wiring of the modules. The pipeline itself is described as data in locals.tf.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  services = concat([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    ],
    var.vision_backend == "cloud" || var.discovery_schedule != null ? ["vision.googleapis.com"] : [],
    var.discovery_schedule != null ? ["cloudscheduler.googleapis.com"] : [],
  )

  secret_names = { for key, purpose in local.secrets : key => "${var.name_prefix}-${key}" }

  # What each function may publish to: its declared topics, and for a chain step the DLQ of the topic it
  # reads (common/chain.py run_step dead-letters a permanent error at once instead of retrying it).
  function_publishes = {
    for name, fn in local.functions : name => concat(
      fn.publishes, [for topic in fn.topics : "${topic}-dlq" if contains(local.topics, topic)]
    )
  }

  # One push subscription per (function, topic): "<function>-on-<topic>". Source topics dead-letter into
  # "<topic>-dlq"; the DLQ topics themselves are read by the dead_letter function with retries only.
  push_subscriptions = merge([
    for name, fn in local.functions : {
      for topic in fn.topics : "${replace(name, "_", "-")}-on-${topic}" => {
        function    = name
        topic       = topic
        dead_letter = contains(local.topics, topic)
      }
    } if fn.trigger == "pubsub"
  ]...)
}

resource "google_project_service" "this" {
  for_each           = toset(local.services)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false # other workloads in the project may use the same APIs
}

# The Pub/Sub service agent must exist before IAM can name it (it is created lazily otherwise).
resource "google_project_service_identity" "pubsub" {
  provider   = google-beta
  project    = var.project_id
  service    = "pubsub.googleapis.com"
  depends_on = [google_project_service.this]
}

resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Holds only the public-code model server image; Google-managed encryption applies.
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name_prefix}-images"
  format        = "DOCKER"
  description   = "Model endpoint images (model_server/Dockerfile)"

  docker_config {
    immutable_tags = true # a tag always names the same model build
  }

  depends_on = [google_project_service.this]
}

module "storage" {
  source = "./modules/storage"

  project_id                   = var.project_id
  location                     = local.bucket_location
  name_prefix                  = "${var.project_id}-${var.name_prefix}"
  candidate_retention_days     = var.candidate_retention_days
  work_retention_days          = var.work_retention_days
  evidence_coldline_after_days = var.evidence_coldline_after_days
  force_destroy                = var.force_destroy

  depends_on = [google_project_service.this]
}

module "firestore" {
  source = "./modules/firestore"

  project_id          = var.project_id
  database_id         = var.firestore_database
  location_id         = local.firestore_location
  embedding_dimension = var.embedding_dimension
  deletion_protection = var.deletion_protection

  depends_on = [google_project_service.this]
}

module "pubsub_topics" {
  source = "./modules/pubsub_topics"

  project_id     = var.project_id
  project_number = data.google_project.this.number
  topics         = local.topics

  depends_on = [google_project_service_identity.pubsub]
}

module "secrets" {
  source = "./modules/secrets"

  project_id = var.project_id
  secrets    = { for key, purpose in local.secrets : local.secret_names[key] => purpose }
  initial_values = merge(
    var.webhook_secrets_json == null ? {} : { (local.secret_names["webhook-secrets"]) = var.webhook_secrets_json },
    var.review_tokens_json == null ? {} : { (local.secret_names["review-tokens"]) = var.review_tokens_json },
  )

  depends_on = [google_project_service.this]
}

module "iam" {
  source = "./modules/iam"

  project_id         = var.project_id
  project_number     = data.google_project.this.number
  name_prefix        = var.name_prefix
  buckets            = module.storage.names
  topic_ids          = module.pubsub_topics.all_topic_ids
  secret_ids         = module.secrets.secret_ids
  firestore_database = module.firestore.database_resource_name
  functions = {
    for name, fn in local.functions : name => {
      account_id   = "${var.name_prefix}-${replace(name, "_", "-")}"
      bucket_roles = fn.bucket_roles
      publishes    = local.function_publishes[name]
      secrets      = [for key in values(fn.secrets) : local.secret_names[key]]
      firestore    = true # every step records progress on its scan (idempotency, status)
    }
  }

  # evidence and review put signed links to the evidence report into marketplace callbacks
  url_signers = ["evidence", "review"]

  # The push identity's token-creator grant names the Pub/Sub service agent: it must exist first.
  depends_on = [google_project_service.this, google_project_service_identity.pubsub]
}

module "model_endpoint" {
  source = "./modules/model_endpoint"

  project_id          = var.project_id
  region              = var.region
  name                = "${var.name_prefix}-model"
  service_account_id  = "${var.name_prefix}-model"
  image               = var.model_image
  environment         = merge(local.model_environment, var.model_environment)
  readable_buckets    = { for purpose in ["candidates", "work", "references"] : purpose => module.storage.names[purpose] }
  health_check_path   = var.model_health_check_path
  min_instances       = var.model_min_instances
  max_instances       = var.model_max_instances
  concurrency         = var.model_concurrency
  cpu                 = var.model_cpu
  memory              = var.model_memory
  deletion_protection = false
  invokers = { # the functions given MODEL_ENDPOINT_URL (locals.tf function_environment)
    embed   = module.iam.function_service_accounts["embed"].member
    cluster = module.iam.function_service_accounts["cluster"].member
  }

  depends_on = [google_project_service.this]
}

module "functions" {
  source   = "./modules/cloud_function"
  for_each = local.functions

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  entry_point           = each.key
  description           = each.value.description
  archive_path          = "${path.root}/${var.function_source_dir}/${each.key}.zip"
  source_bucket         = module.storage.names["sources"]
  build_service_account = module.iam.build_service_account_id
  service_account_email = module.iam.function_service_accounts[each.key].email
  memory                = each.value.memory
  timeout_seconds       = each.value.timeout
  max_instances         = var.function_max_instances
  labels                = local.labels

  environment = merge(local.base_environment, lookup(local.function_environment, each.key, {}))
  secret_environment = {
    for env_name, key in each.value.secrets : env_name => module.secrets.secret_ids[local.secret_names[key]]
  }

  trigger = {
    type   = each.value.trigger == "storage" ? "storage" : "http"
    bucket = each.value.trigger == "storage" ? module.storage.names["candidates"] : null
    region = each.value.trigger == "storage" ? local.bucket_location : null
  }
  trigger_service_account = each.value.trigger == "storage" ? module.iam.trigger_service_account_email : null

  ingress = each.value.ingress
  public  = each.value.access == "public"
  invokers = merge(
    each.value.trigger == "pubsub" ? { push = module.iam.push_service_account_member } : {},
    each.value.access == "iam" ? { for member in var.review_invokers : member => member } : {},
  )

  # Deploys check secret access, and the storage trigger needs the service agents' roles: grants first.
  depends_on = [google_project_service.this, module.iam]
}

module "pubsub_push" {
  source = "./modules/pubsub_push"

  project_id                 = var.project_id
  project_number             = data.google_project.this.number
  max_delivery_attempts      = local.max_delivery_attempts
  push_service_account_email = module.iam.push_service_account_email
  push_subscriptions = {
    for sub, target in local.push_subscriptions : sub => {
      topic                = target.topic
      topic_id             = module.pubsub_topics.all_topic_ids[target.topic]
      dead_letter_topic_id = target.dead_letter ? module.pubsub_topics.all_topic_ids["${target.topic}-dlq"] : null
      function_url         = module.functions[target.function].url
      # Pub/Sub redelivers when the function has not answered within the deadline.
      ack_deadline_seconds = min(600, local.functions[target.function].timeout + 30)
    }
  }

  depends_on = [google_project_service_identity.pubsub]
}

module "monitoring" {
  source = "./modules/monitoring"

  project_id   = var.project_id
  alert_emails = var.alert_emails

  depends_on = [google_project_service.this]
}
