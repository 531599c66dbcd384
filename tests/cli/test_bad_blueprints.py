"""Broken blueprints: one paragraph naming file and line (or field), exit 2, no traceback, nothing written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_devkit

HEADER = """\
from devkit import Blueprint, Build, Docker, Http, Kubernetes, Port, Resources, Secret
from blueprints import postgres, redis
app = Blueprint("shop")
app.environment("local", Docker())
"""

# (id, blueprint body after HEADER, command, expected message parts). The line the error must
# point at is marked with `# <-`; cases without a mark name a field path or environment instead.
CASES = [
    (
        "dependency-cycle",
        """
        app.service("api", image="api:1", depends_on=["worker"])  # <-
        app.service("worker", image="worker:1", depends_on=["jobs"])
        app.service("jobs", image="jobs:1", depends_on=["api"])
        """,
        ["validate"],
        ["dependency cycle: api -> worker -> jobs -> api"],
    ),
    (
        "unknown-dependency",
        """
        app.service("cache", image="redis:7")
        app.service("db", image="postgres:16")
        app.service("api", image="api:1", depends_on=["db2"])  # <-
        """,
        ["validate"],
        [
            'service "api" depends on "db2", which is not defined',
            "defined services: api, cache, db",
        ],
    ),
    (
        "duplicate-service",
        """
        app.service("api", image="api:1")
        app.service("api", image="api:2")  # <-
        """,
        ["validate"],
        ['service "api" is already defined', "first defined at"],
    ),
    (
        "host-port-clash",
        """
        app.service("api", image="api:1", ports={"http": Port(8000, host=8080)})
        app.service("web", image="web:1", ports={"http": Port(80, host=8080)})  # <-
        """,
        ["validate"],
        ['services "api" and "web" both publish host port 8080/tcp'],
    ),
    (
        "invalid-port",
        """
        app.service("api", image="api:1", ports={"http": 70000})  # <-
        """,
        ["validate"],
        ['service "api": ports.http: port 70000 is out of range (1-65535)'],
    ),
    (
        "malformed-quantity",
        """
        app.service("api", image="api:1", resources=Resources(cpu="lots"))  # <-
        """,
        ["validate"],
        ['invalid Resources: cpu: "lots" is not a CPU quantity'],
    ),
    (
        "malformed-memory-in-service-call",
        """
        app.service("api", image="api:1", resources=dict(memory="256MB"))  # <-
        """,
        ["validate"],
        ['service "api": resources.memory: "256MB" is not a memory quantity'],
    ),
    (
        "limit-below-request",
        """
        app.service("api", image="api:1",
                    resources=Resources(memory="256Mi", memory_limit="128Mi"))  # <-
        """,
        ["validate"],
        ["memory limit 128Mi is below its request 256Mi"],
    ),
    (
        "limit-below-request-in-override",
        """
        api = app.service("api", image="api:1", resources=Resources(memory="256Mi"))
        app.environment("prod", Kubernetes(context="prod"),  # <-
                        overrides={api: dict(resources=dict(memory="256Mi", memory_limit="128Mi"))})
        """,
        ["validate"],
        [
            'environment "prod": overrides.api: resources: memory limit 128Mi is below its request 256Mi'
        ],
    ),
    (
        "unknown-environment",
        """
        app.service("api", image="api:1")
        app.environment("prod", Kubernetes(context="prod"))
        """,
        ["plan", "staging"],
        ['unknown environment "staging"', "defined environments: local, prod"],
    ),
    (
        "missing-build-context",
        """
        app.service("api", build=Build("services/apii"))  # <-
        """,
        ["validate"],
        ['service "api": build context "services/apii" does not exist'],
    ),
    (
        "syntax-error",
        """
        app.service("api", image="api:1"  # <-
        """,
        ["validate"],
        ["syntax error:"],
    ),
    (
        "exception-in-blueprint",
        """
        ports = {"http": 8000}
        app.service("api", image="api:1", ports={"http": ports["https"]})  # <-
        """,
        ["validate"],
        ["KeyError raised while loading the blueprint: 'https'"],
    ),
    (
        "unknown-port-reference",
        """
        db = app.use(postgres(password=Secret("PG_PASSWORD")))
        app.service("api", image="api:1", env={"DB_PORT": db.port("pg")})  # <-
        """,
        ["validate"],
        [
            'reference to port "pg" of service "postgres", which has no such port',
            "ports of postgres: postgres",
        ],
    ),
    (
        "health-check-on-undeclared-port",
        """
        app.service("api", image="api:1", ports={"http": 8000}, health=Http("/healthz", port="web"))  # <-
        """,
        ["validate"],
        [
            'its health check uses port "web", which the service does not declare; declared ports: http'
        ],
    ),
    (
        "plain-text-secret",
        """
        app.service("api", image="api:1", env={"STRIPE_API_KEY": "sk_live_123"})  # <-
        """,
        ["validate"],
        [
            "env.STRIPE_API_KEY: a plain-text value where a secret is required",
            'Secret("STRIPE_API_KEY")',
        ],
    ),
    (
        "plain-text-secret-in-stock-blueprint",
        """
        db = app.use(postgres(password="hunter2"))  # <-
        """,
        ["validate"],
        ["env.POSTGRES_PASSWORD: a plain-text value where a secret is required"],
    ),
    (
        "unknown-field",
        """
        app.service("api", image="api:1", replica=2)  # <-
        """,
        ["validate"],
        ["TypeError raised while loading the blueprint", "unexpected keyword argument 'replica'"],
    ),
    (
        "override-of-unknown-service",
        """
        app.service("api", image="api:1")
        app.environment("prod", Kubernetes(context="prod"), overrides={"apx": dict(replicas=2)})  # <-
        """,
        ["validate"],
        ['environment "prod": overrides service "apx", which is not defined'],
    ),
    (
        "image-reference-grammar",
        """
        app.service("api", image="Foo::bar")  # <-
        """,
        ["validate"],
        [
            'service "api": image: "Foo::bar" is not an image reference; write [REGISTRY[:PORT]/]NAME'
        ],
    ),
    (
        "image-reference-grammar-on-plan",
        """
        app.service("api", image="api:1")
        app.environment("prod", Kubernetes(context="prod"), overrides={"api": dict(image="Foo::bar")})  # <-
        """,
        ["plan", "prod"],
        ['environment "prod": overrides.api: image: "Foo::bar" is not an image reference'],
    ),
    (
        "image-reference-uppercase-on-render",
        """
        app.service("api", image="Acme/API:1")  # <-
        """,
        ["render", "local"],
        ['"Acme/API:1" is not an image reference: repository names are lowercase ("acme/api:1")'],
    ),
    (
        "system-exit-in-blueprint",
        """
        import sys
        if "api" not in app.services:
            sys.exit(3)  # <-
        """,
        ["validate"],
        ["the blueprint called sys.exit(3) while loading (exit code 3)"],
    ),
    (
        "bare-system-exit-in-blueprint",
        """
        raise SystemExit  # <-
        """,
        ["plan", "local"],
        ["the blueprint called sys.exit() while loading"],
    ),
    (
        "second-blueprint",
        """
        app.service("api", image="api:1")

        other = Blueprint("other")  # <-
        """,
        ["validate"],
        [
            "defines 2 blueprints (app, other); keep one per file",
            'the first, "shop" (app), is at blueprint.py:3',
        ],
    ),
    (
        "unknown-profile",
        """
        app.environment("prod", Kubernetes(context="prod"), profile="spott")  # <-
        """,
        ["validate"],
        ['environment "prod": profile: unknown profile "spott"; the profiles: spot(), on_demand()'],
    ),
    (
        "profile-by-name",
        """
        app.environment("prod", Kubernetes(context="prod"), profile="on-demand")  # <-
        """,
        ["validate"],
        [
            '"on-demand" names a profile; give the profile itself: on_demand() (from devkit.profiles import on_demand)'
        ],
    ),
    (
        "reference-to-undeclared-service",
        """
        db = postgres(password=Secret("PG_PASSWORD"))
        app.service("api", image="api:1", env={"DATABASE_URL": db.url})  # <-
        """,
        ["validate"],
        ['env.DATABASE_URL refers to service "postgres", which is not defined'],
    ),
    (
        "canary-weights-not-increasing",
        """
        from devkit import Canary, Step
        app.service("api", image="api:1", ports={"http": Port(8000, public=True)})
        app.environment("prod", Kubernetes(gateway="edge/public"),
                        canary=Canary(service="api", steps=[Step(50), Step(20)]))  # <-
        """,
        ["plan", "prod"],
        ["invalid Canary: steps[1]: weight 20 does not increase on the step before (50)"],
    ),
    (
        "canary-weight-over-100",
        """
        from devkit import Canary
        app.service("api", image="api:1", ports={"http": Port(8000, public=True)})
        app.environment("prod", Kubernetes(gateway="edge/public"),
                        canary=Canary(service="api", steps=[10, 150]))  # <-
        """,
        ["plan", "prod"],
        ["invalid Canary: steps[1].weight: Input should be less than or equal to 100"],
    ),
    (
        "canary-manual-pause-nobody-can-continue",
        """
        from devkit import Canary, Step
        app.service("api", image="api:1", ports={"http": Port(8000, public=True)})
        app.environment("prod", Kubernetes(gateway="edge/public"),
                        canary=Canary(service="api", unattended=True,  # <-
                                      steps=[Step(10, pause="manual"), 100]))
        """,
        ["plan", "prod"],
        ["steps[0] pauses until --continue, and this canary is unattended"],
    ),
    (
        "canary-check-on-a-service-without-metrics",
        """
        from devkit import Canary, Query
        app.service("api", image="api:1", ports={"http": Port(8000, public=True)})
        app.environment("prod", Kubernetes(gateway="edge/public"),  # <-
                        canary=Canary(service="api", steps=[10, 100], prometheus="http://p:9090",
                                      checks=Query(name="q", query="up", min=1, service="api")))
        """,
        ["plan", "prod"],
        ['canary: check "q" reads the metrics of service "api", which declares none'],
    ),
    (
        "canary-on-a-service-without-a-gateway-route",
        """
        from devkit import Canary
        app.service("api", image="api:1", ports={"http": 8000})
        app.environment("prod", Kubernetes(gateway="edge/public"),  # <-
                        canary=Canary(service="api", steps=[10, 100]))
        """,
        ["plan", "prod"],
        ['environment "prod": canary: service "api" has no public port'],
    ),
]


def _marked_line(text: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if "# <-" in line:
            return number
    return None


@pytest.mark.parametrize(
    ("body", "command", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_broken_blueprint_is_reported_with_location_and_exit_2(
    tmp_path: Path, body: str, command: list[str], expected: list[str]
) -> None:
    text = HEADER + textwrap.dedent(body).lstrip("\n")
    (tmp_path / "blueprint.py").write_text(text)
    before = sorted(p.name for p in tmp_path.rglob("*"))

    result = run_devkit(*command, cwd=tmp_path)

    assert result.code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    for part in expected:
        assert part in result.stderr
    line = _marked_line(text)
    if line is not None:
        assert f"blueprint.py:{line}:" in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "nothing may be written"


def test_missing_blueprint_file_says_how_to_create_one(tmp_path: Path) -> None:
    result = run_devkit("validate", cwd=tmp_path)
    assert result.code == 2
    assert "no blueprint found" in result.stderr
    assert "devkit init" in result.stderr


def test_directory_named_blueprint_py_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "blueprint.py").mkdir()
    result = run_devkit("validate", cwd=tmp_path)
    assert result.code == 2
    assert result.stderr.startswith(
        "error: blueprint.py is a directory without blueprint.py inside"
    )


def test_directory_given_with_f_without_a_blueprint_inside_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    result = run_devkit("-f", "services", "validate", cwd=tmp_path)
    assert result.code == 2
    assert "error: services is a directory without blueprint.py inside" in result.stderr
    assert "services/blueprint.py" in result.stderr


def test_image_given_on_the_command_line_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "blueprint.py").write_text(HEADER + 'app.service("api", image="api:1")\n')
    result = run_devkit("render", "local", "--image", "api=Foo::bar", cwd=tmp_path)
    assert result.code == 2
    assert 'error: --image api=Foo::bar: "Foo::bar" is not an image reference' in result.stderr


def test_stock_profile_names_are_the_functions_of_devkit_profiles() -> None:
    import devkit.profiles
    from devkit.model.profile import STOCK_PROFILES

    for name in STOCK_PROFILES:
        assert callable(getattr(devkit.profiles, name))


def test_file_without_a_blueprint_is_refused(tmp_path: Path) -> None:
    (tmp_path / "blueprint.py").write_text("x = 1\n")
    result = run_devkit("validate", cwd=tmp_path)
    assert result.code == 2
    assert "blueprint.py:1: defines no Blueprint" in result.stderr


def test_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "blueprint.py").write_text(
        HEADER + 'app.service("api", image="a", ports={"h": 0})\n'
    )
    result = run_devkit("--debug", "validate", cwd=tmp_path)
    assert result.code != 0
    assert "Traceback" in result.stderr
