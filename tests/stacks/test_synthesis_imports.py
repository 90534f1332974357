"""A stack's synthesis imports its own cloud's SDK only: the other cloud's costs seconds and is never used."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from stacks.synth import PROJECT_ROOT

SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_docker", "pulumi_kubernetes")

# A fresh interpreter: synthesize, then list the SDK packages loaded (os._exit skips the SDKs' slow teardown).
SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from stacks.synth import synthesize
    synthesis = synthesize(sys.argv[1])
    loaded = {name.split(".")[0] for name in sys.modules if name.split(".")[0] in json.loads(sys.argv[2])}
    print(json.dumps({"loaded": sorted(loaded), "registrations": len(synthesis.registrations)}), flush=True)
    os._exit(0)
    """
)


def loaded_sdks(stack: str) -> tuple[set[str], int]:
    """The SDK packages of `SDKS` that a fresh process has loaded after synthesizing `stack`, and its registrations."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, stack, json.dumps(SDKS)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    return set(answer["loaded"]), answer["registrations"]


@pytest.mark.parametrize(
    ("stack", "needed", "not_needed"),
    [
        # prod and azure-prod are foundations: their Kubernetes layer is prod-cluster's and azure-prod-cluster's.
        ("prod", {"pulumi_aws"}, {"pulumi_azure_native", "pulumi_docker", "pulumi_kubernetes"}),
        ("azure-prod", {"pulumi_azure_native"}, {"pulumi_aws", "pulumi_docker", "pulumi_kubernetes"}),
        ("dev", {"pulumi_aws", "pulumi_kubernetes"}, {"pulumi_azure_native", "pulumi_docker"}),
        ("local", {"pulumi_docker", "pulumi_kubernetes"}, {"pulumi_aws", "pulumi_azure_native"}),
    ],
)
def test_synthesizing_a_stack_imports_only_its_own_clouds_sdk(
    stack: str, needed: set[str], not_needed: set[str]
) -> None:
    loaded, registrations = loaded_sdks(stack)
    assert registrations > 50, f"{stack} synthesized its whole platform"
    assert needed <= loaded, f"{stack} registers {sorted(needed)} resources, so the check must see that SDK loaded"
    assert not loaded & not_needed, (
        f"synthesizing {stack} imported {sorted(loaded & not_needed)}, which it never uses: an SDK import costs "
        "seconds and memory in every preview, check and test of the stack (import it where its cloud is built)"
    )
