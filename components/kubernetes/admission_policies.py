"""`AdmissionPolicies`: the Kubernetes baseline rules of the packs, enforced again by the API server.

The packs judge a Pulumi program before it runs; `kubectl apply`, a Helm release installed by hand or an operator
creating pods never passes through them. A ValidatingAdmissionPolicy is evaluated by the API server itself for
every request (GA in Kubernetes 1.30, "Validating Admission Policy", Kubernetes documentation; no webhook or
controller to run), so these rules hold whoever creates the object. The CEL comes from `policies.admission`, one
policy per pack rule, generated from the same rule list the tests compare with the packs' verdicts.
"""

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common.limits import PLATFORM_SYSTEM_NAMESPACES
from components._common.validation import Problems, dns1123_label_problem, require_args_mapping
from policies.admission import ADMISSION_RULES, DEV_ACTIONS, PROD_ACTIONS, manifests

RULE_NAMES: tuple[str, ...] = tuple(rule.pack_rule for rule in ADMISSION_RULES)
"""Pack rules enforced at admission (the policies and bindings carry these names)."""


class AdmissionPoliciesArgs(TypedDict):
    """Arguments of AdmissionPolicies."""

    enforce: NotRequired[bool]
    """Deny violating objects (`validationActions: [Deny]`, prod); false admits them with a warning to the client
    and an audit annotation (`[Warn, Audit]`, dev). Defaults to true."""
    exempt_namespaces: NotRequired[Sequence[str]]
    """Namespaces no policy applies in: the node agents' namespaces, the packs' `systemNamespaces` setting.
    Defaults to the platform's system namespaces (kube-system, gpu-operator, monitoring, logging, ...)."""
    rule_exempt_namespaces: NotRequired[Mapping[str, Sequence[str]]]
    """Further namespaces exempt from one rule only, by pack rule name: e.g. {'kubernetes-load-balancer-internal':
    ['serving-gateway']} for a reviewed public gateway. Defaults to none."""
    rules: NotRequired[Sequence[str]]
    """Pack rules to enforce (names in RULE_NAMES). Defaults to all of them."""


class AdmissionPolicies(pulumi.ComponentResource):
    """ValidatingAdmissionPolicies + bindings mirroring the CEL-expressible Kubernetes pack rules.

    Creates:
    - per rule, an `admissionregistration.k8s.io/v1` ValidatingAdmissionPolicy (`failurePolicy: Fail`,
    CREATE and UPDATE of Pods, their ephemeral containers, ReplicationControllers, PodTemplates, Deployments,
    ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs, or of Services) and a binding with the chosen
    validation actions, bound in every namespace but the exempt ones (selected by the immutable
    `kubernetes.io/metadata.name` label).

    Security defaults: enforce (Deny) unless told otherwise; exempt only the platform's node-agent namespaces.
    Differences from the packs: the packs exempt only DaemonSets in the system namespaces, admission exempts
    everything there (the node agents' pods are created by their DaemonSets' controller in those namespaces, and
    nothing but the namespace tells them apart unforgeably); and admission also judges ephemeral containers.
    Pods created by operators outside the exempt namespaces (Envoy proxies, Argo workflow pods, JobSet/Kueue jobs)
    are judged too: watch the dev audit before enforcing in prod.
    """

    policy_names: pulumi.Output[list[str]]
    """Names of the ValidatingAdmissionPolicies (the pack rules they mirror)."""
    validation_actions: pulumi.Output[list[str]]
    """The bindings' validation actions."""

    def __init__(self, name: str, args: AdmissionPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        problems = Problems()
        enforce = args.get("enforce", True)
        if not isinstance(enforce, bool):
            problems.add("enforce", f"must be true (deny, prod) or false (warn and audit, dev), got {enforce!r}")
        exempt = args.get("exempt_namespaces", PLATFORM_SYSTEM_NAMESPACES)
        _check_namespaces(problems, "exemptNamespaces", exempt)
        per_rule = args.get("rule_exempt_namespaces", {})
        if not isinstance(per_rule, Mapping):
            problems.add("ruleExemptNamespaces", "must map pack rule names to lists of namespaces")
            per_rule = {}
        for rule_name, namespaces in per_rule.items():
            if rule_name not in RULE_NAMES:
                problems.add(f"ruleExemptNamespaces.{rule_name}", f"unknown rule; use one of {', '.join(RULE_NAMES)}")
            _check_namespaces(problems, f"ruleExemptNamespaces.{rule_name}", namespaces)
        chosen = args.get("rules", RULE_NAMES)
        if isinstance(chosen, str) or not isinstance(chosen, Sequence) or not chosen:
            problems.add("rules", f"must be a non-empty list of rule names from: {', '.join(RULE_NAMES)}")
            chosen = ()
        for rule_name in chosen:
            if rule_name not in RULE_NAMES:
                problems.add("rules", f"unknown rule '{rule_name}'; use names from: {', '.join(RULE_NAMES)}")
        problems.raise_if_any(f"AdmissionPolicies '{name}'")
        super().__init__("mlplatform:index:AdmissionPolicies", name, {}, opts)

        actions = PROD_ACTIONS if enforce else DEV_ACTIONS
        rules = [rule for rule in ADMISSION_RULES if rule.pack_rule in set(chosen)]
        objects = manifests(actions, exempt, {key: list(value) for key, value in per_rule.items()}, rules)
        policies: dict[str, k8s.admissionregistration.v1.ValidatingAdmissionPolicy] = {}
        for obj in objects:
            rule_name = obj["metadata"]["name"]
            if obj["kind"] == "ValidatingAdmissionPolicy":
                policies[rule_name] = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                    f"{name}-{rule_name}",
                    metadata=obj["metadata"],
                    spec=obj["spec"],
                    opts=pulumi.ResourceOptions(parent=self),
                )
            else:
                policy = policies[obj["spec"]["policyName"]]
                k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                    f"{name}-{rule_name}-binding",
                    metadata=obj["metadata"],
                    # The policy's name is its output, so the binding is created after the policy it binds.
                    spec={**obj["spec"], "policyName": policy.metadata.name},
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.policy_names = pulumi.Output.from_input(list(policies))
        self.validation_actions = pulumi.Output.from_input(list(actions))
        self.register_outputs({"policyNames": self.policy_names, "validationActions": self.validation_actions})


def _check_namespaces(problems: Problems, path: str, namespaces: object) -> None:
    if isinstance(namespaces, str) or not isinstance(namespaces, Sequence):
        problems.add(path, "must be a list of namespace names")
        return
    for index, namespace in enumerate(namespaces):
        problem = dns1123_label_problem(namespace) if isinstance(namespace, str) else "must be a namespace name"
        if problem:
            problems.add(f"{path}[{index}]", problem)
