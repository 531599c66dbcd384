from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit import Blueprint, Swarm, UserError, plan
from devkit.project import imagesfile

REF = "reg:5000/shop-api@sha256:" + "a" * 64


def shop_plan():
    app = Blueprint("shop")
    app.service("api", image="api:1")
    app.environment("staging", Swarm(registry="reg:5000"))
    return plan(app, "staging")


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "images.json"
    imagesfile.write(path, shop_plan(), {"api": REF})
    assert json.loads(path.read_text())["environment"] == "staging"
    assert imagesfile.read(path, shop_plan()) == {"api": REF}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"images": {\n"api": nope}}', "images.json:2: not valid JSON"),
        ('["api"]', 'expected an object with "images"'),
        (json.dumps({"project": "other", "images": {"api": REF}}), 'of project "other"'),
        ('{"images": {"api": "api:latest"}}', "not a reference by digest"),
        ('{"images": {}}', 'no image for service "api"'),
        (json.dumps({"images": {"api": REF, "web": REF}}), '"web" is not a service'),
    ],
)
def test_bad_files_name_the_file_and_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "images.json"
    path.write_text(text)
    with pytest.raises(UserError) as caught:
        imagesfile.read(path, shop_plan())
    assert message in caught.value.render() and str(path) in caught.value.render()


def test_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read the images file"):
        imagesfile.read(tmp_path / "none.json", shop_plan())
