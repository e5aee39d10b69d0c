# Scheduled web discovery (docs/discovery.md): Cloud Scheduler publishes {} on discovery-requested, the discover
# function sweeps every brand whose brand.json enabled a source. Which brands, which sources and how much a run
# may spend are the brands' own settings, not Terraform's; set discovery_schedule = null to turn the job off.

variable "discovery_schedule" {
  description = "Cron schedule of the discovery sweep (Cloud Scheduler syntax), or null for no scheduled sweep."
  type        = string
  default     = "0 3 * * *" # daily, 03:00 in discovery_time_zone
}

variable "discovery_time_zone" {
  description = "Time zone of discovery_schedule (tz database name)."
  type        = string
  default     = "Etc/UTC"
}

resource "google_cloud_scheduler_job" "discovery" {
  count       = var.discovery_schedule == null ? 0 : 1
  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-discovery"
  description = "Publishes a discovery-requested message: one sweep of every opted-in brand."
  schedule    = var.discovery_schedule
  time_zone   = var.discovery_time_zone

  retry_config {
    retry_count = 0 # a missed publish waits for the next schedule; Pub/Sub retries the sweep itself
  }

  pubsub_target {
    topic_name = module.pubsub_topics.all_topic_ids["discovery-requested"]
    data       = base64encode(jsonencode({ schema_version = 1 }))
    attributes = { kind = "discovery.requested" }
  }

  depends_on = [google_project_service.this]
}
