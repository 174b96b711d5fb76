# The HTTPS load balancer: every organization is a subdomain, so one wildcard certificate
# (Certificate Manager, DNS authorization: add the printed CNAME records to the zone) for
# BASE_DOMAIN and *.BASE_DOMAIN, and a serverless NEG to the web service.
resource "google_compute_global_address" "web" {
  name = "knowledge-web"
}

resource "google_certificate_manager_dns_authorization" "base" {
  name   = "knowledge-base-domain"
  domain = var.base_domain
}

resource "google_certificate_manager_certificate" "wildcard" {
  name = "knowledge-wildcard"
  managed {
    domains            = [var.base_domain, "*.${var.base_domain}"]
    dns_authorizations = [google_certificate_manager_dns_authorization.base.id]
  }
}

resource "google_certificate_manager_certificate_map" "web" {
  name = "knowledge-web"
}

resource "google_certificate_manager_certificate_map_entry" "base" {
  name         = "knowledge-base"
  map          = google_certificate_manager_certificate_map.web.name
  certificates = [google_certificate_manager_certificate.wildcard.id]
  hostname     = var.base_domain
}

resource "google_certificate_manager_certificate_map_entry" "subdomains" {
  name         = "knowledge-subdomains"
  map          = google_certificate_manager_certificate_map.web.name
  certificates = [google_certificate_manager_certificate.wildcard.id]
  hostname     = "*.${var.base_domain}"
}

resource "google_compute_region_network_endpoint_group" "web" {
  name                  = "knowledge-web"
  network_endpoint_type = "SERVERLESS"
  region                = var.region
  cloud_run {
    service = google_cloud_run_v2_service.web.name
  }
}

resource "google_compute_backend_service" "web" {
  name                  = "knowledge-web"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"
  backend {
    group = google_compute_region_network_endpoint_group.web.id
  }
  log_config {
    enable = true
  }
}

resource "google_compute_url_map" "web" {
  name            = "knowledge-web"
  default_service = google_compute_backend_service.web.id
}

resource "google_compute_target_https_proxy" "web" {
  name            = "knowledge-web"
  url_map         = google_compute_url_map.web.id
  certificate_map = "//certificatemanager.googleapis.com/${google_certificate_manager_certificate_map.web.id}"
}

resource "google_compute_global_forwarding_rule" "https" {
  name                  = "knowledge-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.web.id
  port_range            = "443"
  target                = google_compute_target_https_proxy.web.id
}

# Plain HTTP only redirects to HTTPS.
resource "google_compute_url_map" "redirect" {
  name = "knowledge-http-redirect"
  default_url_redirect {
    https_redirect         = true
    strip_query            = false
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  name    = "knowledge-http-redirect"
  url_map = google_compute_url_map.redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  name                  = "knowledge-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.web.id
  port_range            = "80"
  target                = google_compute_target_http_proxy.redirect.id
}
