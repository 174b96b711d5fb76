"""Secrets kept in the database (a source's credentials, a Slack bot token, the single sign-on
client secret): envelope encryption through Google Tink.

Each value is encrypted by a data key of its own (AES-256-GCM), and that data key is stored
beside it wrapped by the key-encryption key (Tink's KmsEnvelopeAead). The associated data is
the value's purpose (its column), so a ciphertext copied into another column does not open.
The key-encryption key is, by the first of these that is set:
- SECRETS_KMS_KEY: a Cloud KMS key (production), reached through google-cloud-kms's client
  (SECRETS_KMS_ENDPOINT and SECRETS_KMS_ACCESS_TOKEN point it at the local
  Cloud KMS-format server in development and the tests);
- SECRETS_KEYSET: a Tink AEAD keyset as JSON, kept in the environment (a deployment without
  Cloud KMS); its primary key wraps, every key in it unwraps;
- otherwise one derived from DJANGO_SECRET_KEY (development).
A stored value names the kind of key that wrapped its data key (`env1:kms:`, `env1:local:`,
`env1:dev:`), so values wrapped by a kind still configured keep opening after the next kind
is set; `secrets_rotate` moves every stored value onto the key in force.

Values written before envelope encryption are Fernet tokens under the Fernet keys of their
column (CONNECTOR_SECRET_KEYS, SLACK_TOKEN_KEYS, or a key derived from DJANGO_SECRET_KEY);
they still open, and `secrets_rotate` re-encrypts them."""

import base64
import functools
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import google_crc32c
import tink
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from google.api_core import exceptions as google_exceptions
from tink import aead, secret_key_access
from tink.proto import aes_gcm_pb2, tink_pb2

aead.register()

PREFIX = "env1:"
KMS, LOCAL, DEV = "kms", "local", "dev"
# The data key of each value: AES-256-GCM, made fresh for every encryption.
DATA_KEY_TEMPLATE = aead.aead_key_templates.AES256_GCM
AES_GCM_KEY_TYPE = "type.googleapis.com/google.crypto.tink.AesGcmKey"


