output "topic_ids" {
  description = "Topic id per topic name."
  value       = { for name, topic in google_pubsub_topic.topic : name => topic.id }
}

output "dead_letter_topic_ids" {
  description = "DLQ topic id per source topic name."
  value       = { for name, topic in google_pubsub_topic.dead_letter : name => topic.id }
}
