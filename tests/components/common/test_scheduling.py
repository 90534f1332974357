"""Kubernetes' scheduling predicates: the rules the scheduler applies, so tests and checks judge placement alike."""

from __future__ import annotations

import pytest

from components._common import scheduling
from components._common.gpu import Taint

TRAINING = Taint("workload", "training", "NoSchedule")


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        ({"key": "workload", "operator": "Equal", "value": "training", "effect": "NoSchedule"}, True),
        ({"key": "workload", "value": "training", "effect": "NoSchedule"}, True),  # Equal is the default operator
        ({"key": "workload", "operator": "Equal", "value": "serving", "effect": "NoSchedule"}, False),
        ({"key": "workload", "operator": "Exists", "effect": "NoSchedule"}, True),  # Exists ignores the value
        ({"key": "workload", "operator": "Exists"}, True),  # an empty effect matches every effect
        ({"key": "workload", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "team", "operator": "Exists"}, False),
        ({"operator": "Exists"}, True),  # a keyless Exists tolerates every taint
        ({"operator": "Exists", "effect": "PreferNoSchedule"}, False),
        ({"key": "workload", "operator": "Lt", "value": "training"}, False),  # unknown to taint matching
    ],
)
def test_a_toleration_matches_a_taint_by_key_operator_value_and_effect(toleration: dict, expected: bool) -> None:
    assert scheduling.tolerates(toleration, TRAINING) is expected


def test_an_equal_toleration_without_a_value_matches_a_taint_without_one() -> None:
    assert scheduling.tolerates({"key": "dedicated", "effect": "NoSchedule"}, Taint("dedicated", ""))


def test_only_no_schedule_and_no_execute_taints_keep_a_pod_away() -> None:
    soft = Taint("spot", "true", "PreferNoSchedule")
    hard = Taint("gpu", "true", "NoExecute")
    assert scheduling.untolerated_taints([], [soft, hard, TRAINING]) == [hard, TRAINING], (
        "PreferNoSchedule only lowers the node's score; the scheduler still places pods there"
    )


@pytest.mark.parametrize(
    ("requirement", "labels", "expected"),
    [
        ({"key": "w", "operator": "In", "values": ["a", "b"]}, {"w": "b"}, True),
        ({"key": "w", "operator": "In", "values": ["a"]}, {}, False),
        ({"key": "w", "operator": "NotIn", "values": ["a"]}, {}, True),  # no label: NotIn matches
        ({"key": "w", "operator": "NotIn", "values": ["a"]}, {"w": "a"}, False),
        ({"key": "w", "operator": "Exists"}, {"w": ""}, True),
        ({"key": "w", "operator": "DoesNotExist"}, {"w": ""}, False),
        ({"key": "n", "operator": "Gt", "values": ["3"]}, {"n": "4"}, True),
        ({"key": "n", "operator": "Lt", "values": ["3"]}, {"n": "x"}, False),
    ],
)
def test_node_selector_requirements_follow_kubernetes(requirement: dict, labels: dict, expected: bool) -> None:
    assert scheduling.requirement_matches(requirement, labels) is expected


def test_required_affinity_terms_are_ored_and_their_expressions_anded() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]},
                    {"matchExpressions": [{"key": "c", "operator": "Exists"}]},
                ]
            }
        }
    }
    spec = {"affinity": affinity}
    assert scheduling.node_affinity_admits(spec, {"a": "1", "b": "1"})
    assert scheduling.node_affinity_admits(spec, {"c": "1"})
    assert not scheduling.node_affinity_admits(spec, {"a": "1"})
    assert not scheduling.node_affinity_admits({"affinity": affinity, "nodeSelector": {"d": "1"}}, {"c": "1"})
    assert scheduling.node_affinity_admits({}, {}), "no selector and no affinity admit every node"


def test_unschedulable_reasons_name_each_untolerated_taint_and_the_affinity() -> None:
    reasons = scheduling.unschedulable_reasons({"nodeSelector": {"gpu": "true"}}, {}, [TRAINING])
    assert reasons == [
        "does not tolerate the taint workload=training:NoSchedule",
        "its node selector or required node affinity does not match the node's labels",
    ]
