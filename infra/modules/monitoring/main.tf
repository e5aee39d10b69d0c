# Ops sees poison messages: an incident opens as soon as a dead letter waits in any `<topic>-dlq-archive`
# subscription, and closes when the messages there are acknowledged (inspected or replayed).

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.alert_emails)
  project      = var.project_id
  display_name = "Counterfeit pipeline: ${each.value}"
  type         = "email"

  labels = {
    email_address = each.value
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project      = var.project_id
  display_name = "Counterfeit pipeline: messages dead-lettered"
  combiner     = "OR"

  conditions {
    display_name = "Dead letters waiting in a DLQ archive subscription"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.labels.subscription_id = ends_with(\"${var.dead_letter_archive_suffix}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      A message failed every delivery attempt and was dead-lettered. The reason is on the scan
      (`brands/<brand>/scans/<scan>`: `status = dead_lettered`, `dead_letter_reason`); the message itself is in the
      `<topic>-dlq-archive` subscription named in this incident. Fix the cause, replay if needed, then
      `gcloud pubsub subscriptions pull <subscription> --auto-ack` to close the incident.
    EOT
  }

  alert_strategy {
    auto_close = "604800s" # the archive keeps messages 7 days
  }

  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]
}
