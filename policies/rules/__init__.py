"""The rule library, one module per control area; importing it registers every rule in `RULES`."""

from policies.rules import (
    access_control,
    data_lifecycle,
    data_residency,
    encryption,
    exposure_public,
    governance,
    gpu,
    identity_trust,
    integrity,
    kubernetes_pod_security,
    kubernetes_workloads,
    logging_audit,
    network_exposure,
    supply_chain,
    training,
)
from policies.rules.base import RULES, Rule

AREAS = (
    access_control,
    data_lifecycle,
    data_residency,
    encryption,
    exposure_public,
    governance,
    gpu,
    identity_trust,
    integrity,
    kubernetes_pod_security,
    kubernetes_workloads,
    logging_audit,
    network_exposure,
    supply_chain,
    training,
)
"""The control-area modules, each registering its rules on import."""

__all__ = ["AREAS", "RULES", "Rule"]