class SecretUnreadable(Exception):
    """The stored value cannot be opened with the keys configured (or was not made for this
    purpose): whoever entered it must enter it again."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "The stored secret cannot be read with the configured keys; enter it again."
        )


class KeyServiceUnavailable(SecretUnreadable):
    """Cloud KMS did not answer (or refused for now): the value is intact, try again."""

    def __init__(self, error: Exception) -> None:
        super().__init__(
            "The key service (Cloud KMS) that protects stored secrets could not be reached; "
            f"try again in a few minutes ({type(error).__name__})."
        )


@dataclass(frozen=True)
class SealedColumn:
    """A column whose values are sealed here: `secrets_rotate` re-encrypts each of them in
    every organization. Registered by the app that owns the model (its AppConfig.ready)."""

    model: str  # "app_label.ModelName"
    field: str
    purpose: str
    # The Fernet keys (a setting's name) its values were encrypted under before envelope
    # encryption; empty: it had none (the values were clear text, or new).
    legacy_keys_setting: str = ""


SEALED_COLUMNS: dict[str, SealedColumn] = {}


def sealed_column_register(column: SealedColumn) -> None:
    SEALED_COLUMNS[column.purpose] = column


def secret_seal(plain: str, *, purpose: str) -> str:
    """`plain` encrypted under a fresh data key wrapped by the key-encryption key in force."""
    kind = kek_kind()
    try:
        sealed = _envelope(kind).encrypt(plain.encode(), purpose.encode())
    except tink.TinkError as error:
        raise KeyServiceUnavailable(error.__cause__ or error) from None
    return f"{PREFIX}{kind}:{base64.urlsafe_b64encode(sealed).decode()}"


def secret_open(sealed: str, *, purpose: str) -> str:
    if not sealed.startswith(PREFIX):
        return _legacy_open(sealed, purpose=purpose)
    kind, _, encoded = sealed[len(PREFIX) :].partition(":")
    if kind not in (KMS, LOCAL, DEV) or not _configured(kind):
        raise SecretUnreadable(
            "The stored secret was encrypted with a key that is no longer configured "
            f"({_KIND_NAMES.get(kind, kind)}); enter it again."
        )
    try:
        return _envelope(kind).decrypt(base64.urlsafe_b64decode(encoded), purpose.encode()).decode()
    except (tink.TinkError, ValueError) as error:
        raise _refusal(error) from None


def secret_reseal(sealed: str, *, purpose: str) -> str:
    """The same secret under a new data key wrapped by the key-encryption key in force (after
    a rotation, or from a Fernet token of before)."""
    return secret_seal(secret_open(sealed, purpose=purpose), purpose=purpose)


def kek_kind() -> str:
    if settings.SECRETS_KMS_KEY:
        return KMS
    if settings.SECRETS_KEYSET:
        return LOCAL
    return DEV


_KIND_NAMES = {
    KMS: "the Cloud KMS key, SECRETS_KMS_KEY",
    LOCAL: "the keyset in SECRETS_KEYSET",
    DEV: "the development key derived from DJANGO_SECRET_KEY",
}


def _configured(kind: str) -> bool:
    return {KMS: bool(settings.SECRETS_KMS_KEY), LOCAL: bool(settings.SECRETS_KEYSET)}.get(
        kind, True
    )


def _refusal(error: Exception) -> SecretUnreadable:
    cause = error.__cause__ or (error.args[0] if error.args else None)
    if isinstance(cause, KeyServiceUnavailable):
        return cause
    if isinstance(cause, google_exceptions.GoogleAPIError) and _transient(cause):
        return KeyServiceUnavailable(cause)
    return SecretUnreadable()


def _transient(error: google_exceptions.GoogleAPIError) -> bool:
    return isinstance(
        error,
        google_exceptions.ServiceUnavailable
        | google_exceptions.DeadlineExceeded
        | google_exceptions.InternalServerError
        | google_exceptions.TooManyRequests
        | google_exceptions.RetryError,
    )


def _envelope(kind: str) -> aead.Aead:
    wrapper: aead.Aead
    if kind == KMS:
        wrapper = _cloud_kms_aead(
            settings.SECRETS_KMS_KEY,
            settings.SECRETS_KMS_ENDPOINT,
            settings.SECRETS_KMS_ACCESS_TOKEN,
        )
    elif kind == LOCAL:
        wrapper = keyset_aead(settings.SECRETS_KEYSET)
    else:
        wrapper = _development_aead(settings.SECRET_KEY)
    return aead.KmsEnvelopeAead(DATA_KEY_TEMPLATE, wrapper)


class CloudKmsAead(aead.Aead):
    """Tink's AEAD over a Cloud KMS key (symmetric ENCRYPT_DECRYPT): what tink's own gcpkms
    integration does, on a client built here so that its endpoint can be set, with the
    CRC32C integrity checks Cloud KMS's documentation asks callers to make."""

    def __init__(self, client: Any, key_name: str) -> None:
        self.client = client
        self.key_name = key_name

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        response = self._call(
            self.client.encrypt,
            {
                "name": self.key_name,
                "plaintext": plaintext,
                "plaintext_crc32c": _crc32c(plaintext),
                "additional_authenticated_data": associated_data,
                "additional_authenticated_data_crc32c": _crc32c(associated_data),
            },
        )
        if not (
            response.verified_plaintext_crc32c
            and response.verified_additional_authenticated_data_crc32c
            and response.ciphertext_crc32c == _crc32c(response.ciphertext)
        ):
            raise tink.TinkError("Cloud KMS's encrypt response failed its integrity check.")
        return bytes(response.ciphertext)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        response = self._call(
            self.client.decrypt,
            {
                "name": self.key_name,
                "ciphertext": ciphertext,
                "ciphertext_crc32c": _crc32c(ciphertext),
                "additional_authenticated_data": associated_data,
                "additional_authenticated_data_crc32c": _crc32c(associated_data),
            },
        )
        if response.plaintext_crc32c != _crc32c(response.plaintext):
            raise tink.TinkError("Cloud KMS's decrypt response failed its integrity check.")
        return bytes(response.plaintext)

    @staticmethod
    def _call(method: Any, request: dict[str, Any]) -> Any:
        try:
            return method(request=request)
        except google_exceptions.GoogleAPIError as error:
            raise tink.TinkError(error) from error


def _crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


