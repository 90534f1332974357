"""Every rule passes its compliant baseline, rejects each mutation, and handles unknowns, config and scope."""

from __future__ import annotations

import pytest

from policies.rules import RULES
from tests.policies import cases_aws, cases_azure, cases_kubernetes, cases_new_rows, cases_supply_chain
from tests.policies.cases import ResourceCase, StackCase, change
from tests.policies.harness import FUTURE, PAST, UNKNOWN, mutate, run_resource, run_stack

RESOURCE_CASES: list[ResourceCase] = [
    *cases_aws.RESOURCE_CASES,
    *cases_azure.RESOURCE_CASES,
    *cases_kubernetes.RESOURCE_CASES,
    *cases_new_rows.RESOURCE_CASES,
]
STACK_CASES: list[StackCase] = [
    *cases_aws.STACK_CASES,
    *cases_azure.STACK_CASES,
    *cases_kubernetes.STACK_CASES,
    *cases_new_rows.STACK_CASES,
    *cases_supply_chain.STACK_CASES,
]
BY_RULE = {case.rule: case for case in RESOURCE_CASES}
STACK_BY_RULE = {case.rule: case for case in STACK_CASES}


def _ids(items: list[tuple[object, ...]]) -> list[str]:
    return [" / ".join(str(part) for part in (getattr(item[2], "id", item[0]), item[1])) for item in items]


def test_every_rule_has_test_cases() -> None:
    covered = set(BY_RULE) | set(STACK_BY_RULE)
    assert covered == set(RULES), (
        f"rules without cases: {sorted(set(RULES) - covered)}; unknown: {sorted(covered - set(RULES))}"
    )
    assert {rule for rule, spec in RULES.items() if spec.stack} == set(STACK_BY_RULE), (
        "stack rules are tested as stacks"
    )


# --- Resource rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[case.id for case in RESOURCE_CASES])
def test_the_compliant_baseline_passes(case: ResourceCase) -> None:
    outcome = run_resource(case.rule, case.type, case.props, provider=case.provider)
    if case.always_fails:
        assert outcome.violations, (
            f"{case.rule}: the mere presence of {case.type} is the violation; {outcome.describe()}"
        )
    else:
        assert outcome.passed, f"{case.rule} must accept its compliant baseline; {outcome.describe()}"


PASS_VARIANTS = [(case.rule, variant, case) for case in RESOURCE_CASES for variant in case.passes]


@pytest.mark.parametrize(("rule", "variant", "case"), PASS_VARIANTS, ids=_ids(PASS_VARIANTS))
def test_compliant_variants_pass(rule: str, variant: str, case: ResourceCase) -> None:
    outcome = run_resource(rule, case.type, mutate(case.props, case.passes[variant]), provider=case.provider)
    assert outcome.passed, f"{rule} must accept the compliant variant '{variant}'; {outcome.describe()}"


FAILURES = [(case.rule, failure, case) for case in RESOURCE_CASES for failure in case.fails]


@pytest.mark.parametrize(("rule", "failure", "case"), FAILURES, ids=_ids(FAILURES))
def test_each_non_compliant_mutation_is_a_violation_naming_the_resource_and_the_fix(
    rule: str, failure: str, case: ResourceCase
) -> None:
    fail = case.fails[failure]
    outcome = run_resource(rule, case.type, mutate(case.props, fail.changes), provider=case.provider)
    assert any(fail.expect in message for message in outcome.messages), (
        f"{rule} must reject '{failure}' with a message containing {fail.expect!r}; {outcome.describe()}"
    )
    assert all(case.names_as in message for message in outcome.messages), (
        f"{rule}: every message names the resource; {outcome.messages}"
    )
    assert all(";" in message or "." in message for message in outcome.messages), f"{rule}: messages state the fix"


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[case.id for case in RESOURCE_CASES])
def test_unknown_values_are_never_a_silent_pass_nor_a_crash(case: ResourceCase) -> None:
    outcome = run_resource(case.rule, case.type, mutate(case.props, case.unknown), provider=case.provider)
    if case.always_fails:
        assert outcome.violations, f"{case.rule}: an unknown value does not hide the resource; {outcome.describe()}"
    elif case.unknown_passes:
        assert outcome.passed, f"{case.rule}: a value computed during preview counts as set; {outcome.describe()}"
    else:
        assert outcome.advisory and not outcome.violations, (
            f"{case.rule}: an unknown checked value becomes a 'cannot be verified' advisory; {outcome.describe()}"
        )
        assert "unknown during preview" in outcome.advisory, outcome.advisory


