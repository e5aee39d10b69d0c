# Every hop of the chain: a topic and its `<topic>-dlq` dead-letter topic, plus the Pub/Sub service agent's
# right to move a poison message into the DLQ. Subscriptions live in pubsub_push (they need function URLs).

locals {
  pubsub_agent = "serviceAccount:service-${var.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  dead_letter_topics = {
    for topic in var.topics : topic => "${topic}-dlq"
  }
}

resource "google_pubsub_topic" "topic" {
  #checkov:skip=CKV_GCP_83:Messages carry scan ids and blob names only, never images or secrets; Google-managed encryption applies. Add kms_key_name here if policy demands CMEK.
  for_each = toset(var.topics)
  project  = var.project_id
  name     = each.value

  message_retention_duration = "86400s" # a day of replay (seek) after an incident
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Same payloads as the source topics (ids only); Google-managed encryption applies.
  for_each = local.dead_letter_topics
  project  = var.project_id
  name     = each.value

  message_retention_duration = "604800s"
}

# Dead-lettering is done by the Pub/Sub service agent: it publishes the poison message to the DLQ.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.dead_letter_topics
  project  = var.project_id
  topic    = google_pubsub_topic.dead_letter[each.key].name
  role     = "roles/pubsub.publisher"
  member   = local.pubsub_agent
}

# A pull copy of every message that failed all its delivery attempts, so ops can inspect or replay it after a
# fix (the monitoring module alerts on these). Messages a step refused as permanent errors (bad input, carrying
# the `dead_letter_permanent` attribute, common/chain.py) are kept apart in `<topic>-dlq-refused`: bad input
# from a tenant is recorded on its scan and must not page ops.
resource "google_pubsub_subscription" "dead_letter_archive" {
  for_each = local.dead_letter_topics
  project  = var.project_id
  name     = "${each.value}-archive"
  topic    = google_pubsub_topic.dead_letter[each.key].id
  filter   = "NOT attributes:dead_letter_permanent"

  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_archive_retention
  retain_acked_messages      = true

  expiration_policy {
    ttl = "" # never expire
  }
}

resource "google_pubsub_subscription" "refused_archive" {
  for_each = local.dead_letter_topics
  project  = var.project_id
  name     = "${each.value}-refused"
  topic    = google_pubsub_topic.dead_letter[each.key].id
  filter   = "attributes:dead_letter_permanent"

  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_archive_retention
  retain_acked_messages      = true

  expiration_policy {
    ttl = "" # never expire
  }
}
