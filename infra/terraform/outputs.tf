output "load_balancer_ip" {
  description = "Point BASE_DOMAIN and *.BASE_DOMAIN (A records) here"
  value       = google_compute_global_address.web.address
}

output "certificate_dns_authorization" {
  description = "The CNAME record that lets Certificate Manager issue the wildcard certificate"
  value       = google_certificate_manager_dns_authorization.base.dns_resource_record
}

output "image_repository" {
  value = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.images.repository_id}"
}
