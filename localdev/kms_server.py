"""A local HTTP server that speaks the part of Cloud KMS's REST API that envelope encryption
uses: `POST /v1/projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>:encrypt` and
`:decrypt` for symmetric keys (EncryptRequest / DecryptRequest JSON: base64 bytes,
additional authenticated data, the CRC32C integrity fields; Google's error JSON on failure).

Each crypto key has versions: the primary encrypts, every enabled version decrypts (the
ciphertext names its version, as Cloud KMS's does), so `rotate(key)` behaves as a Cloud KMS
rotation and `disable(key, version)` as disabling a version. A key is made on its first
encrypt unless `create_on_use` is off. Requests must carry `Authorization: Bearer <token>`.
Tests and `make dev` point google-cloud-kms's client at it (SECRETS_KMS_ENDPOINT,
SECRETS_KMS_ACCESS_TOKEN); `fail_next` fails the next requests with the statuses listed.
"""

import base64
import json
import os
import re
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import google_crc32c
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_PATH = re.compile(
    r"^/v1/(projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/:]+):(encrypt|decrypt)$"
)
MAGIC = b"LKMS"
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class _CryptoKey:
    def __init__(self) -> None:
        self.versions: list[bytes] = []
        self.enabled: list[bool] = []
        self.primary = 0
        self.rotate()

    def rotate(self) -> int:
        self.versions.append(AESGCM.generate_key(bit_length=256))
        self.enabled.append(True)
        self.primary = len(self.versions)
        return self.primary


class KmsLocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, token: str = "local-kms-token") -> None:  # noqa: S107
        super().__init__(("127.0.0.1", port), _Handler)
        self.token = token
        self.create_on_use = True
        self.keys: dict[str, _CryptoKey] = {}
        self.fail_next: list[int] = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def start(self) -> "KmsLocalServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def create(self, name: str) -> None:
        with self.lock:
            self.keys.setdefault(name, _CryptoKey())

    def rotate(self, name: str) -> int:
        """A new primary version of the key (Cloud KMS's automatic or manual rotation)."""
        with self.lock:
            if name not in self.keys:
                self.keys[name] = _CryptoKey()
                return 1
            return self.keys[name].rotate()

    def disable(self, name: str, version: int) -> None:
        with self.lock:
            self.keys[name].enabled[version - 1] = False

    def encrypt(self, name: str, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        with self.lock:
            if name not in self.keys:
                if not self.create_on_use:
                    raise _Refusal(404, f"CryptoKey {name} not found.")
                self.keys[name] = _CryptoKey()
            key = self.keys[name]
            version = key.primary
            material = key.versions[version - 1]
        nonce = os.urandom(12)
        sealed = AESGCM(material).encrypt(nonce, plaintext, aad)
        return f"{name}/cryptoKeyVersions/{version}", MAGIC + struct.pack(
            ">I", version
        ) + nonce + sealed

    def decrypt(self, name: str, ciphertext: bytes, aad: bytes) -> tuple[bool, bytes]:
        with self.lock:
            key = self.keys.get(name)
            if key is None:
                raise _Refusal(404, f"CryptoKey {name} not found.")
            if len(ciphertext) < 20 or not ciphertext.startswith(MAGIC):
                raise _Refusal(400, "Decryption failed: the ciphertext is invalid.")
            version = struct.unpack(">I", ciphertext[4:8])[0]
            if not 1 <= version <= len(key.versions):
                raise _Refusal(400, "Decryption failed: the ciphertext is invalid.")
            if not key.enabled[version - 1]:
                raise _Refusal(
                    400,
                    f"{name}/cryptoKeyVersions/{version} is not enabled, current state is: "
                    "DISABLED.",
                )
            material, primary = key.versions[version - 1], key.primary
        try:
            plain = AESGCM(material).decrypt(ciphertext[8:20], ciphertext[20:], aad)
        except InvalidTag:
            raise _Refusal(400, "Decryption failed: the ciphertext is invalid.") from None
        return version == primary, plain


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _crc(data: bytes) -> str:
    # int64 fields travel as strings in Google's JSON.
    return str(google_crc32c.value(data))


def _bytes(body: dict[str, Any], field: str) -> bytes:
    return base64.b64decode(body.get(field, "") or "")


def _checked(body: dict[str, Any], field: str, crc_field: str) -> tuple[bytes, bool]:
    """The bytes of `field`, and whether the caller's CRC32C of them was given and holds (a
    wrong one is refused, as Cloud KMS does)."""
    data = _bytes(body, field)
    if crc_field not in body:
        return data, False
    if str(body[crc_field]) != _crc(data):
        raise _Refusal(400, f"The checksum in field {crc_field} did not match the data.")
    return data, True


class _Handler(BaseHTTPRequestHandler):
    server: KmsLocalServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            self._answer(self._handle(raw))
        except _Refusal as refusal:
            self._error(refusal.status, refusal.message)

    def _handle(self, raw: bytes) -> dict[str, Any]:
        match = KEY_PATH.match(self.path.split("?", 1)[0])
        if not match:
            raise _Refusal(404, f"No such method: {self.path}")
        name, method = match.groups()
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            raise _Refusal(401, "Request had invalid authentication credentials.")
        with self.server.lock:
            failure = self.server.fail_next.pop(0) if self.server.fail_next else None
        body = json.loads(raw or b"{}")
        self.server.requests.append({"name": name, "method": method, "body": body})
        if failure:
            raise _Refusal(failure, "The service is currently unavailable.")
        aad, aad_checked = _checked(
            body, "additionalAuthenticatedData", "additionalAuthenticatedDataCrc32c"
        )
        if method == "encrypt":
            plain, plain_checked = _checked(body, "plaintext", "plaintextCrc32c")
            version_name, ciphertext = self.server.encrypt(name, plain, aad)
            return {
                "name": version_name,
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "ciphertextCrc32c": _crc(ciphertext),
                "verifiedPlaintextCrc32c": plain_checked,
                "verifiedAdditionalAuthenticatedDataCrc32c": aad_checked,
                "protectionLevel": "SOFTWARE",
            }
        ciphertext, _ = _checked(body, "ciphertext", "ciphertextCrc32c")
        used_primary, plain = self.server.decrypt(name, ciphertext, aad)
        return {
            "plaintext": base64.b64encode(plain).decode(),
            "plaintextCrc32c": _crc(plain),
            "usedPrimary": used_primary,
            "protectionLevel": "SOFTWARE",
        }

    def _answer(self, payload: dict[str, Any]) -> None:
        self._send(200, payload)

    def _error(self, status: int, message: str) -> None:
        self._send(
            status,
            {
                "error": {
                    "code": status,
                    "message": message,
                    "status": STATUS_NAMES.get(status, "UNKNOWN"),
                }
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8087)
    parser.add_argument("--token", default="local-kms-token")
    arguments = parser.parse_args()
    server = KmsLocalServer(port=arguments.port, token=arguments.token)
    print(f"Cloud KMS-format server on {server.endpoint}", flush=True)
    server.serve_forever()
