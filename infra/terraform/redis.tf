# Memorystore for Redis: Celery's broker and results, the cache (throttles, rate limits).
resource "google_redis_instance" "main" {
  name                    = "knowledge-redis"
  tier                    = "STANDARD_HA"
  memory_size_gb          = var.redis_memory_gb
  region                  = var.region
  redis_version           = "REDIS_7_2"
  authorized_network      = google_compute_network.main.id
  connect_mode            = "PRIVATE_SERVICE_ACCESS"
  transit_encryption_mode = "DISABLED" # private network only; TLS needs the server CA in the image
  depends_on              = [google_service_networking_connection.private_services]
}
