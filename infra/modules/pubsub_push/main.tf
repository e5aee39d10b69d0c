# Delivery of each topic to the functions that consume it: one push subscription per (function, topic) with
# exponential retry backoff and, on every source topic, a dead-letter policy. Push, not an Eventarc trigger,
# because Eventarc creates its own subscription and that one cannot carry a dead-letter policy in Terraform
# (hashicorp/terraform-provider-google#25069).

locals {
  pubsub_agent = "serviceAccount:service-${var.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  # functions-framework turns a raw push body into the same messagePublished CloudEvent Eventarc would send,
  # taking the topic (the event's source) from a request path of the form projects/P/topics/T.
  topic_path = "projects/${var.project_id}/topics"

  dead_lettered = { for name, sub in var.push_subscriptions : name => sub if sub.dead_letter_topic_id != null }
}

resource "google_pubsub_subscription" "push" {
  for_each = var.push_subscriptions
  project  = var.project_id
  name     = each.key
  topic    = each.value.topic_id

  ack_deadline_seconds       = each.value.ack_deadline_seconds
  message_retention_duration = "604800s"
  enable_message_ordering    = false

  expiration_policy {
    ttl = "" # never expire, even when the chain is idle for a month
  }

  retry_policy {
    minimum_backoff = var.minimum_backoff
    maximum_backoff = var.maximum_backoff
  }

  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter_topic_id == null ? [] : [each.value.dead_letter_topic_id]
    content {
      dead_letter_topic     = dead_letter_policy.value
      max_delivery_attempts = var.max_delivery_attempts
    }
  }

  push_config {
    push_endpoint = "${each.value.function_url}/${local.topic_path}/${each.value.topic}"

    oidc_token {
      service_account_email = var.push_service_account_email
      audience              = each.value.function_url
    }
  }
}

# To dead-letter, the Pub/Sub service agent must also acknowledge on the source subscription; without this
# role the message is redelivered forever instead of moving to the DLQ.
resource "google_pubsub_subscription_iam_member" "source_subscriber" {
  for_each     = local.dead_lettered
  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
