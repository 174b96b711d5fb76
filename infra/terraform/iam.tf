# One service account per workload, each with only what it uses.
resource "google_service_account" "web" {
  account_id   = "knowledge-web"
  display_name = "Knowledge Assistant web service"
}

resource "google_service_account" "worker" {
  account_id   = "knowledge-worker"
  display_name = "Knowledge Assistant Celery worker pool"
}

resource "google_service_account" "migrate" {
  account_id   = "knowledge-migrate"
  display_name = "Knowledge Assistant migrate job"
}

locals {
  sa = {
    web     = google_service_account.web
    worker  = google_service_account.worker
    migrate = google_service_account.migrate
  }

  # Project-level roles (these have no narrower resource to bind on).
  project_roles = {
    web     = ["roles/cloudsql.client", "roles/aiplatform.user", "roles/logging.logWriter", "roles/cloudtrace.agent"]
    worker  = ["roles/cloudsql.client", "roles/aiplatform.user", "roles/logging.logWriter"]
    migrate = ["roles/cloudsql.client", "roles/logging.logWriter"]
  }

  # Which secrets each workload reads (secretAccessor on that secret alone).
  secrets_read = {
    web     = ["django-secret-key", "database-url", "redis-url", "smtp-password", "stripe-api-key", "stripe-webhook-secret", "sentry-dsn"]
    worker  = ["django-secret-key", "database-url", "redis-url", "smtp-password", "stripe-api-key", "sentry-dsn"]
    migrate = ["django-secret-key", "database-url", "redis-url"]
  }

  secret_ids = merge(
    { for name, secret in google_secret_manager_secret.by_hand : name => secret.id },
    {
      "database-url" = google_secret_manager_secret.database_url.id
      "redis-url"    = google_secret_manager_secret.redis_url.id
    },
  )

  project_bindings = flatten([
    for who, roles in local.project_roles : [for role in roles : { who = who, role = role }]
  ])
  secret_bindings = flatten([
    for who, names in local.secrets_read : [for name in names : { who = who, name = name }]
  ])
}

resource "google_project_iam_member" "workloads" {
  for_each = { for b in local.project_bindings : "${b.who}/${b.role}" => b }
  project  = var.project
  role     = each.value.role
  member   = local.sa[each.value.who].member
}

resource "google_secret_manager_secret_iam_member" "workloads" {
  for_each  = { for b in local.secret_bindings : "${b.who}/${b.name}" => b }
  secret_id = local.secret_ids[each.value.name]
  role      = "roles/secretmanager.secretAccessor"
  member    = local.sa[each.value.who].member
}

# Uploads: the web service writes and reads them, the worker reads them (and writes the
# extracted pages of scanned PDFs); the migrate job never touches the bucket.
resource "google_storage_bucket_iam_member" "uploads" {
  for_each = toset(["web", "worker"])
  bucket   = google_storage_bucket.uploads.name
  role     = "roles/storage.objectUser"
  member   = local.sa[each.value].member
}
