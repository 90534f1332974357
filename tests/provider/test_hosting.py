"""The provider's additions to Pulumi's component host: integers, secrets, structured errors, the schema tables."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.runtime.sync_await import _sync_await

from provider import package_schema
from provider.hosting import MlPlatformProvider
from stacks.synth import install_recording_mocks


@pytest.fixture(scope="module")
def host() -> MlPlatformProvider:
    return MlPlatformProvider()


def _resolved(value: Any) -> tuple[Any, bool]:
    output = pulumi.Output.from_input(value)
    return _sync_await(output.future()), _sync_await(output.is_secret())


def test_whole_floats_from_the_wire_become_ints_wherever_the_schema_declares_integers(host) -> None:
    install_recording_mocks()
    properties = {
        "count": PropertyDefinition(type=PropertyType.INTEGER, optional=True),
        "computed": PropertyDefinition(type=PropertyType.INTEGER, optional=True),
        "sizes": PropertyDefinition(
            type=PropertyType.ARRAY, optional=True, items=PropertyDefinition(type=PropertyType.INTEGER)
        ),
        "limits": PropertyDefinition(
            type=PropertyType.OBJECT, optional=True, additional_properties=PropertyDefinition(type=PropertyType.INTEGER)
        ),
        "ratio": PropertyDefinition(type=PropertyType.NUMBER, optional=True),
    }
    mapping = {key: key for key in properties}
    wire = {"count": 3.0, "computed": pulumi.Output.from_input(4.0), "sizes": [1.0, 2.0], "limits": {"a": 5.0}}
    mapped = host.map_input_properties({**wire, "ratio": 0.5}, properties, mapping, "Example", "")

    assert (mapped["count"], mapped["sizes"], mapped["limits"]) == (3, [1, 2], {"a": 5})
    assert all(type(value) is int for value in (mapped["count"], *mapped["sizes"], mapped["limits"]["a"]))
    computed, _ = _resolved(mapped["computed"])
    assert type(computed) is int and computed == 4, "an Output integer (Pulumi's host would call int() on it)"
    assert mapped["ratio"] == 0.5, "numbers stay numbers"


def test_a_fractional_number_for_an_integer_reaches_the_components_validation_unchanged(host) -> None:
    properties = {"count": PropertyDefinition(type=PropertyType.INTEGER, optional=True)}
    assert host.map_input_properties({"count": 2.5}, properties, {"count": "count"}, "Example", "") == {"count": 2.5}


def test_secret_inputs_become_secrets_even_when_sent_as_literals(host) -> None:
    install_recording_mocks()
    schema = host.published_schema
    monitoring = package_schema.secret_inputs(
        schema, "Monitoring", {"alertReceiverSecret": "https://hook", "grafana": True}
    )
    image = package_schema.secret_inputs(
        schema, "ModelImage", {"registry": {"server": "r.example.com", "username": "u", "password": "p"}, "tag": "1"}
    )

    assert _resolved(monitoring["alertReceiverSecret"]) == ("https://hook", True)
    assert monitoring["grafana"] is True
    assert _resolved(image["registry"]["password"]) == ("p", True), "nested types' secrets too (RegistryAuth)"
    assert image["registry"]["server"] == "r.example.com" and image["tag"] == "1"


def test_secret_outputs_leave_as_secrets_whatever_the_component_returned() -> None:
    install_recording_mocks()
    state = package_schema.secret_outputs("AwsGpuCluster", {"kubeconfig": "{}", "clusterName": "gpu"})
    assert _resolved(state["kubeconfig"]) == ("{}", True)
    assert state["clusterName"] == "gpu"


def test_a_secret_table_entry_the_schema_lacks_stops_the_provider(host, monkeypatch) -> None:
    analyzed = host.published_schema
    monkeypatch.setitem(package_schema.SECRET_OUTPUTS, "Monitoring", frozenset({"grafanaPassword"}))
    with pytest.raises(KeyError, match="grafanaPassword"):
        package_schema.finish_schema(analyzed, license_id="Apache-2.0")


def test_a_components_input_errors_keep_their_property_paths(host) -> None:
    install_recording_mocks()
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        host.construct(
            "fraud",
            "mlplatform:index:ModelServingNamespace",
            {"namespace": "Fraud_Team", "teamGroup": "ml-fraud", "quotaGpus": -1, "identityKind": "gcp"},
        )
    assert {error["property_path"] for error in raised.value.errors} >= {"namespace", "quotaGpus", "identityKind"}, (
        "raised as InputPropertiesError (not wrapped in ComponentInitError), the engine shows each path"
    )
