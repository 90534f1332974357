"""Property: for stack values generated within and across the schema's limits, `validate` and the components agree:
what validate accepts, the components build; what it refuses is refused with stack keys, never a traceback."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.load import PlatformConfigError, validate_platform_config
from stacks.platform import build_platform
from stacks.synth import install_recording_mocks, run_program

RETENTIONS = st.sampled_from([1, 7, 30, 90, 100, 180, 365, 400, 731, 1827, 2192, 3653])
SIZES = st.one_of(st.integers(min_value=0, max_value=4), st.integers(min_value=-1, max_value=1001))
"""Mostly within the limits (0-1000, max >= min), sometimes across them."""


@st.composite
def stack_values(draw: st.DrawFn) -> dict[str, Any]:
    cloud = draw(st.sampled_from(["aws", "azure"]))
    target = (
        {"cloud": "aws", "region": "eu-central-1"} if cloud == "aws" else {"cloud": "azure", "location": "westeurope"}
    )
    admin = "arn:aws:iam::210987654321:role/admins" if cloud == "aws" else "9d3c2b1a-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
    instance = "g5.xlarge" if cloud == "aws" else "Standard_NC4as_T4_v3"
    data: dict[str, Any] = {
        "environment": "dev",
        "target": target,
        "network": {
            "cidr": draw(
                st.sampled_from(["10.0.0.0/16", "10.9.0.0/20", "10.20.0.0/16", "172.16.0.0/16", "192.168.0.0/16"])
            )
        },
        "cluster": {
            "adminPrincipals": draw(st.sampled_from([[admin], [admin], [admin], [], ["not-a-principal"]])),
            "endpoint": {
                "publicAccess": True,
                "publicAccessCidrs": [draw(st.sampled_from(["81.2.69.160/28", "81.2.69.0/24", "10.1.0.0/24"]))],
            },
            "gpuPools": [{"name": "gpu", "instanceTypes": [instance], "minSize": draw(SIZES), "maxSize": draw(SIZES)}],
        },
        "compliance": {"profiles": draw(st.sampled_from([[], [], ["gdpr"], ["hipaa"], ["gdpr", "hipaa"]]))},
    }
    for key in ("minLogRetentionDays", "maxLogRetentionDays"):
        if draw(st.booleans()):
            data["compliance"][key] = draw(RETENTIONS)
    if draw(st.booleans()):
        data["logging"] = {"retentionDays": draw(RETENTIONS)}
    if draw(st.booleans()):
        data["compliance"]["maxRetentionDays"] = {"confidential": draw(RETENTIONS)}
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack_values())
def test_validate_and_the_components_agree_on_accept_and_refuse_and_name_stack_keys(data: dict[str, Any]) -> None:
    problems: list[str] = []
    try:
        config = validate_platform_config(data)
    except PlatformConfigError as refused:
        problems = refused.problems or ["(a refusal without problems)"]
    if problems:
        assert all(problem.startswith("mlplatform:platform.") for problem in problems), problems
        return
    install_recording_mocks(project="mlplatform", stack="test", preview=False)
    try:
        run_program(lambda: build_platform(config))
    except PlatformConfigError as refused:  # pragma: no cover - the failure this property exists to find
        raise AssertionError(f"validate accepted what the components refuse: {refused.problems}") from None
