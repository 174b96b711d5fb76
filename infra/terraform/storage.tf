# Uploaded documents (django-storages; organizations apart by a schema-name prefix).
resource "google_storage_bucket" "uploads" {
  name                        = "${var.project}-knowledge-uploads"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_artifact_registry_repository" "images" {
  repository_id = "knowledge"
  location      = var.region
  format        = "DOCKER"
}
