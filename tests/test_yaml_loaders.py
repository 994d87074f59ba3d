"""libyaml composes the files where pyyaml has it; the values and the marks must be exactly the
pure-Python loader's, or a file:line error would point somewhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from amlctl import yamlio

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*ROOT.glob("amlctl/catalogs/*.yaml"), *ROOT.glob("plans/examples/*.yaml")])


@pytest.mark.skipif(yamlio._FastLoader is None, reason="pyyaml built without libyaml")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_libyaml_and_pure_python_agree(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = path.read_bytes()
    fast = yamlio.load_bytes(raw, path.name)
    monkeypatch.setattr(yamlio, "_FastLoader", None)
    plain = yamlio.load_bytes(raw, path.name)
    assert fast.data == plain.data
    assert fast.marks == plain.marks and fast.key_marks == plain.key_marks
    assert len(fast.marks) > 20  # a real document, with its places


def test_a_file_libyaml_refuses_gets_the_pure_python_message() -> None:
    raw = b"workspaces:\n  - name: a\n   bad: [\n"
    with pytest.raises(yaml.MarkedYAMLError) as python_says:
        list(yaml.compose_all(raw.decode(), Loader=yamlio._Loader))
    with pytest.raises(yamlio.YamlError) as refused:
        yamlio.load_bytes(raw, "m.yaml")
    assert refused.value.diagnostics == [yamlio._syntax_diagnostic(python_says.value, "m.yaml")]


def test_nesting_past_libyaml_limit_is_a_clean_error() -> None:
    raw = ("- " * 5000 + "x\n").encode()
    with pytest.raises(yamlio.YamlError) as refused:
        yamlio.load_bytes(raw, "deep.yaml")
    (diagnostic,) = refused.value.diagnostics
    assert diagnostic.file == "deep.yaml" and "nested deeper than" in diagnostic.message
