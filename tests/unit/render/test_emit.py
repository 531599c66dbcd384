"""The YAML writer: deterministic, and read back by a YAML parser as exactly the same data."""

from __future__ import annotations

import yaml

from devkit.model.blueprint import Blueprint
from devkit.planning.planner import plan
from devkit.render import render
from devkit.render.emit import dump, dump_all, scalar
from tests.unit.render.conftest import SHOP_ENVS

TRICKY = [
    "", "yes", "No", "on", "OFF", "y", "n", "true", "null", "~", "1", "1.30", "0755", "1e3",
    "0x1F", ".inf", "-", "- a", "a: b", "#x", "x #y", "@a", "`a", "*a", "&a", "!a", "%a", "|", ">",
    "'q'", '"q"', "a\nb", "tab\there", "trailing ", " leading", "é", "\u2028", "😀", "$(VAR)",
    "{a}", "[a]", "a,b", "?", "2001-12-14", "=", "<<", "\\",
]  # fmt: skip


def test_every_tricky_string_reads_back_as_itself() -> None:
    document = {"strings": TRICKY, "keys": {text: text for text in TRICKY if text}}
    assert yaml.safe_load(dump(document)) == document


def test_scalars() -> None:
    assert [scalar(v) for v in (None, True, False, 0, 12, 0.5, "plain", "with: colon")] == [
        "null", "true", "false", "0", "12", "0.5", "plain", '"with: colon"',
    ]  # fmt: skip


def test_nested_collections_and_empty_ones() -> None:
    document = {"a": [[1, [2]], {}, [], {"b": {"c": []}}], "d": {}}
    text = dump(document)
    assert yaml.safe_load(text) == document
    assert text == "a:\n- - 1\n  - - 2\n- {}\n- []\n- b:\n    c: []\nd: {}\n"


def test_keys_are_sorted_whatever_the_insertion_order() -> None:
    assert dump({"b": 1, "a": 2}) == dump({"a": 2, "b": 1}) == "a: 2\nb: 1\n"


def test_stream_with_header(shop: Blueprint) -> None:
    text = dump_all([{"a": 1}, {"b": 2}], "first\n\nsecond")
    assert text == "# first\n#\n# second\n---\na: 1\n---\nb: 2\n"
    assert list(yaml.safe_load_all(text)) == [{"a": 1}, {"b": 2}]


def test_rendered_shop_reads_back_as_the_objects(shop: Blueprint) -> None:
    for env in SHOP_ENVS:
        manifest = render(plan(shop, env))
        assert list(yaml.safe_load_all(manifest.to_yaml())) == list(manifest.objects)
        for name, text in manifest.files().items():
            assert text.startswith("# Rendered by devkit from shop environment")
            assert len(list(yaml.safe_load_all(text))) == 1, name