NOT_APPLICABLE = [(case.rule, scope, case) for case in RESOURCE_CASES for scope in case.not_applicable]


@pytest.mark.parametrize(("rule", "scope", "case"), NOT_APPLICABLE, ids=_ids(NOT_APPLICABLE))
def test_out_of_scope_resources_are_not_applicable(rule: str, scope: str, case: ResourceCase) -> None:
    type_token, props = case.not_applicable[scope]
    outcome = run_resource(rule, type_token, props)
    assert outcome.not_applicable is not None and not outcome.violations, (
        f"{rule} does not apply to '{scope}'; {outcome.describe()}"
    )


def test_every_resource_rule_has_a_not_applicable_case() -> None:
    missing = [case.rule for case in RESOURCE_CASES if not case.not_applicable]
    assert not missing, f"rules without a not-applicable case: {missing}"


CONFIGS = [(case.rule, name, case) for case in RESOURCE_CASES for name in case.configs]


@pytest.mark.parametrize(("rule", "name", "case"), CONFIGS, ids=_ids(CONFIGS))
def test_rule_settings_change_the_verdict(rule: str, name: str, case: ResourceCase) -> None:
    config_case = case.configs[name]
    outcome = run_resource(
        rule, case.type, mutate(case.props, config_case.changes), config=config_case.config, provider=case.provider
    )
    if config_case.passes:
        assert not outcome.violations and outcome.advisory is None, (
            f"{rule} with {config_case.config} must pass; {outcome.describe()}"
        )
    else:
        assert outcome.violations, f"{rule} with {config_case.config} must fail; {outcome.describe()}"


def _first_failure(case: ResourceCase) -> dict[str, object]:
    return mutate(case.props, next(iter(case.fails.values())).changes)


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[case.id for case in RESOURCE_CASES])
def test_an_exemption_with_reason_and_future_expiry_suppresses_the_violation(case: ResourceCase) -> None:
    exemption = {"name": "subj.*", "reason": "accepted risk until the migration in PLAT-7", "expires": FUTURE}
    outcome = run_resource(
        case.rule, case.type, _first_failure(case), config={"exemptions": [exemption]}, provider=case.provider
    )
    assert not outcome.violations, f"{case.rule}: an exemption suppresses the violation; {outcome.describe()}"
    assert outcome.not_applicable and "exempt until 2999-12-31" in outcome.not_applicable, outcome.describe()


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[case.id for case in RESOURCE_CASES])
def test_an_expired_exemption_is_itself_a_violation(case: ResourceCase) -> None:
    exemption = {
        "urn": "urn:pulumi:test::policies::" + case.type + "::subject",
        "reason": "temporary until the fix",
        "expires": PAST,
    }
    outcome = run_resource(
        case.rule, case.type, _first_failure(case), config={"exemptions": [exemption]}, provider=case.provider
    )
    assert any("expired on 2000-01-01" in message for message in outcome.messages), outcome.describe()
    assert len(outcome.violations) >= 2, f"{case.rule}: the original violation is reported too; {outcome.describe()}"


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[case.id for case in RESOURCE_CASES])
def test_exclude_for_skips_matching_resource_names(case: ResourceCase) -> None:
    outcome = run_resource(
        case.rule, case.type, _first_failure(case), config={"excludeFor": ["sub.*"]}, provider=case.provider
    )
    assert outcome.not_applicable and "excludeFor" in outcome.not_applicable and not outcome.violations, (
        outcome.describe()
    )


