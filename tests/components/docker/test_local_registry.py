"""LocalRegistry runs a pinned registry on loopback only, keeps its data, and joins kind's network for kind."""

from __future__ import annotations

import pulumi
import pytest

from components.docker import LocalRegistry
from components.docker.local_registry import REGISTRY_IMAGE


def test_the_registry_listens_on_loopback_only_with_a_persistent_volume(run) -> None:
    recorder = run(lambda: LocalRegistry("kind-registry", {"distribution": "kind", "port": 5001}))
    container = recorder.one("docker:index/container:Container")
    assert container.inputs["ports"] == [{"internal": 5000, "external": 5001, "ip": "127.0.0.1"}], (
        "a plain-HTTP registry must never listen on all interfaces"
    )
    assert container.inputs["readOnly"] is True, "the registry writes only to its volume"
    assert container.inputs["volumes"][0]["containerPath"] == "/var/lib/registry"
    assert container.inputs["networksAdvanced"] == [{"name": "kind"}], (
        "kind nodes reach the registry on the kind network"
    )
    assert recorder.one("docker:index/remoteImage:RemoteImage").inputs["name"] == REGISTRY_IMAGE


def test_without_kind_the_registry_stays_off_the_kind_network(run) -> None:
    recorder = run(lambda: LocalRegistry("registry", {"distribution": "docker-desktop"}))
    assert not recorder.one("docker:index/container:Container").inputs.get("networksAdvanced")


def test_a_privileged_port_is_rejected(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError, match="port"):
        run(lambda: LocalRegistry("registry", {"port": 80}))
