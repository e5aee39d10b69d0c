output "subscriptions" {
  description = "Push subscription name -> topic it reads."
  value       = { for name, sub in var.push_subscriptions : name => sub.topic }
}
