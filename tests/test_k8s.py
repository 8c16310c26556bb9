"""deploy/k8s/: every manifest valid against the Kubernetes API schemas (kubernetes-validate, strict: no
unknown fields), and wired as docs/deployment.md describes (two bot replicas on a shared Redis hub, one
ingress with TLS, nothing else exposed)."""

from __future__ import annotations

import pytest
import yaml

from core.settings import ROOT

K8S = ROOT / "deploy" / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))


def resources() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_against_the_kubernetes_schemas(path):
    import kubernetes_validate

    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            kubernetes_validate.validate(doc, "1.30.0", strict=True)  # raises ValidationError


def test_bot_replicas_share_the_redis_hub_and_only_the_ingress_reaches_them():
    by_kind = {(r["kind"], r["metadata"]["name"]): r for r in resources()}
    bot = by_kind[("Deployment", "supportbot-bot")]
    assert bot["spec"]["replicas"] >= 2
    config = by_kind[("ConfigMap", "supportbot")]["data"]
    assert config["SUPPORTBOT_HUB_URL"].startswith("redis://supportbot-redis:6379/")
    assert "SUPPORTBOT_CONSOLE_SECRET_KEY" in by_kind[("Secret", "supportbot")]["stringData"]
    services = [r for r in resources() if r["kind"] == "Service"]
    assert all(s["spec"].get("type", "ClusterIP") == "ClusterIP" for s in services)  # nothing published
    ingress = by_kind[("Ingress", "supportbot")]
    assert ingress["spec"]["tls"][0]["secretName"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "supportbot-bot"
    assert int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
