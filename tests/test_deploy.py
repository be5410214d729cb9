"""deploy/ stays true without a container engine: the Dockerfile installs what the README
installs, from files that build the package, and its entrypoints parse with dlbot's own CLI; the
Compose file and the Kubernetes manifests parse, name real build targets, images and settings,
and (where kubectl exists) render with kustomize; every metric the Grafana dashboard and the
Prometheus rules use is one /metrics exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from dlbot.bot.cli import build_parser
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.run_models import Alert, OutboxRow, Run
from dlbot.wire import utc_now
from tests.support import LiveServer, ingest, report

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
IMAGES = {"serve": "dlbot", "agent": "dlbot-agent"}
"""Build target -> image name, as the Dockerfile's header, compose.yaml and k8s/ spell them."""


def env_example_names() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            names.add(line.split("=", 1)[0].strip())
    return names


SETTINGS = env_example_names()


# --- Dockerfile ---------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]


def dockerfile_stages() -> dict[str, Stage]:
    """Stages by name, in order; instructions with their continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text()
    logical, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical:
        keyword, _, args = line.strip().partition(" ")
        keyword, args = keyword.upper(), " ".join(args.split())
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+) AS (\S+)", args, re.IGNORECASE)
            assert match, f"every stage is named: FROM {args}"
            current = Stage(match[2], match[1])
            stages[current.name] = current
        elif current is not None:
            current.instructions.append((keyword, args))
    return stages


def exec_form(args: str) -> list[str]:
    parsed = json.loads(args)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed), args
    return parsed


def entrypoint_argv(stage: Stage) -> list[str]:
    """The command line a container of this stage runs, as exec-form JSON arrays give it."""
    return exec_form(stage.last("ENTRYPOINT")) + exec_form(stage.last("CMD"))


def pip_install_target(command: str) -> str:
    match = re.search(r"pip install (?:--\S+ )*(\S+)", command)
    assert match, command
    return match[1]


def test_the_default_target_is_the_service_and_the_agent_is_a_target() -> None:
    stages = dockerfile_stages()
    assert list(stages)[-1] == "serve", "a plain `docker build` gives the service"
    assert set(IMAGES) <= set(stages)
    for target in IMAGES:
        assert stages[target].base == "${PYTHON}"
    assert stages["source"].base == "${PYTHON}"
    header = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"ARG PYTHON=python:3\.\d+-slim", header), "a small Python base"
    assert f"-t {IMAGES['agent']} " in header and f"-t {IMAGES['serve']} " in header


def test_the_service_image_installs_what_the_readme_installs() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    stages = dockerfile_stages()
    server_runs = " ".join(stages["build-server"].all("RUN"))
    assert pip_install_target(first_block) == '".[server]"'
    assert pip_install_target(server_runs) == pip_install_target(first_block)
    # The agent alone, as "Adding a GPU host" installs it on a GPU host.
    host_section = readme.split("## Adding a GPU host", 1)[1]
    assert pip_install_target(host_section) == "."
    assert pip_install_target(" ".join(stages["build-agent"].all("RUN"))) == "."
    for target, build in (("serve", "build-server"), ("agent", "build-agent")):
        copies = stages[target].all("COPY")
        assert copies == [f"--from={build} /opt/dlbot /opt/dlbot"], "only the venv travels"


def test_entrypoints_parse_with_dlbots_own_parser() -> None:
    stages = dockerfile_stages()
    serve_argv = entrypoint_argv(stages["serve"])
    agent_argv = entrypoint_argv(stages["agent"])
    assert serve_argv[0] == agent_argv[0] == "dlbot" and "dlbot" in PYPROJECT["project"]["scripts"]
    serve = build_parser().parse_args(serve_argv[1:])
    assert (serve.command, serve.host, serve.port) == ("serve", "0.0.0.0", 8080)
    agent = build_parser().parse_args(agent_argv[1:])
    assert agent.command == "agent" and agent.server is None and agent.token is None
    assert stages["serve"].all("EXPOSE") == [str(serve.port)]


def test_images_run_as_a_non_root_user_with_settings_from_env_example() -> None:
    stages = dockerfile_stages()
    for target in IMAGES:
        user = stages[target].last("USER").split(":")[0]
        assert user not in ("root", "0")
        env = " ".join(stages[target].all("ENV"))
        names = set(re.findall(r"\b(DLBOT_\w+)=", env))
        assert "DLBOT_DATA_DIR" in names and names <= SETTINGS


def test_the_agent_image_asks_the_nvidia_runtime_for_nvml() -> None:
    env = " ".join(dockerfile_stages()["agent"].all("ENV"))
    assert "NVIDIA_VISIBLE_DEVICES=all" in env
    assert re.search(r"NVIDIA_DRIVER_CAPABILITIES=\S*utility", env)


def copied_sources() -> list[str]:
    sources = []
    for keyword, args in dockerfile_stages()["source"].instructions:
        if keyword == "COPY":
            *parts, _destination = args.split()
            sources += parts
    return sources


def test_the_copied_files_build_the_whole_package(tmp_path: Path) -> None:
    sources = copied_sources()
    assert {"pyproject.toml", PYPROJECT["project"]["readme"]} <= set(sources)
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") :].count("*") == 1
    for source in sources:
        assert f"!{source}" in ignore, f"{source} is copied but excluded from the context"
    # dlbot/agent -> ../agent etc. must land beside their targets.
    for link in (ROOT / "dlbot").iterdir():
        if link.is_symlink():
            target = (link.parent / link.readlink()).resolve().relative_to(ROOT)
            assert str(target) in sources, f"{link.name} points outside the copied files"
    context = tmp_path / "src"
    for source in sources:
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(
                path, context / source, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            context.mkdir(exist_ok=True)
            shutil.copy2(path, context / source)
    offline = ["--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist")]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", *offline, str(context)],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("dlbot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "dlbot/bot/cli.py",
        "dlbot/agent/daemon.py",
        "dlbot/handlers/registry.py",
        "dlbot/bot/migrations/versions/0001_initial_schema.py",
    ):
        assert expected in names
    assert any(n.startswith("dlbot/handlers/data/") for n in names)


def test_the_healthcheck_passes_on_a_live_service_and_fails_without_one(
    live_server: LiveServer,
) -> None:
    check = exec_form(dockerfile_stages()["serve"].last("HEALTHCHECK").split(" CMD ", 1)[1].strip())
    assert check[0] == "python" and "http://127.0.0.1:8080/healthz" in check[-1]
    argv = [sys.executable, *check[1:-1], check[-1].replace(":8080", f":{live_server.port}")]
    assert subprocess.run(argv, capture_output=True, check=False).returncode == 0
    live_server.stop()
    assert subprocess.run(argv, capture_output=True, check=False).returncode != 0


# --- Compose ------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def dlbot_services() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in compose()["services"].items():
        if "build" in service:
            yield name, service


def test_compose_builds_dlbot_images_from_the_dockerfiles_targets() -> None:
    stages = dockerfile_stages()
    built = dict(dlbot_services())
    assert set(built) == {"migrate", "dlbot-1", "dlbot-2", "agent"}
    for name, service in built.items():
        build = service["build"]
        dockerfile = (DEPLOY / build["context"] / build["dockerfile"]).resolve()
        assert dockerfile == DEPLOY / "Dockerfile", name
        assert build["target"] in stages
        assert service["image"] == f"{IMAGES[build['target']]}:{VERSION}"
    for name, service in compose()["services"].items():
        if name not in built:
            assert re.fullmatch(r"[a-z]+:\d+[\w.-]*", service["image"]), "pinned third party"


def test_compose_env_names_are_settings() -> None:
    for name, service in dlbot_services():
        env = service.get("environment", {})
        assert isinstance(env, dict) and set(env) <= SETTINGS, name
    text = (DEPLOY / "compose.yaml").read_text()
    interpolated = set(re.findall(r"\$\{(\w+)", text))
    # The database password is the PostgreSQL container's, set in deploy/.env (see the header).
    assert interpolated - {"POSTGRES_PASSWORD"} <= SETTINGS
    assert "POSTGRES_PASSWORD" in text.split("\n\n", 1)[0]


def test_compose_runs_two_replicas_on_postgresql_after_migrations() -> None:
    services = compose()["services"]
    replicas = ["dlbot-1", "dlbot-2"]
    for name in replicas:
        service = services[name]
        assert "command" not in service, "the image's CMD: serve --host 0.0.0.0"
        assert service["build"]["target"] == "serve"
        assert service["environment"]["DLBOT_DATABASE_URL"].startswith("postgresql://dlbot:")
        assert service["environment"]["DLBOT_DATABASE_URL"].endswith("@db:5432/dlbot")
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    migrate = build_parser().parse_args(services["migrate"]["command"])
    assert (migrate.command, migrate.db_command) == ("db", "upgrade")
    assert services["db"]["environment"]["POSTGRES_DB"] == "dlbot"
    assert services["db"]["environment"]["POSTGRES_USER"] == "dlbot"
    assert "ports" not in services["db"], "the database stays on the compose network"


def test_the_proxy_balances_over_both_replicas() -> None:
    proxy = compose()["services"]["proxy"]
    mount = next(v for v in proxy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro"))
    caddyfile = (DEPLOY / mount.split(":")[0]).read_text()
    [upstreams] = re.findall(r"reverse_proxy ([^{]+)\{", caddyfile)
    port = build_parser().parse_args(entrypoint_argv(dockerfile_stages()["serve"])[1:]).port
    assert upstreams.split() == [f"dlbot-1:{port}", f"dlbot-2:{port}"]
    assert "health_uri /healthz" in caddyfile
    assert set(proxy["depends_on"]) == {"dlbot-1", "dlbot-2"}


def test_the_compose_agent_sees_the_hosts_gpus_and_processes() -> None:
    agent = compose()["services"]["agent"]
    assert agent["build"]["target"] == "agent"
    assert agent["pid"] == "host"
    [device] = agent["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "/etc/passwd:/etc/passwd:ro" in agent["volumes"]
    assert set(agent["environment"]) >= {"DLBOT_SERVER_URL", "DLBOT_AGENT_TOKEN"}


# --- Kubernetes ---------------------------------------------------------------------------


def k8s_files() -> list[Path]:
    return sorted((DEPLOY / "k8s").glob("*.yaml"))


def test_every_k8s_file_parses_and_is_in_the_kustomization() -> None:
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in k8s_files()} - {"kustomization.yaml"}
    for path in k8s_files():
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            assert {"apiVersion", "kind", "metadata"} <= set(doc), path.name
            assert doc["metadata"]["name"]
    assert {i["name"]: i["newTag"] for i in kustomization["images"]} == dict.fromkeys(
        IMAGES.values(), VERSION
    )


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    out = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s")], capture_output=True, text=True, check=True
    ).stdout
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_kustomize_renders_the_service_and_agent_objects(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    assert set(rendered) == {
        ("Namespace", "dlbot"),
        ("Secret", "dlbot"),
        ("Secret", "dlbot-agent"),
        ("Service", "dlbot"),
        ("Deployment", "dlbot"),
        ("DaemonSet", "dlbot-agent"),
    }
    for key, obj in rendered.items():
        if key[0] != "Namespace":
            assert obj["metadata"]["namespace"] == "dlbot", key


def test_the_deployment_runs_two_replicas_behind_the_service(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = rendered["Deployment", "dlbot"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]
    [container] = containers(deployment)
    assert container["image"].endswith(f"/{IMAGES['serve']}:{VERSION}")
    args = build_parser().parse_args(container["args"])
    assert (args.command, args.host) == ("serve", "0.0.0.0")
    [port] = container["ports"]
    assert port["containerPort"] == args.port
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    image_user = dockerfile_stages()["serve"].last("USER").split(":")[0]
    assert str(pod["spec"]["securityContext"]["runAsUser"]) == image_user
    service = rendered["Service", "dlbot"]
    labels = pod["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [port["name"]]
    assert container["envFrom"] == [{"secretRef": {"name": "dlbot"}}]


def test_the_agent_daemonset_runs_on_gpu_nodes_in_the_hosts_pid_namespace(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    daemonset = rendered["DaemonSet", "dlbot-agent"]
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["hostPID"] is True
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["runtimeClassName"] == "nvidia"
    [container] = containers(daemonset)
    assert container["image"].endswith(f"/{IMAGES['agent']}:{VERSION}")
    assert build_parser().parse_args(container["args"]).command == "agent"
    assert "nvidia.com/gpu" not in str(container.get("resources")), "never takes a GPU"
    env = {e["name"]: e for e in container["env"]}
    token = env["DLBOT_AGENT_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token["key"] in rendered["Secret", token["name"]]["stringData"]
    [service_port] = rendered["Service", "dlbot"]["spec"]["ports"]
    assert env["DLBOT_SERVER_URL"]["value"] == f"http://dlbot.dlbot.svc:{service_port['port']}"
    image_user = dockerfile_stages()["agent"].last("USER").split(":")[0]
    assert str(spec["securityContext"]["runAsUser"]) == image_user


def test_k8s_env_names_and_secret_keys_are_settings(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for key, obj in rendered.items():
        if key[0] in ("Deployment", "DaemonSet"):
            for container in containers(obj):
                assert {e["name"] for e in container.get("env", [])} <= SETTINGS, key
        if key[0] == "Secret":
            assert set(obj["stringData"]) <= SETTINGS, key
    # The service's Secret is a working configuration as it stands.
    Settings(**rendered["Secret", "dlbot"]["stringData"])


# --- Grafana and Prometheus ---------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DEPLOY / "grafana" / "dlbot.json").read_text())
    return loaded


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "rules.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def queries() -> list[str]:
    board = dashboard()
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in board["templating"]["list"] if "definition" in v]
    return exprs + [rule["expr"] for rule in rules()]


def test_the_rules_cover_host_down_outbox_stuck_and_ingest_latency() -> None:
    by_name = {rule["alert"]: rule for rule in rules()}
    assert {"DlbotHostDown", "DlbotOutboxStuck", "DlbotIngestSlow"} <= set(by_name)
    assert "dlbot_host_up" in by_name["DlbotHostDown"]["expr"]
    assert "dlbot_outbox_oldest_pending_seconds" in by_name["DlbotOutboxStuck"]["expr"]
    assert "dlbot_ingest_batch_seconds_bucket" in by_name["DlbotIngestSlow"]["expr"]
    for rule in rules():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


def test_the_dashboard_has_the_panels_people_look_for() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] == "dlbot"
    panels = [p for p in board["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    titles = " | ".join(p["title"].lower() for p in panels)
    for wanted in ("utilisation", "memory", "per user", "offline", "outbox", "platforms"):
        assert wanted in titles
    for panel in panels:
        assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}"


async def test_every_metric_the_dashboard_and_rules_use_is_exported(
    client: httpx.AsyncClient, service: Service
) -> None:
    await ingest(service, report(host="gpu-01", gpus=2, users=("alice",)))
    now = utc_now()
    async with service.engine.begin() as conn:
        await conn.execute(
            insert(Run).values(
                id="r1",
                name="bert",
                host="gpu-01",
                source="wrapped",
                state="running",
                started_at=now,
                last_activity_at=now,
            )
        )
        alert_id = (
            await conn.execute(
                insert(Alert)
                .values(dedup_key="k", kind="test", subject="s", payload={}, created_at=now)
                .returning(Alert.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(OutboxRow).values(
                alert_id=alert_id,
                platform="slack",
                chat_id="C1",
                state="pending",
                next_attempt_at=now + timedelta(days=1),
            )
        )
    exported: set[str] = set()
    for family in text_string_to_metric_families((await client.get("/metrics")).text):
        suffixes = {
            "histogram": ("_bucket", "_count", "_sum"),
            "counter": ("_total",),
        }.get(family.type, ("",))
        exported |= {family.name + suffix for suffix in suffixes}
        exported |= {sample.name for sample in family.samples}
    used = {name for q in queries() for name in re.findall(r"\bdlbot_\w+", q)}
    assert used - exported == set()
    assert len(used) >= 12


def test_queries_are_balanced() -> None:
    for query in queries():
        assert query.count("(") == query.count(")"), query
        assert query.count("{") == query.count("}"), query
