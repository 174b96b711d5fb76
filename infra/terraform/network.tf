# A VPC for private addresses: Cloud SQL (private IP) and Memorystore are reached from Cloud
# Run over Direct VPC egress (no Serverless VPC connector to run and pay for).
resource "google_compute_network" "main" {
  name                    = "knowledge-vpc"
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "run" {
  name                     = "knowledge-run"
  network                  = google_compute_network.main.id
  region                   = var.region
  ip_cidr_range            = "10.8.0.0/24"
  private_ip_google_access = true
}

# Private services access, for Cloud SQL's private IP.
resource "google_compute_global_address" "private_services" {
  name          = "knowledge-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = google_compute_network.main.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.main.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}

locals {
  # Cloud Run's Direct VPC egress, shared by the web service, worker pool and migrate job.
  vpc_access = {
    network    = google_compute_network.main.id
    subnetwork = google_compute_subnetwork.run.id
  }
}
