"""Static checks of the production stack: docker-compose.yml, its config files and the Dockerfile.

No Docker engine runs on the development and CI machines, so the compose file is parsed with
PyYAML and interpolated here the way `docker compose` does it, with deploy/env.example as
the `.env`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

try:
    from workers.queues import QUEUE_NAMES
except ModuleNotFoundError as exc:  # workers/queues.py not written yet: the same table, literally
    if exc.name != "workers.queues":
        raise
    QUEUE_NAMES = ("normalize", "ocr", "classify", "index", "notify", "payslips", "maintenance")

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

PAPELEO_SERVICES = (
    "migrate",
    "api",
    "worker-light",
    "worker-ocr",
    "worker-payslips",
    "beat",
    "flower",
    "events",
)
WORKER_SERVICES = ("worker-light", "worker-ocr", "worker-payslips")
BACKING_SERVICES = ("postgres", "rabbitmq", "redis", "minio", "minio-init")
EXPECTED_COMMANDS = {
    "migrate": ["papeleo", "migrate"],
    "api": ["papeleo", "api"],
    "worker-light": ["papeleo", "worker"],
    "worker-ocr": ["papeleo", "worker"],
    "worker-payslips": ["papeleo", "worker"],
    "beat": ["papeleo", "beat"],
    "flower": ["papeleo", "flower"],
    "events": ["papeleo", "events", "consume"],
}
HEALTHCHECK_PROBES = {
    "postgres": ("pg_isready",),
    "rabbitmq": ("rabbitmq-diagnostics", "ping"),
    "redis": ("redis-cli", "ping"),
    "minio": ("/minio/health/live",),
    "api": ("/healthz",),
    "events": ("papeleo", "events", "check"),
    "flower": ("/healthcheck",),
}
OCR_PACKAGES = (
    "tesseract-ocr",
    "tesseract-ocr-spa",
    "tesseract-ocr-eng",
    "tesseract-ocr-osd",
    "poppler-utils",
)
MINIO_RELEASE_TAG = re.compile(r"RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z")


# --- compose interpolation, as `docker compose` does it ------------------------------------


class MissingVariableError(LookupError):
    """A `${VAR:?message}` whose variable is unset."""


_VARIABLE = re.compile(
    r"\$(?:(?P<dollar>\$)"
    r"|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*))"
)


def interpolate_text(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["dollar"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        present = value is not None and (value != "" or not (op or "").startswith(":"))
        if op in {"-", ":-"}:
            return value if present else arg
        if op in {"?", ":?"}:
            if not present:
                raise MissingVariableError(f"{name}: {arg}")
            return value
        if op in {"+", ":+"}:
            return arg if present else ""
        return value or ""

    return _VARIABLE.sub(replace, text)


def interpolate(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate_text(node, env)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


def parse_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def yaml_strings(node: Any) -> list[str]:
    """Every string value in a parsed YAML document (comments are not interpolated)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [text for item in node for text in yaml_strings(item)]
    if isinstance(node, dict):
        return [text for value in node.values() for text in yaml_strings(value)]
    return []


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def option(args: list[str], *names: str) -> str | None:
    """The value of `--name value` or `--name=value` in args, if present."""
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def seconds(duration: str) -> float:
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(duration))
    assert parts, f"cannot read duration {duration!r}"
    unit = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    return sum(float(number) * unit[suffix] for number, suffix in parts)


def healthcheck_words(service: dict[str, Any]) -> str:
    test = service.get("healthcheck", {}).get("test", [])
    return " ".join(test) if isinstance(test, list) else str(test)


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def compose(example_env: dict[str, str]) -> dict[str, Any]:
    return interpolate(raw_compose(), example_env)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def papeleo_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {key: str(value) for key, value in services["api"]["environment"].items()}


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    text = "$$HOME ${SET} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d}"
    assert interpolate_text(text, env) == "$HOME x d d "
    with pytest.raises(MissingVariableError, match="EMPTY"):
        interpolate_text("${EMPTY:?required}", env)


