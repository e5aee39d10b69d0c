output "topic_ids" {
  description = "Topic id per topic name."
  value       = { for name, topic in google_pubsub_topic.topic : name => topic.id }
}

output "dead_letter_topic_ids" {
  description = "DLQ topic id per source topic name."
  value       = { for name, topic in google_pubsub_topic.dead_letter : name => topic.id }
}

output "all_topic_ids" {
  description = "Topic id by topic name, source and DLQ topics alike (\"scan-requested\", \"scan-requested-dlq\", ...)."
  value = merge(
    { for name, topic in google_pubsub_topic.topic : name => topic.id },
    { for topic in google_pubsub_topic.dead_letter : topic.name => topic.id },
  )
}
