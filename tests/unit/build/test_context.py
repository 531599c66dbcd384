from __future__ import annotations

import tarfile
from pathlib import Path

from devkit.build.context import DOCKERFILE_IN_TAR, content_hash, context_files, context_tar
from devkit.build.dockerfile import base_images, substitute_bases
from devkit.planning.images import ImageMap


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_dockerignore_patterns_are_anchored_at_the_context_root(tmp_path: Path) -> None:
    ctx = make(tmp_path, {
        ".dockerignore": "*.pyc\n**/__pycache__\ntests\n!tests/keep.txt\n# comment\n",
        "Dockerfile": "FROM x\n", "top.pyc": "", "app/deep.pyc": "", "app/main.py": "",
        "app/__pycache__/m.cpython-311.pyc": "", "tests/t.py": "", "tests/keep.txt": "",
    })  # fmt: skip
    assert context_files(ctx) == [
        ".dockerignore", "Dockerfile", "app/deep.pyc", "app/main.py", "tests/keep.txt",
    ]  # fmt: skip


def test_ignored_directories_are_not_walked(tmp_path: Path) -> None:
    ctx = make(tmp_path, {".dockerignore": "node_modules\n", "node_modules/a/b.js": "", "x": ""})
    assert context_files(ctx) == [".dockerignore", "x"]


def test_hash_changes_with_content_args_target_and_bases_only(tmp_path: Path) -> None:
    ctx = make(tmp_path, {"Dockerfile": "FROM x\n", "app.py": "print(1)\n"})

    def digest(**kw: object) -> str:
        params: dict[str, object] = {
            "dockerfile": "FROM x\n",
            "args": {},
            "target": None,
            "bases": {},
        }
        params.update(kw)
        return content_hash(ctx, context_files(ctx), **params)  # type: ignore[arg-type]

    first = digest()
    assert digest() == first
    assert digest(args={"A": "1"}) != first
    assert digest(target="prod") != first
    assert digest(bases={"x": "sha256:1"}) != first
    assert digest(dockerfile="FROM y\n") != first
    (ctx / "app.py").write_text("print(2)\n")
    assert digest() != first


def test_ignored_files_do_not_change_the_hash(tmp_path: Path) -> None:
    ctx = make(tmp_path, {".dockerignore": "**/*.log\n", "Dockerfile": "FROM x\n"})
    before = content_hash(ctx, context_files(ctx), dockerfile="", args={}, target=None, bases={})
    make(ctx, {"logs/run.log": "noise"})
    after = content_hash(ctx, context_files(ctx), dockerfile="", args={}, target=None, bases={})
    assert before == after


def test_tar_holds_the_listed_files_and_the_dockerfile_to_build(tmp_path: Path) -> None:
    ctx = make(tmp_path, {"Dockerfile": "FROM x\n", "a.txt": "a"})
    with tarfile.open(fileobj=context_tar(ctx, context_files(ctx), "FROM y\n")) as tar:
        names = tar.getnames()
        member = tar.extractfile(DOCKERFILE_IN_TAR)
        assert member is not None and member.read() == b"FROM y\n"
    assert sorted(names) == sorted(["Dockerfile", "a.txt", DOCKERFILE_IN_TAR])


DOCKERFILE = """\
FROM --platform=linux/amd64 python:3.11-slim AS base
RUN echo hi
FROM base AS test
FROM scratch
FROM ${BASE}
COPY --from=base /x /x
FROM redis:7
"""


def test_base_images_skip_stages_scratch_and_args() -> None:
    assert base_images(DOCKERFILE) == ["python:3.11-slim", "redis:7"]


def test_substitution_rewrites_only_external_from_images() -> None:
    images = ImageMap.from_rules({"python:3.11-slim": "devkit-local/python:3.11-bookworm"})
    text = substitute_bases(DOCKERFILE, images)
    assert "FROM --platform=linux/amd64 devkit-local/python:3.11-bookworm AS base\n" in text
    assert "FROM base AS test\n" in text
    assert "FROM redis:7\n" in text
    assert substitute_bases(DOCKERFILE, ImageMap.from_rules({})) == DOCKERFILE
