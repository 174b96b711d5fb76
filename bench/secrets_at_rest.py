"""What envelope encryption of stored secrets costs (accounts.secrets_at_rest): milliseconds to
seal and to open one secret (a source's credentials as JSON, about 200 bytes) and the stored
length, for each key-encryption key: the Cloud KMS key through google-cloud-kms's REST client
against the local Cloud KMS-format server (localdev/kms_server.py, loopback: the client's own
cost, without Google's network), a Tink keyset, and the development key.

    .venv/bin/python bench/secrets_at_rest.py [--rounds 500]

Baseline in the same run: the Fernet (MultiFernet) encryption the stored secrets had before.
Needs no database. The last line is JSON.
"""

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = json.dumps(
    {"email": "wiki-bot@example.com", "api_token": "ATATT3xFfGF0" + "x" * 180}, sort_keys=True
)
KMS_KEY = "projects/bench/locations/global/keyRings/saas/cryptoKeys/secrets"


def timed(operation: Callable[[], object], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=500)
    rounds = parser.parse_args().rounds
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    import django

    django.setup()
    from cryptography.fernet import Fernet, MultiFernet
    from django.test import override_settings

    from accounts.secrets_at_rest import keyset_new, secret_open, secret_seal
    from localdev.kms_server import KmsLocalServer

    server = KmsLocalServer().start()
    kinds = {
        "kms": {
            "SECRETS_KMS_KEY": KMS_KEY,
            "SECRETS_KMS_ENDPOINT": server.endpoint,
            "SECRETS_KMS_ACCESS_TOKEN": server.token,
        },
        "keyset": {"SECRETS_KMS_KEY": "", "SECRETS_KEYSET": keyset_new()},
        "dev": {"SECRETS_KMS_KEY": "", "SECRETS_KEYSET": ""},
    }
    results: dict[str, dict[str, float]] = {}
    for kind, overrides in kinds.items():
        with override_settings(**overrides):
            sealed = secret_seal(SECRET, purpose="bench")
            seal = timed(lambda: secret_seal(SECRET, purpose="bench"), rounds)
            opened = timed(partial(secret_open, sealed, purpose="bench"), rounds)
        results[kind] = {
            "seal_p50_ms": round(seal[0], 3), "seal_p95_ms": round(seal[1], 3),
            "open_p50_ms": round(opened[0], 3), "open_p95_ms": round(opened[1], 3),
            "stored_chars": len(sealed),
        }  # fmt: skip
    vault = MultiFernet([Fernet(Fernet.generate_key())])
    token = vault.encrypt(SECRET.encode())
    seal = timed(lambda: vault.encrypt(SECRET.encode()), rounds)
    opened = timed(lambda: vault.decrypt(token), rounds)
    results["fernet (before)"] = {
        "seal_p50_ms": round(seal[0], 3), "seal_p95_ms": round(seal[1], 3),
        "open_p50_ms": round(opened[0], 3), "open_p95_ms": round(opened[1], 3),
        "stored_chars": len(token),
    }  # fmt: skip
    server.stop()
    print(f"secret of {len(SECRET)} bytes, {rounds} rounds each")
    print(f"{'key':<16} {'seal p50':>9} {'p95':>7} {'open p50':>9} {'p95':>7} {'stored':>7}")
    for kind, row in results.items():
        print(
            f"{kind:<16} {row['seal_p50_ms']:>8.3f}ms {row['seal_p95_ms']:>6.3f} "
            f"{row['open_p50_ms']:>8.3f}ms {row['open_p95_ms']:>6.3f} {row['stored_chars']:>7}"
        )
    print(json.dumps({"rounds": rounds, "secret_bytes": len(SECRET), **results}))


if __name__ == "__main__":
    main()