@functools.cache
def _cloud_kms_aead(key_name: str, endpoint: str, access_token: str) -> CloudKmsAead:
    from google.cloud import kms_v1

    # REST in production too, so that the transport the tests drive against the local Cloud
    # KMS-format server (localdev/kms_server.py) is the one production uses; a call per secret
    # opened or sealed gains nothing from gRPC's streams.
    options: dict[str, Any] = {"transport": "rest"}
    if endpoint:
        options["client_options"] = {"api_endpoint": endpoint}
    if access_token:
        from google.oauth2.credentials import Credentials

        options["credentials"] = Credentials(token=access_token)  # type: ignore[no-untyped-call]
    return CloudKmsAead(kms_v1.KeyManagementServiceClient(**options), key_name)


@functools.cache
def keyset_aead(keyset_json: str) -> aead.Aead:
    try:
        handle = tink.json_proto_keyset_format.parse(keyset_json, secret_key_access.TOKEN)
        return handle.primitive(aead.Aead)
    except (tink.TinkError, ValueError) as error:
        raise SecretUnreadable(
            "SECRETS_KEYSET is not a Tink AEAD keyset in JSON "
            f"(make one with `manage.py secrets_keyset`): {error}"
        ) from None


@functools.cache
def _development_aead(secret_key: str) -> aead.Aead:
    """An AES-256-GCM keyset whose one key is derived from DJANGO_SECRET_KEY."""
    digest = hashlib.sha256(f"secrets-at-rest:{secret_key}".encode()).digest()
    key = aes_gcm_pb2.AesGcmKey(version=0, key_value=digest)
    keyset = tink_pb2.Keyset(
        primary_key_id=int.from_bytes(digest[:4], "big") & 0x7FFFFFFF,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url=AES_GCM_KEY_TYPE,
                    value=key.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=int.from_bytes(digest[:4], "big") & 0x7FFFFFFF,
                output_prefix_type=tink_pb2.TINK,
            )
        ],
    )
    handle = tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return handle.primitive(aead.Aead)


def keyset_new(existing_json: str = "") -> str:
    """A Tink AEAD keyset (JSON) for SECRETS_KEYSET: a new AES-256-GCM key made primary,
    after the keys of `existing_json` (kept so that what they wrapped still opens)."""
    fresh = tink_pb2.Keyset.FromString(
        tink.proto_keyset_format.serialize(
            tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM),
            secret_key_access.TOKEN,
        )
    )
    if existing_json:
        handle = tink.json_proto_keyset_format.parse(existing_json, secret_key_access.TOKEN)
        keyset = tink_pb2.Keyset.FromString(
            tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
        )
        while fresh.key[0].key_id in {key.key_id for key in keyset.key}:
            fresh.key[0].key_id = (fresh.key[0].key_id + 1) & 0x7FFFFFFF
        keyset.key.append(fresh.key[0])
        keyset.primary_key_id = fresh.key[0].key_id
        fresh = keyset
    return tink.json_proto_keyset_format.serialize(
        tink.proto_keyset_format.parse(fresh.SerializeToString(), secret_key_access.TOKEN),
        secret_key_access.TOKEN,
    )


def _legacy_open(token: str, *, purpose: str) -> str:
    column = SEALED_COLUMNS.get(purpose)
    keys: Sequence[str] = (
        getattr(settings, column.legacy_keys_setting)
        if column and column.legacy_keys_setting
        else []
    )
    chosen = list(keys) or [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()
        ).decode()
    ]
    try:
        return MultiFernet([Fernet(key) for key in chosen]).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable() from None


def sealed_values(column: SealedColumn) -> Iterator[tuple[Any, str]]:
    """(primary key, stored value) of every non-empty value of the column in the schema in
    force."""
    from django.apps import apps

    model = apps.get_model(column.model)
    yield from model.objects.exclude(**{column.field: ""}).values_list("pk", column.field)


def sealed_value_replace(column: SealedColumn, *, pk: Any, old: str, new: str) -> bool:
    """Store `new` where `old` still is (compare and swap: a value re-entered meanwhile is
    kept); whether it was stored."""
    from django.apps import apps

    model = apps.get_model(column.model)
    return bool(model.objects.filter(pk=pk, **{column.field: old}).update(**{column.field: new}))
