"""Tags and JSON documents are plain values where nothing in them is an Output, and Outputs where something is."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws._resources import account_facts, merged_tags, to_json

POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@pytest.mark.parametrize("given", [None, {}, {"team": "ml", "Name": "caller"}], ids=["none", "empty", "plain"])
def test_plain_tags_merge_into_a_plain_dict_where_the_component_wins(given: dict[str, str] | None) -> None:
    merged = merged_tags(given, {"Name": "component", "data-classification": "pii"})
    assert isinstance(merged, dict), "plain tags need no Output: one per key and value per resource is pure overhead"
    assert merged == {**(given or {}), "Name": "component", "data-classification": "pii"}, (
        "the component's own tags win over the caller's (a data classification stays true)"
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (POLICY, json.dumps(POLICY, sort_keys=True)),
        ({"b": [1, 2.5, True, None], "a": "x"}, '{"a": "x", "b": [1, 2.5, true, null]}'),
    ],
    ids=["policy", "scalars"],
)
def test_a_plain_document_serializes_to_a_plain_string_with_sorted_keys(document: object, expected: str) -> None:
    assert to_json(document) == expected, "a document without Outputs is serialized at once, keys sorted"


def test_outputs_in_tags_and_documents_are_waited_for_and_their_dependencies_kept(run) -> None:
    def program() -> None:
        key = aws.kms.Key("key")
        tagged = merged_tags({"owner": key.key_id}, {"Name": "bucket"})
        assert isinstance(tagged, pulumi.Output), "tags holding an Output stay an Output"
        from_output = to_json(key.arn.apply(lambda arn: {**POLICY, "Id": arn}))
        holding = to_json({**POLICY, "Id": key.arn})
        aws.s3.Bucket("bucket", tags=tagged)
        aws.iam.Policy("computed", policy=from_output)
        aws.iam.Policy("holding", policy=holding)

    recorder = run(program)
    key = recorder.one("aws:kms/key:Key")
    bucket = recorder.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["tags"] == {"owner": "key-key-id", "Name": "bucket"}, "the key ID (offline) and the Name"
    assert bucket.property_dependencies["tags"] == [key.urn], "tags from an Output depend on its resource"
    for name in ("computed", "holding"):
        policy = recorder.one("aws:iam/policy:Policy", name)
        assert json.loads(policy.inputs["policy"])["Id"] == "arn:aws:kms:eu-central-1:123456789012:key/key", (
            f"the {name} document holds the key's ARN once it is known"
        )
        assert policy.property_dependencies["policy"] == [key.urn], f"the {name} document waits for the key"


def test_components_on_one_provider_share_one_account_lookup_and_another_provider_gets_its_own(
    run, recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens: list[str] = []
    original = recorder.mocks.call

    def counting(args: Any) -> Any:
        tokens.append(args.token)
        return original(args)

    monkeypatch.setattr(recorder.mocks, "call", counting)
    regions: dict[str, list[str]] = {}

    def program() -> None:
        for name, region in (("ireland", "eu-west-1"), ("virginia", "us-east-1")):
            provider = aws.Provider(name, region=region)
            for index in range(3):
                group = pulumi.ComponentResource(
                    "test:index:Group", f"{name}-{index}", None, pulumi.ResourceOptions(providers={"aws": provider})
                )
                facts = account_facts(group)
                facts.region.apply(lambda value, name=name: regions.setdefault(name, []).append(value))

    run(program)
    assert tokens.count("aws:index/getRegion:getRegion") == 2, "three components per provider, one lookup each"
    assert regions == {"ireland": ["eu-west-1"] * 3, "virginia": ["us-east-1"] * 3}, (
        "each component sees its own provider's region"
    )
