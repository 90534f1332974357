"""Stack files are parsed by libyaml when PyYAML has it, with the same result and the same refusals as without."""

from __future__ import annotations

import pytest
import yaml

from stacks.stack_files import PlatformConfigError, _FastStackFileLoader, _StackFileLoader, parse_stack_yaml
from stacks.synth import PROJECT_ROOT, stack_names


@pytest.mark.parametrize("stack", stack_names(PROJECT_ROOT))
def test_both_parsers_read_every_shipped_stack_file_alike(stack: str) -> None:
    text = (PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert yaml.load(text, Loader=_FastStackFileLoader) == yaml.load(text, Loader=_StackFileLoader), (
        f"Pulumi.{stack}.yaml must mean the same to the fast parser as to PyYAML's own"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config:\n  a: 1\n  a: 2\n", "(line 3, column 3): duplicate key 'a' (first at line 2)"),
        ("base: &b {x: 1}\nconfig:\n  <<: *b\n", "(line 3, column 3): a merge key (`<<`) is not accepted"),
        ("config:\n\ta: 1\n", "(line 2, column 1): not valid YAML: found character '\\t' that cannot start any token"),
        ("config: [1\n", "(line 2, column 1): not valid YAML: expected ',' or ']', but got '<stream end>'"),
    ],
    ids=["duplicate-key", "merge-key", "tab", "unclosed-list"],
)
def test_a_refused_file_names_the_line_and_pyyamls_own_reason(text: str, message: str) -> None:
    with pytest.raises(PlatformConfigError) as caught:
        parse_stack_yaml(text, "Pulumi.broken.yaml")
    assert f"  - Pulumi.broken.yaml {message}" in str(caught.value), (
        f"the problem keeps the pure-Python parser's wording and position: {caught.value}"
    )
