terraform {
  # 1.5: `check` blocks and variable validations that reference other values are not used; 1.5 is the floor
  # because `import` blocks and `terraform_data` are stable from there.
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.14.0, < 8.0.0" # 6.14: google_firestore_index vector_config, Cloud Run v2 scaling block
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.14.0, < 8.0.0" # google_project_service_identity (Pub/Sub service agent) is beta-only
    }
  }
}
