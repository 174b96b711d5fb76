# PostgreSQL with pgvector: Cloud SQL ships the `vector` extension; the first migration
# (tenants/migrations/0002_vector_extension.py) runs CREATE EXTENSION vector as the app's
# user, a member of cloudsqlsuperuser.
resource "google_sql_database_instance" "main" {
  name                = "knowledge-db"
  database_version    = "POSTGRES_17"
  region              = var.region
  deletion_protection = true
  depends_on          = [google_service_networking_connection.private_services]

  settings {
    tier              = var.db_tier
    availability_type = "REGIONAL"
    disk_autoresize   = true

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = google_compute_network.main.id
      enable_private_path_for_google_cloud_services = true
      ssl_mode                                      = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
    }

    database_flags {
      # Web instances, worker and job each hold a pool of connections.
      name  = "max_connections"
      value = "200"
    }

    insights_config {
      query_insights_enabled = true
    }
  }
}

resource "google_sql_database" "app" {
  name     = "knowledge"
  instance = google_sql_database_instance.main.name
}

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "google_sql_user" "app" {
  name     = "knowledge"
  instance = google_sql_database_instance.main.name
  password = random_password.db.result
}
