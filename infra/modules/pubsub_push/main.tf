# Delivery of each topic to the functions that consume it: one push subscription per (function, topic) with
# exponential retry backoff and a dead-letter policy. Push, not an Eventarc trigger, because Eventarc creates
# its own subscription and that one cannot carry a dead-letter policy in Terraform
# (hashicorp/terraform-provider-google#25069).

locals {
  pubsub_agent = "serviceAccount:service-${var.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_subscription" "push" {
  for_each = var.push_subscriptions
  project  = var.project_id
  name     = each.key
  topic    = var.topic_ids[each.value.topic]

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

  dead_letter_policy {
    dead_letter_topic     = var.dead_letter_topic_ids[each.value.topic]
    max_delivery_attempts = var.max_delivery_attempts
  }

  push_config {
    push_endpoint = each.value.push_endpoint

    oidc_token {
      service_account_email = var.push_service_account_email
      audience              = each.value.push_endpoint
    }
  }
}

# The DLQ subscriptions are the end of the line: the dead_letter function records the reason on the scan.
# They retry with backoff; there is no DLQ of the DLQ (the `-archive` pull subscription keeps a copy).
resource "google_pubsub_subscription" "dead_letter" {
  for_each = var.dead_letter_topic_ids
  project  = var.project_id
  name     = "dead-letter-on-${each.key}-dlq"
  topic    = each.value

  ack_deadline_seconds       = var.dead_letter_ack_deadline_seconds
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = var.minimum_backoff
    maximum_backoff = var.maximum_backoff
  }

  push_config {
    push_endpoint = var.dead_letter_endpoint

    oidc_token {
      service_account_email = var.push_service_account_email
      audience              = var.dead_letter_endpoint
    }
  }
}

# To dead-letter, the Pub/Sub service agent must also acknowledge on the source subscription; without this
# role the message is redelivered forever instead of moving to the DLQ.
resource "google_pubsub_subscription_iam_member" "source_subscriber" {
  for_each     = var.push_subscriptions
  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
