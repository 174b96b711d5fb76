# Secret Manager: the entries are made here; the values of those not derived here
# (Django's key, SMTP, Stripe, Sentry) are added by hand:
#   printf %s "$VALUE" | gcloud secrets versions add NAME --data-file=-
locals {
  secrets_by_hand = [
    "django-secret-key",
    "smtp-password",
    "stripe-api-key",
    "stripe-webhook-secret",
    "sentry-dsn",
  ]
}

resource "google_secret_manager_secret" "by_hand" {
  for_each  = toset(local.secrets_by_hand)
  secret_id = each.value
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "database_url" {
  secret_id = "database-url"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "database_url" {
  secret = google_secret_manager_secret.database_url.id
  secret_data = format(
    "postgres://%s:%s@%s:5432/%s?sslmode=require",
    google_sql_user.app.name,
    random_password.db.result,
    google_sql_database_instance.main.private_ip_address,
    google_sql_database.app.name,
  )
}

resource "google_secret_manager_secret" "redis_url" {
  secret_id = "redis-url"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "redis_url" {
  secret      = google_secret_manager_secret.redis_url.id
  secret_data = "redis://${google_redis_instance.main.host}:${google_redis_instance.main.port}/0"
}
