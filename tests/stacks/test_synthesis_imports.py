"""A stack's synthesis imports its own cloud's SDK only: the other cloud's costs seconds and is never used.

Nor the project's own modules it does not run: another cloud's components, the offline tool's analyses, the
policy library. Each of those would be compiled and executed in every fresh `pulumi preview` of the stack.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import textwrap

import pytest

from stacks.synth import PROJECT_ROOT

SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_docker", "pulumi_kubernetes")
PROJECT_PACKAGES = ("components", "policies", "provider", "stacks")

# A fresh interpreter: synthesize, then list the SDK packages and the project's modules loaded (os._exit skips the
# SDKs' slow teardown).
SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from stacks.synth import synthesize
    synthesis = synthesize(sys.argv[1])
    loaded = {name.split(".")[0] for name in sys.modules if name.split(".")[0] in json.loads(sys.argv[2])}
    ours = sorted(name for name in sys.modules if name.split(".")[0] in json.loads(sys.argv[3]))
    print(json.dumps({"loaded": sorted(loaded), "ours": ours, "registrations": len(synthesis.registrations)}))
    sys.stdout.flush()
    os._exit(0)
    """
)


@functools.cache
def _synthesized_in_fresh_process(stack: str) -> dict[str, list[str] | int]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, stack, json.dumps(SDKS), json.dumps(PROJECT_PACKAGES)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def loaded_sdks(stack: str) -> tuple[set[str], int]:
    """The SDK packages of `SDKS` that a fresh process has loaded after synthesizing `stack`, and its registrations."""
    answer = _synthesized_in_fresh_process(stack)
    return set(answer["loaded"]), answer["registrations"]


def loaded_project_modules(stack: str) -> set[str]:
    """The project's modules (`PROJECT_PACKAGES`) that a fresh process has loaded after synthesizing `stack`."""
    return set(_synthesized_in_fresh_process(stack)["ours"])


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


# The offline tool's analyses and the policy library: `python -m stacks check|preview` and the packs import them,
# a synthesis never needs them (policies.admission, which builds admission policies, is part of the Kubernetes layer).
NOT_SYNTHESIS = (
    "stacks.check",
    "stacks.check_formats",
    "stacks.deployability",
    "stacks.preflight",
    "stacks.report",
    "stacks.topology",
    "policies.frameworks",
    "policies.packs",
    "policies.replay",
    "policies.rules",
    "provider",
)


@pytest.mark.parametrize(
    ("stack", "needed", "not_needed"),
    [
        (
            "prod",
            {"stacks.config", "stacks.platform_aws", "components.aws.gpu_cluster"},
            {
                "components.azure",
                "components.kubernetes",
                "components.docker",
                "stacks.platform_azure",
                "stacks.platform_kubernetes",
            },
        ),
        (
            "azure-prod",
            {"stacks.config", "stacks.platform_azure", "components.azure.gpu_cluster"},
            {
                "components.aws",
                "components.kubernetes",
                "components.docker",
                "stacks.platform_aws",
                "stacks.platform_kubernetes",
            },
        ),
        (
            "dev",
            {"stacks.platform_aws", "stacks.platform_kubernetes", "components.kubernetes.monitoring"},
            {"components.azure", "components.docker", "stacks.platform_azure"},
        ),
        (
            "local",
            {"stacks.platform_kubernetes", "components.docker.local_registry"},
            {"components.aws", "components.azure", "stacks.platform_aws", "stacks.platform_azure"},
        ),
    ],
)
def test_synthesizing_a_stack_imports_only_the_project_modules_it_runs(
    stack: str, needed: set[str], not_needed: set[str]
) -> None:
    loaded = loaded_project_modules(stack)
    assert needed <= loaded, f"{stack} builds with {sorted(needed - loaded)}, so the check must see them loaded"
    unexpected = sorted(
        name
        for name in loaded
        if any(name == prefix or name.startswith(prefix + ".") for prefix in (*not_needed, *NOT_SYNTHESIS))
    )
    assert not unexpected, (
        f"synthesizing {stack} imported {unexpected}, which it never runs: every fresh `pulumi preview` of the stack "
        "compiles and executes them (import them where they are used)"
    )


def test_the_config_models_are_built_from_evaluated_annotations() -> None:
    import __future__

    import stacks.config

    postponed = vars(stacks.config).get("annotations") is __future__.annotations
    assert not postponed, (
        "stacks/config.py imports `from __future__ import annotations`: pydantic then evaluates each of its ~200 "
        "field annotations from a string when the models are built, 4-5 ms of every synthesis (quote the rare "
        "forward reference instead)"
    )
    strings = sorted(
        f"{model.__name__}.{field}"
        for model in vars(stacks.config).values()
        if isinstance(model, type) and issubclass(model, stacks.config.BaseModel)
        for field, annotation in vars(model).get("__annotations__", {}).items()
        if isinstance(annotation, str)
    )
    assert not strings, f"these config fields are annotated with strings that pydantic evaluates at import: {strings}"
