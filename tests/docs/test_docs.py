"""The Python examples in docs/ run as written, so the docs never drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

EXAMPLES = [
    pytest.param(code, id=f"{page.name}#{number}")
    for page in sorted(DOCS.glob("*.md"))
    for number, code in enumerate(BLOCK.findall(page.read_text()), start=1)
]


def test_docs_have_python_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("code", EXAMPLES)
def test_doc_example_runs(code: str) -> None:
    exec(compile(code, "<docs example>", "exec"), {"__name__": "docs_example"})
