"""Envelope encryption of stored secrets (accounts.secrets_at_rest): Tink's KmsEnvelopeAead
with the Cloud KMS key reached through google-cloud-kms's client, against the local Cloud
KMS-format server (localdev/kms_server.py), and with a Tink keyset from the environment."""

import base64
import struct

import pytest
from cryptography.fernet import Fernet

from accounts.secrets_at_rest import (
    KeyServiceUnavailable,
    SecretUnreadable,
    keyset_new,
    secret_open,
    secret_reseal,
    secret_seal,
)
from connectors.credentials import PURPOSE as CONNECTOR_PURPOSE
from localdev.kms_server import KmsLocalServer
from members.models import CLIENT_SECRET_PURPOSE
from tests.conftest import KMS_KEY


def test_a_secret_sealed_under_the_cloud_kms_key_opens_and_carries_its_wrapped_data_key(
    kms: KmsLocalServer,
):
    sealed = secret_seal("xoxb-bot-token", purpose="slack-token-vault")

    assert sealed.startswith("env1:kms:")
    assert "xoxb" not in sealed
    envelope = base64.urlsafe_b64decode(sealed.removeprefix("env1:kms:"))
    wrapped_length = struct.unpack(">I", envelope[:4])[0]
    assert envelope[4:8] == b"LKMS"  # the data key, as the key service wrapped it
    assert len(envelope) == 4 + wrapped_length + 12 + len("xoxb-bot-token") + 16
    assert secret_open(sealed, purpose="slack-token-vault") == "xoxb-bot-token"
    assert [request["method"] for request in kms.requests] == ["encrypt", "decrypt"]
    assert {request["name"] for request in kms.requests} == {KMS_KEY}


def test_each_secret_gets_a_data_key_of_its_own(kms: KmsLocalServer):
    first = secret_seal("same", purpose=CONNECTOR_PURPOSE)
    second = secret_seal("same", purpose=CONNECTOR_PURPOSE)

    assert first != second
    wrapped = [base64.urlsafe_b64decode(value[9:])[4:80] for value in (first, second)]
    assert wrapped[0] != wrapped[1]


def test_a_secret_of_one_column_does_not_open_as_another(kms: KmsLocalServer):
    sealed = secret_seal('{"password": "s3cret"}', purpose=CONNECTOR_PURPOSE)

    with pytest.raises(SecretUnreadable, match="cannot be read with the configured keys"):
        secret_open(sealed, purpose=CLIENT_SECRET_PURPOSE)


def test_a_secret_of_one_column_does_not_open_as_another_under_a_local_keyset(settings):
    settings.SECRETS_KEYSET = keyset_new()
    sealed = secret_seal("client-secret", purpose=CLIENT_SECRET_PURPOSE)

    assert sealed.startswith("env1:local:")
    with pytest.raises(SecretUnreadable):
        secret_open(sealed, purpose="slack-token-vault")
    assert secret_open(sealed, purpose=CLIENT_SECRET_PURPOSE) == "client-secret"


def test_after_the_kms_key_rotates_a_reseal_moves_the_secret_to_the_new_version(
    kms: KmsLocalServer,
):
    sealed = secret_seal("before rotation", purpose=CONNECTOR_PURPOSE)
    version = kms.rotate(KMS_KEY)

    resealed = secret_reseal(sealed, purpose=CONNECTOR_PURPOSE)
    kms.disable(KMS_KEY, version - 1)

    assert kms.requests[-1]["method"] == "encrypt"
    assert secret_open(resealed, purpose=CONNECTOR_PURPOSE) == "before rotation"
    with pytest.raises(SecretUnreadable):
        secret_open(sealed, purpose=CONNECTOR_PURPOSE)


def test_a_secret_wrapped_by_a_kms_key_no_longer_configured_says_which_key(
    kms: KmsLocalServer, settings
):
    sealed = secret_seal("token", purpose=CONNECTOR_PURPOSE)
    settings.SECRETS_KMS_KEY = ""

    with pytest.raises(SecretUnreadable) as refusal:
        secret_open(sealed, purpose=CONNECTOR_PURPOSE)

    assert str(refusal.value) == (
        "The stored secret was encrypted with a key that is no longer configured "
        "(the Cloud KMS key, SECRETS_KMS_KEY); enter it again."
    )


def test_a_key_service_that_refuses_for_now_is_told_apart_from_a_lost_key(kms: KmsLocalServer):
    sealed = secret_seal("token", purpose=CONNECTOR_PURPOSE)
    kms.fail_next = [429]

    with pytest.raises(KeyServiceUnavailable, match="could not be reached; try again"):
        secret_open(sealed, purpose=CONNECTOR_PURPOSE)
    assert secret_open(sealed, purpose=CONNECTOR_PURPOSE) == "token"


def test_a_key_service_that_denies_the_key_makes_the_secret_unreadable(kms: KmsLocalServer):
    sealed = secret_seal("token", purpose=CONNECTOR_PURPOSE)
    kms.fail_next = [403]

    with pytest.raises(SecretUnreadable) as refusal:
        secret_open(sealed, purpose=CONNECTOR_PURPOSE)

    assert not isinstance(refusal.value, KeyServiceUnavailable)


def test_a_keyset_given_a_new_primary_key_still_opens_what_the_old_one_wrapped(settings):
    settings.SECRETS_KEYSET = keyset_new()
    before = secret_seal("kept", purpose=CONNECTOR_PURPOSE)

    settings.SECRETS_KEYSET = keyset_new(settings.SECRETS_KEYSET)
    after = secret_reseal(before, purpose=CONNECTOR_PURPOSE)

    assert secret_open(before, purpose=CONNECTOR_PURPOSE) == "kept"
    # The wrapped data key names the keyset's key that wrapped it (Tink's 5-byte prefix).
    assert base64.urlsafe_b64decode(after[11:])[5:9] != base64.urlsafe_b64decode(before[11:])[5:9]
    assert secret_open(after, purpose=CONNECTOR_PURPOSE) == "kept"


def test_a_fernet_token_of_before_opens_under_its_columns_legacy_keys(settings):
    legacy = Fernet.generate_key().decode()
    settings.CONNECTOR_SECRET_KEYS = [legacy]
    token = Fernet(legacy).encrypt(b'{"token": "ntn_1"}').decode()

    assert secret_open(token, purpose=CONNECTOR_PURPOSE) == '{"token": "ntn_1"}'
    resealed = secret_reseal(token, purpose=CONNECTOR_PURPOSE)
    settings.CONNECTOR_SECRET_KEYS = []
    assert resealed.startswith("env1:dev:")
    assert secret_open(resealed, purpose=CONNECTOR_PURPOSE) == '{"token": "ntn_1"}'
    with pytest.raises(SecretUnreadable):
        secret_open(token, purpose=CONNECTOR_PURPOSE)


def test_a_keyset_that_is_not_one_is_refused_with_a_sentence(settings):
    settings.SECRETS_KEYSET = '{"primaryKeyId": 1}'

    with pytest.raises(SecretUnreadable, match="SECRETS_KEYSET is not a Tink AEAD keyset"):
        secret_seal("x", purpose=CONNECTOR_PURPOSE)
