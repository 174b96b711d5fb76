locals {
  common_env = {
    BASE_DOMAIN          = var.base_domain
    GOOGLE_CLOUD_PROJECT = var.project
    LOG_FORMAT           = "json"
    GS_BUCKET_NAME       = google_storage_bucket.uploads.name
    # The Cloud KMS key that wraps the data keys of stored secrets (kms.tf).
    SECRETS_KMS_KEY = google_kms_crypto_key.secrets.id
  }
  vertex_env = {
    VERTEX_PROJECT  = var.project
    VERTEX_LOCATION = var.region
    VERTEX_MODEL    = var.vertex_model
  }
  email_env = {
    EMAIL_HOST         = var.email.host
    EMAIL_PORT         = tostring(var.email.port)
    EMAIL_HOST_USER    = var.email.user
    EMAIL_USE_TLS      = "1"
    DEFAULT_FROM_EMAIL = var.email.from
  }
  # Environment variable -> secret, per workload (the same lists as local.secrets_read).
  secret_env = {
    DJANGO_SECRET_KEY     = "django-secret-key"
    DATABASE_URL          = "database-url"
    REDIS_URL             = "redis-url"
    EMAIL_HOST_PASSWORD   = "smtp-password"
    STRIPE_API_KEY        = "stripe-api-key"
    STRIPE_WEBHOOK_SECRET = "stripe-webhook-secret"
    SENTRY_DSN            = "sentry-dsn"
  }
  # The web and the workers reach Cloud SQL through the PgBouncer sidecar of their instance
  # (transaction pooling; docs/architecture.md, "Connections"); the migrate job connects directly.
  pooled_env = { DATABASE_PGBOUNCER = "127.0.0.1:6432" }
  web_env    = merge(local.common_env, local.vertex_env, local.email_env, local.pooled_env, { FORWARDED_ALLOW_IPS = "169.254.0.0/16" })
  worker_env = merge(local.common_env, local.vertex_env, local.email_env, local.pooled_env)
  # Four schemas behind are migrated at a time, each in a forked process (docs/operations/deploy.md).
  migrate_env = merge(
    { BASE_DOMAIN = var.base_domain, LOG_FORMAT = "json", MIGRATE_SCHEMAS_PROCESSES = "4" },
    { SECRETS_KMS_KEY = google_kms_crypto_key.secrets.id },
  )
  web_secrets     = { for env, name in local.secret_env : env => name if contains(local.secrets_read.web, name) }
  worker_secrets  = { for env, name in local.secret_env : env => name if contains(local.secrets_read.worker, name) }
  migrate_secrets = { for env, name in local.secret_env : env => name if contains(local.secrets_read.migrate, name) }
}

resource "google_cloud_run_v2_service" "web" {
  name                = "knowledge-web"
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  deletion_protection = true
  depends_on          = [google_secret_manager_secret_iam_member.workloads, google_kms_crypto_key_iam_member.secrets]

  template {
    service_account                  = google_service_account.web.email
    timeout                          = "300s" # streamed answers
    max_instance_request_concurrency = 80

    scaling {
      min_instance_count = 1
    }

    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = local.vpc_access.network
        subnetwork = local.vpc_access.subnetwork
      }
    }

    # PgBouncer (infra/pgbouncer/run.sh, settings in infra/pgbouncer/pooling.ini): the app's
    # connections are pooled per transaction onto at most default_pool_size server
    # connections, each closed after server_lifetime so its backend's memory stays bounded.
    containers {
      name    = "pgbouncer"
      image   = var.image
      command = ["/app/infra/pgbouncer/run.sh"]
      resources {
        limits = { cpu = "0.5", memory = "256Mi" }
      }
      startup_probe {
        tcp_socket {
          port = 6432
        }
      }
      env {
        name = "DATABASE_URL"
        value_source {
          secret_key_ref {
            secret  = local.secret_ids["database-url"]
            version = "latest"
          }
        }
      }
    }

    containers {
      name       = "app"
      image      = var.image
      depends_on = ["pgbouncer"]
      ports {
        container_port = 8080
      }
      resources {
        limits = { cpu = "2", memory = "2Gi" }
      }
      dynamic "env" {
        for_each = local.web_env
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.web_secrets
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = local.secret_ids[env.value]
              version = "latest"
            }
          }
        }
      }
    }
  }
}

