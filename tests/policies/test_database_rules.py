"""The managed-database rules on what the platform's own database components register: AwsPostgres and
AzurePostgres, built as a prod stack builds them, pass every mandatory database rule."""

from __future__ import annotations

from typing import Any

from components.aws import AwsPostgres
from components.azure import AzurePostgres
from policies.frameworks import MAPPINGS
from policies.rules import RULES
from tests.components.azure.test_postgres import postgres_args
from tests.policies.harness import Res, from_registrations, run_resource, run_stack

DATABASE_CONTROLS = (
    "HIPAA-ENC-DB-CMK",
    "HIPAA-TLS-DB",
    "HIPAA-AC-DB-PUBLIC",
    "HIPAA-BAK-DB",
    "HIPAA-AC-DB-AUTH",
    "HIPAA-LOG-DB",
)
MANDATORY_DATABASE_RULES = sorted(
    mapping.rule
    for mapping in MAPPINGS
    if mapping.control in DATABASE_CONTROLS and mapping.enforcement.value == "mandatory"
)


def _verdicts(resources: list[Res]) -> dict[str, list[str]]:
    """Per mandatory database rule: its violations and advisories over the stack (empty when it passes)."""
    problems: dict[str, list[str]] = {}
    for name in MANDATORY_DATABASE_RULES:
        rule = RULES[name]
        outcomes = (
            [run_stack(name, resources)]
            if rule.stack
            else [
                run_resource(name, resource.type, resource.props, name=resource.name)
                for resource in resources
                if rule.applies_to(resource.type)
            ]
        )
        for outcome in outcomes:
            found = [*outcome.messages, *([outcome.advisory] if outcome.advisory else [])]
            if found:
                problems.setdefault(name, []).extend(found)
    return problems


def test_the_mandatory_database_rules_are_the_ones_the_issue_lists() -> None:
    assert MANDATORY_DATABASE_RULES, "encryption, TLS, public access, backups, authentication and logs are enforced"
    assert "azure-postgres-flexible-server-delete-lock" in MANDATORY_DATABASE_RULES, (
        "the Azure delete lock is enforced: AzurePostgres creates one whenever the server is protected"
    )


def test_aws_postgres_in_prod_passes_every_mandatory_database_rule(run: Any) -> None:
    args = {"vpc_id": "vpc-1", "subnet_ids": ["subnet-a", "subnet-b"], "allowed_security_group_ids": ["sg-nodes"]}
    recorder = run(lambda: AwsPostgres("mlflow", {**args, "protect": True}))
    resources = from_registrations(recorder.registrations)
    assert any(resource.type == "aws:rds/instance:Instance" for resource in resources)
    assert _verdicts(resources) == {}, "MLflow's RDS backend store as the platform builds it in prod"


def test_aws_postgres_without_protection_fails_only_deletion_protection(run: Any) -> None:
    args = {"vpc_id": "vpc-1", "subnet_ids": ["subnet-a", "subnet-b"], "allowed_security_group_ids": ["sg-nodes"]}
    recorder = run(lambda: AwsPostgres("mlflow", {**args, "protect": False}))
    problems = _verdicts(from_registrations(recorder.registrations))
    assert set(problems) == {"aws-rds-instance-deletion-protection"}, (
        f"a dev database is deletable on purpose, and only that; it is exempted by name in dev: {problems}"
    )


def test_azure_postgres_without_protection_fails_only_the_delete_lock(run: Any) -> None:
    recorder = run(lambda: AzurePostgres("mlflow", postgres_args(protect=False)))
    problems = _verdicts(from_registrations(recorder.registrations))
    assert set(problems) == {"azure-postgres-flexible-server-delete-lock"}, (
        f"an unprotected server has no lock, and only that is wrong; a dev stack exempts it by name: {problems}"
    )


def test_azure_postgres_in_prod_passes_every_mandatory_database_rule(run: Any) -> None:
    recorder = run(lambda: AzurePostgres("mlflow", postgres_args()))
    resources = from_registrations(recorder.registrations)
    assert any(resource.type == "azure-native:dbforpostgresql:Server" for resource in resources)
    assert _verdicts(resources) == {}, "MLflow's flexible server as the platform builds it in prod"
