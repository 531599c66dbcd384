"""Volumes remember (as salted fingerprints) the init-time values their data was made with."""

from __future__ import annotations

from dataclasses import replace

import pytest

from blueprints import postgres
from devkit import Blueprint, Docker, Secret, plan
from devkit.errors import BlueprintError
from devkit.targets.docker.spec import ContainerSpec, container_specs
from devkit.targets.docker.volumes import InitValuesChangedError, init_labels, init_mismatch

VOLUME = "shop-local-postgres-data"


def db_spec(password: str = "first", database: str = "shop") -> ContainerSpec:
    app = Blueprint("shop")
    app.use(postgres(database=database, password=Secret("PG_PASSWORD")))
    app.environment("local", Docker())
    images = {"postgres": "postgres:16"}
    [spec] = container_specs(plan(app, "local"), images, {}, {"PG_PASSWORD": password})
    return spec


def test_postgres_declares_user_password_and_database_as_init_time_values() -> None:
    assert db_spec().volume_init == {VOLUME: ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")}


def test_labels_carry_a_salted_fingerprint_never_the_value() -> None:
    made = init_labels(db_spec(), VOLUME, salt="0123")
    assert set(made) == {
        "dev.devkit.init.POSTGRES_USER", "dev.devkit.init.POSTGRES_PASSWORD",
        "dev.devkit.init.POSTGRES_DB",
    }  # fmt: skip
    assert all(value.startswith("0123:") for value in made.values())
    assert not any("first" in value for value in made.values())
    assert init_labels(db_spec(), VOLUME) != init_labels(db_spec(), VOLUME), "a fresh salt each"


def test_same_values_match_and_changed_ones_are_named() -> None:
    made = init_labels(db_spec("first"), VOLUME)
    assert init_mismatch(db_spec("first"), VOLUME, made) is None
    changed = init_mismatch(db_spec("second", database="store"), VOLUME, made)
    assert changed is not None
    assert (changed.service, changed.volume) == ("postgres", VOLUME)
    assert changed.names == ("POSTGRES_PASSWORD", "POSTGRES_DB")


def test_a_volume_without_fingerprints_is_taken_as_it_is() -> None:
    assert init_mismatch(db_spec(), VOLUME, {"dev.devkit.project": "shop"}) is None


def test_the_error_names_the_volume_and_both_ways_out() -> None:
    mismatch = init_mismatch(db_spec("second"), VOLUME, init_labels(db_spec("first"), VOLUME))
    assert mismatch is not None
    error = InitValuesChangedError(mismatch, "local")
    assert error.exit_code == 2
    assert error.message.startswith(
        f'service "postgres": volume {VOLUME} holds data initialised with another POSTGRES_PASSWORD'
    )
    assert "put back the value the data was made with" in error.details[0]
    assert "`devkit down -e local --volumes`" in error.details[1]


def test_init_values_do_not_change_the_container_spec_hash() -> None:
    spec = db_spec()
    from devkit.targets.docker.spec import _spec_hash

    assert _spec_hash(spec, "") == _spec_hash(replace(spec, volume_init={}), "")


def test_init_env_must_name_variables_the_service_sets() -> None:
    app = Blueprint("shop")
    with pytest.raises(BlueprintError, match=r"volumes.data.init_env names DB_PASS, which env"):
        app.service(
            "db", image="db:1", env={"DB_PASSWORD": Secret("DB_PASSWORD")},
            volumes={"data": {"path": "/data", "init_env": ("DB_PASS",)}},
        )  # fmt: skip