# The Celery workers: worker pools (no HTTP listener, no request-driven scaling). The main
# lane scales with var.worker_instances; large documents have a lane of their own (so small
# ones never wait behind them), whose single instance also runs Celery beat (-B): beat
# must run exactly once.
locals {
  worker_pools = {
    main = {
      name      = "knowledge-worker"
      instances = var.worker_instances
      command   = ["celery", "-A", "saas", "worker", "-Q", "celery", "--loglevel", "INFO", "--concurrency", "2"]
    }
    large = {
      name      = "knowledge-worker-large"
      instances = 1
      command = ["celery", "-A", "saas", "worker", "-Q", "celery.large", "--loglevel", "INFO",
      "--concurrency", "1", "-B", "--schedule", "/tmp/celerybeat-schedule"]
    }
  }
}

resource "google_cloud_run_v2_worker_pool" "worker" {
  for_each            = local.worker_pools
  provider            = google-beta
  name                = each.value.name
  location            = var.region
  launch_stage        = "BETA"
  deletion_protection = true
  depends_on          = [google_secret_manager_secret_iam_member.workloads, google_kms_crypto_key_iam_member.secrets]

  scaling {
    scaling_mode          = "MANUAL"
    manual_instance_count = each.value.instances
  }

  template {
    service_account = google_service_account.worker.email

    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = local.vpc_access.network
        subnetwork = local.vpc_access.subnetwork
      }
    }

    # PgBouncer (infra/pgbouncer/run.sh, settings in infra/pgbouncer/pooling.ini): the app's
    # connections are pooled per transaction onto at most default_pool_size server
    # connections, each closed after server_lifetime so its backend's memory stays bounded.
    containers {
      name    = "pgbouncer"
      image   = var.image
      command = ["/app/infra/pgbouncer/run.sh"]
      resources {
        limits = { cpu = "0.5", memory = "256Mi" }
      }
      startup_probe {
        tcp_socket {
          port = 6432
        }
      }
      env {
        name = "DATABASE_URL"
        value_source {
          secret_key_ref {
            secret  = local.secret_ids["database-url"]
            version = "latest"
          }
        }
      }
    }

    containers {
      name       = "app"
      image      = var.image
      command    = each.value.command
      depends_on = ["pgbouncer"]
      resources {
        limits = { cpu = "2", memory = "4Gi" }
      }
      dynamic "env" {
        for_each = local.worker_env
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.worker_secrets
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = local.secret_ids[env.value]
              version = "latest"
            }
          }
        }
      }
    }
  }
}

# migrate_schemas on every schema (manage.py platform_setup), run before each release:
# gcloud run jobs execute knowledge-migrate --region=REGION --wait
resource "google_cloud_run_v2_job" "migrate" {
  name                = "knowledge-migrate"
  location            = var.region
  deletion_protection = true
  depends_on          = [google_secret_manager_secret_iam_member.workloads, google_kms_crypto_key_iam_member.secrets]

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.migrate.email
      max_retries     = 0
      timeout         = "3600s"

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = local.vpc_access.network
          subnetwork = local.vpc_access.subnetwork
        }
      }

      containers {
        image   = var.image
        command = ["python", "manage.py", "platform_setup"]
        resources {
          limits = { cpu = "2", memory = "4Gi" }
        }
        dynamic "env" {
          for_each = local.migrate_env
          content {
            name  = env.key
            value = env.value
          }
        }
        dynamic "env" {
          for_each = local.migrate_secrets
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = local.secret_ids[env.value]
                version = "latest"
              }
            }
          }
        }
      }
    }
  }
}

# Anyone may call the web service, but its ingress admits only the load balancer.
resource "google_cloud_run_v2_service_iam_member" "public" {
  name     = google_cloud_run_v2_service.web.name
  location = var.region
  role     = "roles/run.invoker"
  member   = "allUsers"
}
