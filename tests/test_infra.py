"""What can be checked of the deployment here, without Docker or a Google Cloud project:
the image's build context and Dockerfile (hadolint), the Cloud Run manifests (they parse,
the worker is a worker pool, the migrate job migrates), and the Terraform (it parses
and describes every piece the manifests rely on)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import yaml

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
TERRAFORM = INFRA / "terraform"


def dockerignore() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_the_build_context_leaves_out_environments_data_and_history():
    ignored = dockerignore()

    for path in [".venv", ".run", "node_modules", "artifacts", ".git", ".env"]:
        assert path in ignored, f"{path} would be sent to the image build"
    assert "*.sqlite3" in ignored and "infra/terraform/*.tfstate*" in ignored


def test_the_dockerfile_builds_wheels_then_runs_slim_as_a_non_root_user():
    dockerfile = (INFRA / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)$", dockerfile, re.M)

    assert [name for _, name in stages] == ["builder", "runtime"]
    assert all(image.endswith("-slim") for image, _ in stages)
    builder, runtime = dockerfile.split("AS runtime")
    assert "pip wheel" in builder
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in builder
    assert "download.pytorch.org" not in runtime  # only the build reads that index
    assert "--no-index --find-links /wheels" in runtime
    assert "manage.py embeddings_export" in runtime
    assert "requirements-local" not in dockerfile and "requirements-dev" not in dockerfile
    [user] = re.findall(r"^USER (\S+)$", runtime, re.M)
    assert user not in {"root", "0"}
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text().splitlines()


def test_hadolint_passes_the_dockerfile():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")

    result = subprocess.run(
        [hadolint, str(INFRA / "Dockerfile")], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stdout + result.stderr


def manifest(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((INFRA / name).read_text())
    return loaded


def containers_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    spec = document["spec"]["template"]["spec"]
    if "template" in spec:  # a job: execution template, then task template
        spec = spec["template"]["spec"]
    containers: list[dict[str, Any]] = spec["containers"]
    return containers


def env_names(container: dict[str, Any]) -> set[str]:
    return {item["name"] for item in container["env"]}


def secret_refs(container: dict[str, Any]) -> set[str]:
    return {
        item["valueFrom"]["secretKeyRef"]["name"]
        for item in container["env"]
        if "valueFrom" in item
    }


def test_the_worker_is_a_worker_pool_with_vertex_and_email_settings():
    pool = manifest("cloudrun-worker-pool.yaml")
    [container] = containers_of(pool)

    assert pool["kind"] == "WorkerPool"
    assert "ports" not in container
    assert container["command"][:4] == ["celery", "-A", "saas", "worker"]
    assert {"VERTEX_PROJECT", "VERTEX_LOCATION", "EMAIL_HOST", "EMAIL_HOST_PASSWORD"} <= (
        env_names(container)
    )
    assert pool["spec"]["template"]["spec"]["serviceAccountName"].startswith("knowledge-worker@")


def test_the_migrate_job_runs_platform_setup():
    job = manifest("cloudrun-migrate-job.yaml")
    [container] = containers_of(job)

    assert job["kind"] == "Job"
    assert container["command"] == ["python", "manage.py", "platform_setup"]
    assert "MIGRATE_SCHEMAS_PROCESSES" in env_names(container)


def test_the_web_service_has_its_own_account_and_is_reached_through_the_load_balancer():
    web = manifest("cloudrun-web.yaml")

    assert web["kind"] == "Service"
    annotations = web["metadata"]["annotations"]
    assert annotations["run.googleapis.com/ingress"] == "internal-and-cloud-load-balancing"
    assert web["spec"]["template"]["spec"]["serviceAccountName"].startswith("knowledge-web@")


def terraform() -> dict[str, dict[str, Any]]:
    """Every .tf file's resources by type and name, and its locals."""
    resources: dict[str, dict[str, Any]] = {}
    local_values: dict[str, Any] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    resources.setdefault(kind.strip('"'), {})[name.strip('"')] = body
        for block in parsed.get("locals", []):
            local_values.update(block)
    return {"resource": resources, "locals": local_values}


def test_terraform_describes_every_piece_of_the_deployment():
    resources = terraform()["resource"]

    for kind in [
        "google_sql_database_instance",
        "google_redis_instance",
        "google_compute_subnetwork",
        "google_storage_bucket",
        "google_secret_manager_secret",
        "google_service_account",
        "google_certificate_manager_certificate",
        "google_compute_region_network_endpoint_group",
        "google_compute_backend_service",
        "google_compute_target_https_proxy",
        "google_cloud_run_v2_service",
        "google_cloud_run_v2_worker_pool",
        "google_cloud_run_v2_job",
    ]:
        assert kind in resources, f"no {kind} in infra/terraform"
    database = resources["google_sql_database_instance"]["main"]
    assert database["database_version"].strip('"').startswith("POSTGRES_")
    certificate = str(resources["google_certificate_manager_certificate"]["wildcard"])
    assert "*.${var.base_domain}" in certificate
    assert '"SERVERLESS"' in str(resources["google_compute_region_network_endpoint_group"])
    assert set(resources["google_service_account"]) == {"web", "worker", "migrate"}


def test_every_secret_the_manifests_and_terraform_read_is_a_terraform_secret():
    tf = terraform()
    local_values = tf["locals"]
    secrets = {
        *[name.strip('"') for name in local_values["secrets_by_hand"]],
        *[
            body["secret_id"].strip('"')
            for name, body in tf["resource"]["google_secret_manager_secret"].items()
            if name != "by_hand"
        ],
    }
    read = {
        who.strip('"'): {name.strip('"') for name in names}
        for who, names in local_values["secrets_read"].items()
    }
    in_manifests = {
        "web": secret_refs(containers_of(manifest("cloudrun-web.yaml"))[0]),
        "worker": secret_refs(containers_of(manifest("cloudrun-worker-pool.yaml"))[0]),
        "migrate": secret_refs(containers_of(manifest("cloudrun-migrate-job.yaml"))[0]),
    }

    for who, names in in_manifests.items():
        assert names <= secrets, f"{who} reads secrets Terraform does not make"
        assert names == read[who], f"{who}: manifest and Terraform grant differ"


def test_stored_secrets_are_wrapped_by_a_rotating_kms_key_only_the_workloads_may_use():
    tf = terraform()
    resources, local_values = tf["resource"], tf["locals"]

    key = resources["google_kms_crypto_key"]["secrets"]
    assert key["purpose"].strip('"') == "ENCRYPT_DECRYPT"
    assert "rotation_period" in key
    assert key["key_ring"].strip('"${}') == "google_kms_key_ring.secrets.id"
    grant = resources["google_kms_crypto_key_iam_member"]["secrets"]
    assert grant["role"].strip('"') == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert "google_kms_crypto_key.secrets.id" in grant["crypto_key_id"]
    assert "for_each" in grant
    project_roles = str(local_values["project_roles"])
    assert "cloudkms" not in project_roles  # on the key alone, never the project
    assert "google_kms_crypto_key.secrets.id" in str(local_values["common_env"])
    assert "google_kms_crypto_key.secrets.id" in str(local_values["migrate_env"])
    for name in ["cloudrun-web.yaml", "cloudrun-worker-pool.yaml", "cloudrun-migrate-job.yaml"]:
        [container] = containers_of(manifest(name))[:1]
        assert "SECRETS_KMS_KEY" in env_names(container), name
