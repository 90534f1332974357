"""Small helpers the AWS component tests share: reading recorded policies and validation errors."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from stacks.synth import RecordingMonitor

OIDC_PROVIDER_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/ABC123"
SUBNETS = ["subnet-a", "subnet-b"]
ZONE_SUBNETS = {"eu-central-1a": "subnet-a", "eu-central-1b": "subnet-b"}


def policy(inputs: dict[str, Any], key: str = "policy") -> dict[str, Any]:
    """A JSON policy input, parsed."""
    return json.loads(inputs[key])


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    """The statement with `sid`; fails listing the statement IDs that exist."""
    found = [item for item in document["Statement"] if item.get("Sid") == sid]
    assert len(found) == 1, (
        f"expected one statement {sid!r}; found {[item.get('Sid') for item in document['Statement']]}"
    )
    return found[0]


def error_paths(error: pulumi.InputPropertiesError) -> list[str]:
    """The property paths an InputPropertiesError names."""
    return [item["property_path"] for item in error.errors or []]


def nothing_registered(recorder: RecordingMonitor) -> bool:
    """True when no resource but the stack itself was registered."""
    return all(registration.type == "pulumi:pulumi:Stack" for registration in recorder.registrations)
