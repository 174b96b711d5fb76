variable "project" {
  description = "Google Cloud project id"
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Cloud SQL, Memorystore and the bucket"
  type        = string
  default     = "europe-west1"
}

variable "base_domain" {
  description = "The public site; organizations are <slug>.<base_domain>"
  type        = string
}

variable "image" {
  description = "The release's image, REGION-docker.pkg.dev/PROJECT/knowledge/app:TAG"
  type        = string
}

variable "db_tier" {
  description = "Cloud SQL machine tier"
  type        = string
  default     = "db-custom-2-7680"
}

variable "redis_memory_gb" {
  description = "Memorystore for Redis size"
  type        = number
  default     = 1
}

variable "worker_instances" {
  description = "Celery worker pool instances"
  type        = number
  default     = 1
}

variable "email" {
  description = "SMTP settings for invitations and verification mails (the password is a secret)"
  type = object({
    host = string
    port = number
    user = string
    from = string
  })
}

variable "vertex_model" {
  description = "Gemini model on Vertex AI"
  type        = string
  default     = "gemini-2.5-flash"
}

variable "secrets_key_rotation_period" {
  description = "How often Cloud KMS makes a new primary version of the stored secrets' key (kms.tf), in seconds with an s"
  type        = string
  default     = "7776000s" # 90 days
}
