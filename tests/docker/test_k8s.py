"""deploy/k8s: every manifest valid against the Kubernetes API schema (bundled
with kubernetes-validate, so no cluster and no network), and wired together:
the probes on /healthz, the Service on the pods, the settings from the
ConfigMap and Secret."""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30"


def resources() -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


@pytest.mark.parametrize("key", sorted(resources()), ids=lambda key: "/".join(key))
def test_manifest_is_valid_against_the_kubernetes_schema(key):
    # strict: an unknown (misspelt) field fails instead of being ignored.
    kubernetes_validate.validate(resources()[key], KUBERNETES_VERSION, strict=True)


def test_probes_service_and_settings_fit_together():
    found = resources()
    deployment = found[("Deployment", "tilemaker")]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
        assert container[probe]["httpGet"]["port"] == "http"
    assert [port["name"] for port in container["ports"]] == ["http"]

    service = found[("Service", "tilemaker")]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"

    config = found[("ConfigMap", "tilemaker")]["data"]
    secret = found[("Secret", "tilemaker")]["stringData"]
    assert container["ports"][0]["containerPort"] == int(config["TILEMAKER_WORKER_BASE_PORT"])
    assert config["TILEMAKER_WORKER_HOST"] == "0.0.0.0"
    # Credentials live in the Secret only.
    assert {"TILEMAKER_SECRET_KEY", "TILEMAKER_DATABASE_URL", "TILEMAKER_GITHUB_SECRET"} <= set(
        secret
    )
    assert not {key for key in config if key.endswith(("SECRET", "SECRET_KEY", "DATABASE_URL"))}
    assert pod["spec"]["securityContext"]["runAsUser"] != 0
