# The key-encryption key of the secrets kept in the database (accounts/secrets_at_rest.py):
# sources' credentials, Slack bot tokens, single sign-on client secrets. Each secret is
# encrypted by a data key of its own, stored beside it wrapped by this key (envelope
# encryption through Google Tink); the key itself never leaves Cloud KMS. Cloud KMS makes a
# new primary version every rotation period and older versions still decrypt; after one,
# `manage.py secrets_rotate` re-wraps every stored secret under the new version
# (docs/operations/secrets.md), after which older versions may be disabled.
resource "google_kms_key_ring" "secrets" {
  name     = "knowledge-secrets"
  location = var.region
}

resource "google_kms_crypto_key" "secrets" {
  name            = "stored-secrets"
  key_ring        = google_kms_key_ring.secrets.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = var.secrets_key_rotation_period

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = "SOFTWARE"
  }

  # Destroying the key loses every secret it wrapped: people would have to enter each again.
  lifecycle {
    prevent_destroy = true
  }
}

# Encrypt and decrypt with this key only (no other key, no key management): the web service
# (saving settings), the workers (syncing sources, answering in Slack) and the migrate job
# (members' migration 0006 encrypts the clear client secrets of before; secrets_rotate).
resource "google_kms_crypto_key_iam_member" "secrets" {
  for_each      = toset(["web", "worker", "migrate"])
  crypto_key_id = google_kms_crypto_key.secrets.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = local.sa[each.value].member
}
