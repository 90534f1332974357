"""Every Kubernetes object of every shipped stack, as composed, is one the API server accepts."""

from __future__ import annotations

import kubernetes_validate
import pytest

from stacks.synth import PROJECT_ROOT, stack_names, synthesize_whole
from tests.components.kubernetes.helpers import kubernetes_objects, manifest
from tests.components.kubernetes.test_kubernetes_objects import KUBERNETES_VERSION


@pytest.mark.parametrize("stack", stack_names(PROJECT_ROOT))
def test_every_kubernetes_object_of_the_stack_validates_against_the_openapi_schema(stack: str) -> None:
    objects = kubernetes_objects(synthesize_whole(stack).monitor)
    assert objects, f"{stack} installs the Kubernetes layer"
    failures = []
    for registration in objects:
        try:
            kubernetes_validate.validate(manifest(registration), KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{registration.type} {registration.name}: {str(error).splitlines()[0]}")
    assert not failures, f"objects of {stack} the API server would reject:\n" + "\n".join(failures)
