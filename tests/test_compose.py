"""docker-compose.yml, validated by Debian's `docker-compose config` (no Docker engine needed),
plus the consistency of .env.example and the Dockerfiles with the repository."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from core.settings import ROOT

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


def compose_config(*args: str, compose_file=COMPOSE) -> subprocess.CompletedProcess:
    """`docker-compose config` with a clean environment (no POSTGRES_* / SUPPORTBOT_* of the caller)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SUPPORTBOT_", "COMPOSE_"))}
    return subprocess.run(["docker-compose", "-f", str(compose_file), "--project-directory", str(ROOT), *args,
                           "config"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def config() -> dict:
    out = compose_config("--env-file", str(ENV_EXAMPLE))
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_services_and_their_images(config):
    services = config["services"]
    assert set(services) == {"postgres", "redis", "prepare", "rasa", "actions", "bot", "proxy"}
    assert services["rasa"]["build"]["dockerfile"] == "docker/rasa.Dockerfile"
    for name in ("prepare", "actions", "bot"):
        assert services[name]["build"]["dockerfile"] == "docker/app.Dockerfile"
    assert services["actions"]["command"] == ["python", "-m", "actions"]


def test_postgres_has_a_healthcheck_and_a_volume_and_everyone_waits_for_it(config):
    pg = config["services"]["postgres"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert any(v["target"] == "/var/lib/postgresql/data" and v["type"] == "volume" for v in _volumes(pg))
    assert "pgdata" in config["volumes"]
    for name in ("prepare", "rasa", "actions", "bot"):
        assert config["services"][name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def _volumes(service: dict) -> list[dict]:
    return [v if isinstance(v, dict) else {"type": "volume", "source": v.split(":")[0], "target": v.split(":")[1]}
            for v in service.get("volumes", [])]


def test_start_order_and_published_ports(config):
    s = config["services"]
    assert s["rasa"]["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
    assert s["actions"]["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
    assert {s["bot"]["depends_on"][n]["condition"] for n in ("rasa", "actions")} == {"service_healthy"}
    assert [p["target"] for p in s["proxy"]["ports"]] == [8000]
    assert all("ports" not in s[n] for n in ("postgres", "redis", "rasa", "actions", "bot"))  # internal only


def test_two_bot_replicas_share_a_redis_hub_behind_the_proxy(config):
    s = config["services"]
    bot = s["bot"]
    assert bot["scale"] == 2 and bot["deploy"]["replicas"] == 2
    assert bot["environment"]["SUPPORTBOT_HUB_URL"] == "redis://redis:6379/2"
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    # per-address limits see customers, not the proxy on the compose network
    assert "172.16.0.0/12" in bot["environment"]["SUPPORTBOT_TRUSTED_PROXIES"]
    assert s["proxy"]["depends_on"]["bot"]["condition"] == "service_healthy"
    assert s["proxy"]["image"].startswith("caddy:2")
    mounted = {v["target"]: v["source"] for v in _volumes(s["proxy"])}
    for target in ("/etc/caddy/Caddyfile", "/etc/caddy/tls-on.caddy", "/etc/caddy/tls-off.caddy"):
        assert os.path.exists(mounted[target]), target


def test_caddyfile_spreads_over_the_replicas_and_terminates_tls_only_when_asked():
    caddyfile = (ROOT / "docker" / "Caddyfile").read_text()
    assert "import /etc/caddy/tls-{$SUPPORTBOT_TLS:off}.caddy" in caddyfile
    assert re.search(r"dynamic a \{\s*name bot\s*port 8000", caddyfile)
    assert "lb_try_duration" in caddyfile and "flush_interval -1" in caddyfile
    assert re.search(r"^tls /certs/tls.crt /certs/tls.key$", (ROOT / "docker" / "caddy-tls-on.caddy").read_text(), re.M)
    assert "tls" not in "".join(line for line in (ROOT / "docker" / "caddy-tls-off.caddy").read_text().splitlines()
                                if not line.startswith("#"))
    assert caddyfile.count("{") == caddyfile.count("}")


def test_services_share_the_postgres_database(config):
    s = config["services"]
    for name in ("actions", "bot", "prepare"):
        assert s[name]["environment"]["DATABASE_URL"] == "postgresql://supportbot:change-me@postgres:5432/supportbot"
    assert s["rasa"]["environment"]["POSTGRES_HOST"] == "postgres"
    assert s["actions"]["environment"]["SUPPORTBOT_ACTION_HOST"] == "0.0.0.0"
    assert s["bot"]["environment"]["SUPPORTBOT_RASA_URL"] == "http://rasa:5005"


def test_missing_password_is_refused_with_a_clear_message(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    out = compose_config("--env-file", str(empty))
    assert out.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in out.stderr


def test_commented_gpu_reservation_is_valid_when_uncommented(tmp_path):
    text = COMPOSE.read_text()
    block = re.search(r"(      # resources:\n(?:      #.*\n)+)", text)  # inside the actions' deploy block
    assert block and "driver: nvidia" in block.group(1) and "capabilities: [gpu]" in block.group(1)
    uncommented = text.replace(block.group(1), re.sub(r"(?m)^      # ", "      ", block.group(1)))
    gpu_file = tmp_path / "docker-compose.gpu.yml"
    gpu_file.write_text(uncommented)
    out = compose_config("--env-file", str(ENV_EXAMPLE), compose_file=gpu_file)
    assert out.returncode == 0, out.stderr
    devices = yaml.safe_load(out.stdout)["services"]["actions"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


def test_env_example_documents_exactly_the_variables_compose_uses():
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    documented = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines()
                  if line and not line.startswith("#")}
    assert used == documented


@pytest.mark.parametrize("dockerfile, python", [("app.Dockerfile", "3.11"), ("rasa.Dockerfile", "3.10")])
def test_dockerfiles_use_the_right_python_and_copy_files_that_exist(dockerfile, python):
    text = (ROOT / "docker" / dockerfile).read_text()
    assert re.search(rf"^FROM python:{re.escape(python)}-slim", text, re.M)
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), f"{dockerfile}: COPY source {source} does not exist"


def test_rasa_image_talks_to_the_actions_service():
    endpoints = yaml.safe_load((ROOT / "docker" / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["url"] == "http://actions:5055/webhook"
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["tracker_store"]["type"] == "rasa_plugins.channel.TurnEventsSQLTrackerStore"
    assert endpoints["lock_store"] == {"type": "redis", "url": "redis", "port": 6379, "db": 1,
                                       "key_prefix": "supportbot"}


def test_rasa_runs_a_process_per_core_behind_the_redis_lock_store(config):
    rasa = config["services"]["rasa"]
    assert rasa["environment"]["SANIC_WORKERS"] == "2"
    assert rasa["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "redis-cli" in " ".join(config["services"]["redis"]["healthcheck"]["test"])


def test_rasa_and_the_action_server_take_tokens_from_the_environment(config):
    s = config["services"]
    for name in ("rasa", "actions", "bot"):
        assert s[name]["environment"]["SUPPORTBOT_RASA_TOKEN"] == "change-me-rasa-token"
        assert s[name]["environment"]["SUPPORTBOT_ACTION_TOKEN"] == "change-me-action-token"
    endpoints = yaml.safe_load((ROOT / "docker" / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["token"] == "${SUPPORTBOT_ACTION_TOKEN}"
    assert '--auth-token "$SUPPORTBOT_RASA_TOKEN"' in (ROOT / "docker" / "rasa-start.sh").read_text()