# --- services and images -------------------------------------------------------------------


def test_every_service_exists(services: dict[str, dict[str, Any]]) -> None:
    missing = set(PAPELEO_SERVICES + BACKING_SERVICES) - set(services)
    assert not missing, f"docker-compose.yml lacks services: {sorted(missing)}"


def test_third_party_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name in BACKING_SERVICES:
        image = services[name]["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: image {image!r} has no tag"
        assert "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"
    for name, repository in (("minio", "minio/minio"), ("minio-init", "minio/mc")):
        image = services[name]["image"]
        assert image.split(":")[0].endswith(repository), f"{name}: expected {repository}"
        assert MINIO_RELEASE_TAG.fullmatch(image.rpartition(":")[2]), (
            f"{name}: pin MinIO to an exact RELEASE tag, not {image!r}"
        )
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "management" in services["rabbitmq"]["image"], "Flower's --broker-api needs it"


def test_papeleo_services_build_one_image_from_the_dockerfile(
    services: dict[str, dict[str, Any]],
) -> None:
    images = set()
    for name in PAPELEO_SERVICES:
        build = services[name].get("build")
        assert isinstance(build, dict), f"{name}: must build from the Dockerfile"
        context = (ROOT / build.get("context", ".")).resolve()
        assert context == ROOT, f"{name}: build context {context} is not the project"
        assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
        images.add(services[name]["image"])
    assert len(images) == 1, f"Papeleo services should share one image, got {images}"
    assert not images.pop().endswith(":latest")


def test_papeleo_services_run_the_right_command(services: dict[str, dict[str, Any]]) -> None:
    for name, expected in EXPECTED_COMMANDS.items():
        args = argv(services[name]["command"])
        assert args[: len(expected)] == expected, f"{name}: runs {args}, expected {expected}…"
    api = argv(services["api"]["command"])
    assert option(api, "--host") == "0.0.0.0"
    assert option(api, "--port") == "8000"
    assert any(str(port).endswith(":8000") for port in services["api"]["ports"])


def test_one_shot_jobs_do_not_restart(services: dict[str, dict[str, Any]]) -> None:
    for name in ("migrate", "minio-init"):
        assert services[name].get("restart") == "no", f"{name} is a one-shot job"


# --- queues and workers --------------------------------------------------------------------


def worker_queues(services: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    queues = {}
    for name in WORKER_SERVICES:
        value = option(argv(services[name]["command"]), "--queues", "-Q")
        assert value, f"{name}: no --queues"
        queues[name] = {queue.strip() for queue in value.split(",") if queue.strip()}
    return queues


def test_workers_together_consume_every_queue(services: dict[str, dict[str, Any]]) -> None:
    queues = worker_queues(services)
    consumed = set().union(*queues.values())
    assert consumed >= set(QUEUE_NAMES), f"no worker consumes {sorted(set(QUEUE_NAMES) - consumed)}"
    assert consumed <= set(QUEUE_NAMES), f"unknown queues {sorted(consumed - set(QUEUE_NAMES))}"
    for queue in QUEUE_NAMES:
        owners = [name for name, names in queues.items() if queue in names]
        assert len(owners) == 1, f"queue {queue!r} is consumed by {owners}"


def test_ocr_has_its_own_recycled_worker(services: dict[str, dict[str, Any]]) -> None:
    assert worker_queues(services)["worker-ocr"] == {"ocr"}, "interactive work waits behind OCR"
    args = argv(services["worker-ocr"]["command"])
    for flag in ("--concurrency", "--max-tasks-per-child", "--max-memory-per-child"):
        value = option(args, flag)
        assert value is not None, f"worker-ocr: {flag} missing"
        assert int(value) > 0, f"worker-ocr: {flag} {value}"
    raw = argv(raw_compose()["services"]["worker-ocr"]["command"])
    assert re.fullmatch(r"\$\{\w+:-\d+\}", option(raw, "--concurrency") or ""), (
        "OCR concurrency must come from an environment variable with a default"
    )


def test_workers_get_time_to_finish_a_task(
    services: dict[str, dict[str, Any]], papeleo_env: dict[str, str]
) -> None:
    limit = int(papeleo_env["PAPELEO_TASK_TIME_LIMIT"])
    for name in WORKER_SERVICES:
        grace = seconds(services[name].get("stop_grace_period", "10s"))
        assert grace > limit, f"{name}: stop_grace_period {grace}s ≤ task time limit {limit}s"


# --- environment -----------------------------------------------------------------------------


def test_papeleo_services_share_one_environment(services: dict[str, dict[str, Any]]) -> None:
    environments = [services[name]["environment"] for name in PAPELEO_SERVICES]
    assert all(environment == environments[0] for environment in environments)


def test_connection_settings_point_at_compose_services(
    services: dict[str, dict[str, Any]], papeleo_env: dict[str, str], example_env: dict[str, str]
) -> None:
    postgres = services["postgres"]["environment"]
    database = urlsplit(papeleo_env["PAPELEO_DATABASE_URL"])
    assert database.scheme == "postgresql+psycopg"
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == example_env["POSTGRES_PASSWORD"] == postgres["POSTGRES_PASSWORD"]
    assert database.path == f"/{postgres['POSTGRES_DB']}"

    rabbitmq = services["rabbitmq"]["environment"]
    broker = urlsplit(papeleo_env["PAPELEO_BROKER_URL"])
    assert broker.scheme == "amqp"
    assert (broker.hostname, broker.port) == ("rabbitmq", 5672)
    assert broker.username == rabbitmq["RABBITMQ_DEFAULT_USER"]
    assert broker.password == rabbitmq["RABBITMQ_DEFAULT_PASS"]

    results = urlsplit(papeleo_env["PAPELEO_RESULT_BACKEND"])
    assert (results.scheme, results.hostname) == ("redis", "redis")

    minio_init = services["minio-init"]["environment"]
    assert papeleo_env["PAPELEO_STORAGE"] == "minio"
    assert papeleo_env["PAPELEO_S3_ENDPOINT"].partition(":")[0] == "minio"
    assert papeleo_env["PAPELEO_S3_BUCKET"] == minio_init["S3_BUCKET"]
    assert papeleo_env["PAPELEO_S3_ACCESS_KEY"] == minio_init["S3_ACCESS_KEY"]
    assert papeleo_env["PAPELEO_S3_SECRET_KEY"] == minio_init["S3_SECRET_KEY"]
    assert papeleo_env["PAPELEO_DEMO"].lower() == "false"
    assert papeleo_env["OMP_THREAD_LIMIT"] == "1"
    soft, hard = (int(papeleo_env[f"PAPELEO_TASK_{kind}TIME_LIMIT"]) for kind in ("SOFT_", ""))
    assert 0 < soft < hard


def test_secrets_come_from_required_variables() -> None:
    raw = raw_compose()["services"]
    secret_key = re.compile(r"PASSWORD|PASS$|SECRET")
    required = re.compile(r"\$\{\w+:\?[^}]*\}")
    for name, service in raw.items():
        for key, value in (service.get("environment") or {}).items():
            if secret_key.search(key):
                assert required.fullmatch(str(value)), f"{name}: {key} must be ${{VAR:?...}}"


def test_env_example_lists_exactly_the_variables_compose_needs(
    example_env: dict[str, str],
) -> None:
    text = "\n".join(yaml_strings(raw_compose())).replace("$$", "")
    required = set(re.findall(r"\$\{(\w+):?\?", text))
    referenced = set(re.findall(r"\$\{(\w+)", text))
    assert required, "no required variables: secrets must not have defaults"
    assert required <= set(example_env), f"missing from env.example: {required - set(example_env)}"
    assert set(example_env) <= referenced, f"unused in compose: {set(example_env) - referenced}"
    for name in required:
        with pytest.raises(MissingVariableError, match=name):
            interpolate(raw_compose(), {k: v for k, v in example_env.items() if k != name})


# --- health and start-up order ---------------------------------------------------------------


def test_healthchecks_probe_each_service(services: dict[str, dict[str, Any]]) -> None:
    for name, probes in HEALTHCHECK_PROBES.items():
        healthcheck = services[name].get("healthcheck")
        assert healthcheck, f"{name}: no healthcheck"
        assert not healthcheck.get("disable"), f"{name}: healthcheck disabled"
        words = healthcheck_words(services[name])
        for probe in probes:
            assert probe in words, f"{name}: healthcheck {words!r} lacks {probe!r}"


def test_depends_on_conditions_can_be_met(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition")
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name}: {target} has no healthcheck"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is not a one-shot"
    api = services["api"]["depends_on"]
    for target in ("postgres", "rabbitmq", "redis", "minio"):
        assert api[target]["condition"] == "service_healthy", f"api starts before {target}"
    assert api["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source and not source.startswith(("/", ".", "~")):
                assert source in declared, f"{name}: volume {source} is not declared"
    assert {"postgres-data", "minio-data"} <= declared


# --- Flower -------------------------------------------------------------------------------


def test_flower_requires_basic_auth_and_stays_internal(
    services: dict[str, dict[str, Any]], example_env: dict[str, str]
) -> None:
    raw_args = argv(raw_compose()["services"]["flower"]["command"])
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH:\?[^}]+\}", option(raw_args, "--basic-auth") or "")
    args = argv(services["flower"]["command"])
    assert option(args, "--basic-auth") == example_env["FLOWER_BASIC_AUTH"]
    assert urlsplit(option(args, "--broker-api") or "").hostname == "rabbitmq"
    assert "--persistent" in args
    assert "--no-persistent" not in args
    assert "--read-only" in args, "advisors get a read-only Flower"
    assert "--read-write" not in args
    assert "--dev" not in args, "production Flower must not skip authentication"
    database = option(args, "--db") or ""
    mounts = [volume.split(":")[1] for volume in services["flower"].get("volumes", [])]
    assert any(database.startswith(f"{mount}/") for mount in mounts), "flower.db is not on a volume"
    for port in services["flower"].get("ports", []):
        host_ip = port.get("host_ip") if isinstance(port, dict) else None
        if isinstance(port, str):
            parts = port.split(":")
            host_ip = parts[0] if len(parts) == 3 else None
        assert host_ip in {"127.0.0.1", "::1"}, f"Flower is published publicly: {port!r}"


# --- RabbitMQ configuration ----------------------------------------------------------------


def test_rabbitmq_consumer_timeout_exceeds_task_time_limit(
    services: dict[str, dict[str, Any]], papeleo_env: dict[str, str]
) -> None:
    configs = []
    for volume in services["rabbitmq"]["volumes"]:
        source, target = volume.split(":")[:2]
        if target.startswith("/etc/rabbitmq/") and target.endswith(".conf"):
            configs.append(ROOT / source)
    assert configs, "no rabbitmq.conf mounted into /etc/rabbitmq"
    timeouts = [
        int(match)
        for path in configs
        for match in re.findall(r"(?m)^\s*consumer_timeout\s*=\s*(\d+)\s*$", path.read_text())
    ]
    assert len(timeouts) == 1, f"expected one consumer_timeout in {configs}, got {timeouts}"
    limit_ms = int(papeleo_env["PAPELEO_TASK_TIME_LIMIT"]) * 1000
    assert timeouts[0] > limit_ms, f"consumer_timeout {timeouts[0]} ms ≤ task limit {limit_ms} ms"


# --- Dockerfile ------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_builds_the_ocr_image() -> None:
    instructions = dockerfile_instructions()

    def values(keyword: str) -> list[str]:
        return [rest for kw, rest in instructions if kw == keyword]

    assert values("FROM") == ["python:3.11-slim-bookworm"]
    apt = " ".join(run for run in values("RUN") if "apt-get install" in run)
    installed = set(apt.split())
    assert set(OCR_PACKAGES) <= installed, f"missing {set(OCR_PACKAGES) - installed}"
    assert "--no-install-recommends" in installed
    assert "rm -rf /var/lib/apt/lists/*" in apt
    assert any(re.search(r"pip install .*/src\b|pip install \.", run) for run in values("RUN"))
    env = " ".join(values("ENV"))
    assert re.search(r"\bOMP_THREAD_LIMIT=1\b", env)
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)
    users = values("USER")
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}, "the image must not run as root"
    assert values("CMD")[-1] == '["papeleo", "api"]'


