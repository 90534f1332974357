"""AzureLogAnalytics: one workspace with explicit retention and Entra-only ingestion."""

from __future__ import annotations

from components.azure import AzureLogAnalytics
from tests.components.azure._fixtures import LOCATION, RG, rejected

WORKSPACE = "azure-native:operationalinsights:Workspace"


def test_the_workspace_has_explicit_retention_and_no_shared_key_ingestion(run) -> None:
    recorder = run(
        lambda: AzureLogAnalytics(
            "logs", {"resource_group_name": RG, "location": LOCATION, "retention_days": 400, "protect": True}
        )
    )
    workspace = recorder.one(WORKSPACE)
    assert workspace.inputs["retentionInDays"] == 400, "GDPR-RET-LOGS: retention is never left to the default"
    assert workspace.inputs["features"]["disableLocalAuth"] is True
    assert workspace.protect and workspace.retain_on_delete, "audit logs survive a destroy in prod"


def test_retention_beyond_the_interactive_range_is_rejected(run, recorder) -> None:
    problems = rejected(
        run, recorder, lambda: AzureLogAnalytics("logs", {"location": LOCATION, "retention_days": 3650})
    )
    assert set(problems) == {"resourceGroupName", "retentionDays"}, problems
