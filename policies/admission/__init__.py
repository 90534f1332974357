"""The Kubernetes baseline rules again at admission time, as `ValidatingAdmissionPolicy` objects (CEL).

The packs judge a Pulumi program before it runs; a `kubectl apply`, a Helm release or an operator bypasses them.
The rules that can be decided from one object alone are restated here in CEL, one `AdmissionRule` per pack rule
(`rules.py`, each naming the pack rule it mirrors), and `manifests.py` turns them into
`admissionregistration.k8s.io/v1` ValidatingAdmissionPolicy + ValidatingAdmissionPolicyBinding objects, built into
the API server since Kubernetes 1.30 (no webhook, no controller). `components.kubernetes.AdmissionPolicies`
installs them. Tests evaluate the same CEL with `cel-python` and compare its verdicts with the pack's.

Standard library only, so the Kubernetes layer may import it.
"""

from policies.admission.manifests import (
    DEV_ACTIONS,
    PROD_ACTIONS,
    binding_manifest,
    exempt_namespace_selector,
    manifests,
    policy_manifest,
)
from policies.admission.rules import ADMISSION_RULES, AdmissionRule, CelCheck

__all__ = [
    "ADMISSION_RULES",
    "DEV_ACTIONS",
    "PROD_ACTIONS",
    "AdmissionRule",
    "CelCheck",
    "binding_manifest",
    "exempt_namespace_selector",
    "manifests",
    "policy_manifest",
]
