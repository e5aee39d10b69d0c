output "dead_letter_alert_policy" {
  description = "Alert policy that opens an incident on dead letters."
  value       = google_monitoring_alert_policy.dead_letters.name
}