def test_dockerignore_keeps_local_state_out_but_the_package_in() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "papeleo-data", ".env"} <= patterns
    needed = {"pyproject.toml", "README.md", "ingest", "workers", "pipeline", "storage"}
    assert not needed & patterns, f".dockerignore drops what the build needs: {needed & patterns}"


# --- MinIO bucket notifications (direct uploads) ------------------------------------------


def test_minio_announces_uploads_to_the_event_consumer(
    services: dict[str, dict[str, Any]], papeleo_env: dict[str, str], example_env: dict[str, str]
) -> None:
    minio = services["minio"]["environment"]
    targets = {key.rsplit("_", 1)[1] for key in minio if key.startswith("MINIO_NOTIFY_")}
    assert len(targets) == 1, f"one notification target expected, got {targets}"
    target = targets.pop()

    def setting(name: str) -> str:
        return str(minio[f"MINIO_NOTIFY_AMQP_{name}_{target}"])

    assert setting("ENABLE") == "on"
    url = urlsplit(setting("URL"))
    rabbitmq = services["rabbitmq"]["environment"]
    assert (url.scheme, url.hostname, url.port) == ("amqp", "rabbitmq", 5672)
    assert (url.username, url.password) == (
        rabbitmq["RABBITMQ_DEFAULT_USER"],
        rabbitmq["RABBITMQ_DEFAULT_PASS"],
    )
    # The consumer declares the same exchange and binds with the routing key MinIO uses.
    assert setting("EXCHANGE") == papeleo_env["PAPELEO_MINIO_EVENTS_EXCHANGE"]
    assert setting("EXCHANGE_TYPE") == papeleo_env["PAPELEO_MINIO_EVENTS_EXCHANGE_TYPE"]
    assert setting("ROUTING_KEY") == papeleo_env["PAPELEO_MINIO_EVENTS_QUEUE"]
    assert setting("DURABLE") == "on"
    assert setting("DELIVERY_MODE") == "2", "events must survive a RabbitMQ restart"
    # Events wait in queue_dir while RabbitMQ is away: it must be on a named volume.
    queue_dir = setting("QUEUE_DIR")
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["minio"]["volumes"]}
    assert queue_dir in mounts, f"queue_dir {queue_dir} is not a mounted volume"
    assert mounts[queue_dir] in (raw_compose().get("volumes") or {})
    assert services["minio"]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"

    # The shell script with its line continuations joined.
    script = re.sub(r"\\\n\s*", " ", " ".join(argv(services["minio-init"]["command"])))
    assert f"arn:minio:sqs::{target}:amqp" in script
    event_add = re.search(r"mc event add (\S+) (\S+)([^\n|]*)", script)
    assert event_add, "minio-init does not add the bucket event"
    assert event_add[1].strip('"').endswith("/$S3_BUCKET")
    assert "--event put" in event_add[3]
    assert "--prefix companies/" in event_add[3]

    assert papeleo_env["PAPELEO_S3_PUBLIC_ENDPOINT"] == example_env["S3_PUBLIC_ENDPOINT"]
    assert urlsplit(papeleo_env["PAPELEO_S3_PUBLIC_ENDPOINT"]).scheme == "https"
    assert papeleo_env["PAPELEO_WORKER_SEND_TASK_EVENTS"] == "true", "Flower would see no tasks"


def test_the_event_consumer_waits_for_its_dependencies(
    services: dict[str, dict[str, Any]],
) -> None:
    depends_on = services["events"]["depends_on"]
    for target in ("postgres", "rabbitmq", "minio"):
        assert depends_on[target]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
