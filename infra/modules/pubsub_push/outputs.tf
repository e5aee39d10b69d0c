output "subscriptions" {
  description = "Push subscription name -> topic it reads."
  value       = { for name, sub in google_pubsub_subscription.push : name => sub.topic }
}

output "dead_letter_subscriptions" {
  description = "DLQ push subscription names (to the dead_letter function)."
  value       = [for sub in google_pubsub_subscription.dead_letter : sub.name]
}