def test_an_exemption_without_a_real_reason_is_ignored_and_reported() -> None:
    case = BY_RULE["aws-ecr-repository-immutable-tags"]
    exemption = {"name": "subject", "reason": "because", "expires": FUTURE}
    outcome = run_resource(case.rule, case.type, _first_failure(case), config={"exemptions": [exemption]})
    assert any("reason must be at least 10 characters" in message for message in outcome.messages), outcome.describe()
    assert any("allows mutable tags" in message for message in outcome.messages), "the rule still runs"


def test_exemptions_for_other_resources_change_nothing() -> None:
    case = BY_RULE["aws-ecr-repository-immutable-tags"]
    exemption = {"name": "other-.*", "reason": "a different repository entirely", "expires": FUTURE}
    outcome = run_resource(case.rule, case.type, _first_failure(case), config={"exemptions": [exemption]})
    assert outcome.messages == [
        "ECR repository 'subject' allows mutable tags; set image_tag_mutability='IMMUTABLE'."
    ], outcome.describe()


# --- Stack rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", STACK_CASES, ids=[case.rule for case in STACK_CASES])
def test_the_compliant_stack_passes(case: StackCase) -> None:
    outcome = run_stack(case.rule, case.resources, config=case.config)
    assert outcome.passed, f"{case.rule} must accept its compliant stack; {outcome.describe()}"


STACK_PASSES = [(case.rule, variant, case) for case in STACK_CASES for variant in case.passes]


@pytest.mark.parametrize(("rule", "variant", "case"), STACK_PASSES, ids=_ids(STACK_PASSES))
def test_compliant_stack_variants_pass(rule: str, variant: str, case: StackCase) -> None:
    outcome = run_stack(rule, case.passes[variant](case.resources), config=case.config)
    assert outcome.passed, f"{rule} must accept '{variant}'; {outcome.describe()}"


STACK_FAILURES = [(case.rule, failure, case) for case in STACK_CASES for failure in case.fails]


@pytest.mark.parametrize(("rule", "failure", "case"), STACK_FAILURES, ids=_ids(STACK_FAILURES))
def test_each_non_compliant_stack_change_is_a_violation_on_the_resource_at_fault(
    rule: str, failure: str, case: StackCase
) -> None:
    fail = case.fails[failure]
    outcome = run_stack(rule, fail.change(case.resources), config=case.config)
    matching = [(message, resource) for message, resource in outcome.violations if fail.expect in message]
    assert matching, f"{rule} must reject '{failure}' with {fail.expect!r}; {outcome.describe()}"
    assert fail.resource in {resource for _, resource in matching}, (
        f"{rule}: the violation names '{fail.resource}'; {outcome.violations}"
    )


@pytest.mark.parametrize("case", STACK_CASES, ids=[case.rule for case in STACK_CASES])
def test_unknown_values_in_a_stack_are_never_a_silent_pass(case: StackCase) -> None:
    outcome = run_stack(case.rule, case.unknown(case.resources), config=case.config)
    if case.unknown_passes:
        assert outcome.passed, f"{case.rule}: the join is known even when the value is not; {outcome.describe()}"
    else:
        assert outcome.advisory and not outcome.violations, f"{case.rule}: unknown -> advisory; {outcome.describe()}"


@pytest.mark.parametrize("case", STACK_CASES, ids=[case.rule for case in STACK_CASES])
def test_stacks_without_the_resources_a_stack_rule_checks_are_not_applicable(case: StackCase) -> None:
    config = case.config if case.not_applicable_config is None else case.not_applicable_config
    outcome = run_stack(case.rule, case.not_applicable(case.resources), config=config)
    assert outcome.not_applicable is not None and not outcome.violations, outcome.describe()


STACK_CONFIGS = [(case.rule, name, case) for case in STACK_CASES for name in case.configs]


@pytest.mark.parametrize(("rule", "name", "case"), STACK_CONFIGS, ids=_ids(STACK_CONFIGS))
def test_stack_rule_settings_change_the_verdict(rule: str, name: str, case: StackCase) -> None:
    config_case = case.configs[name]
    outcome = run_stack(rule, config_case.change(case.resources), config={**case.config, **config_case.config})
    if config_case.passes:
        assert not outcome.violations and outcome.advisory is None, (
            f"{rule} with {config_case.config} must pass; {outcome.describe()}"
        )
    else:
        assert outcome.violations, f"{rule} with {config_case.config} must fail; {outcome.describe()}"


PER_RESOURCE = [case for case in STACK_CASES if case.fails and next(iter(case.fails.values())).resource]


@pytest.mark.parametrize("case", PER_RESOURCE, ids=[case.rule for case in PER_RESOURCE])
def test_stack_exemptions_suppress_and_expire_per_resource(case: StackCase) -> None:
    fail = next(iter(case.fails.values()))
    resources = fail.change(case.resources)
    exempt = {"name": fail.resource, "reason": "accepted until the data migration ends", "expires": FUTURE}
    suppressed = run_stack(case.rule, resources, config={**case.config, "exemptions": [exempt]})
    assert not [item for item in suppressed.violations if item[1] == fail.resource], suppressed.describe()
    expired = run_stack(case.rule, resources, config={**case.config, "exemptions": [{**exempt, "expires": PAST}]})
    assert any(
        "expired on 2000-01-01" in message and resource == fail.resource for message, resource in expired.violations
    ), expired.describe()
    excluded = run_stack(case.rule, resources, config={**case.config, "excludeFor": [fail.resource]})
    assert not [item for item in excluded.violations if item[1] == fail.resource], excluded.describe()


def _paths(value: object, prefix: str = "") -> list[str]:
    """Every path of a props document (dicts, lists and leaves), in `mutate` syntax."""
    paths: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            path = f'{prefix}["{key}"]' if "." in key else (f"{prefix}.{key}" if prefix else key)
            paths.append(path)
            paths.extend(_paths(item, path))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            path = f"{prefix}[{index}]"
            paths.append(path)
            paths.extend(_paths(item, path))
    return paths


def _documents(case: ResourceCase) -> list[dict[str, object]]:
    """The baseline and every variant the case defines: each is probed with unknowns everywhere."""
    changes = [{}, *(fail.changes for fail in case.fails.values()), *case.passes.values()]
    changes += [config_case.changes for config_case in case.configs.values()]
    return [mutate(case.props, change_set) for change_set in changes]


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[case.id for case in RESOURCE_CASES])
def test_no_unknown_anywhere_in_the_props_crashes_a_rule(case: ResourceCase) -> None:
    for document in _documents(case):
        for path in _paths(document):
            outcome = run_resource(case.rule, case.type, mutate(document, {path: UNKNOWN}), provider=case.provider)
            crashes = [message for message in outcome.messages if "could not evaluate" in message]
            assert not crashes, f"{case.rule} crashed with {path} unknown: {crashes}"


@pytest.mark.parametrize("case", STACK_CASES, ids=[case.rule for case in STACK_CASES])
def test_no_unknown_anywhere_in_a_stack_crashes_a_stack_rule(case: StackCase) -> None:
    stacks = [case.resources, *(fail.change(case.resources) for fail in case.fails.values())]
    stacks += [variant(case.resources) for variant in case.passes.values()]
    for resources in stacks:
        for resource in resources:
            for path in _paths(resource.props):
                outcome = run_stack(case.rule, change(resource.name, {path: UNKNOWN})(resources), config=case.config)
                crashes = [message for message in outcome.messages if "could not evaluate" in message]
                assert not crashes, f"{case.rule} crashed with {resource.name}.{path} unknown: {crashes}"
