"""Use the platform's components directly: a team's model bucket, its IRSA role, a serving namespace and a model."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import AwsEncryptedBucket, AwsServingIdentity, ModelDeployment, ModelServingNamespace

config = pulumi.Config()
namespace = config.require("namespace")
aws_provider = aws.Provider("aws", region=config.require("region"))
cluster = k8s.Provider("cluster", context=config.require("kubeconfigContext"))
in_aws = pulumi.ResourceOptions(providers={"aws": aws_provider})
in_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster})

models = AwsEncryptedBucket("search-models", {"data_classification": "confidential", "retention_days": 365}, in_aws)
identity = AwsServingIdentity(
    "search",
    {
        "namespace": namespace,
        "oidc_provider_arn": config.require("oidcProviderArn"),
        "bucket_arn": models.bucket_arn,
        "kms_key_arn": models.kms_key_arn,
    },
    in_aws,
)
serving = ModelServingNamespace(
    "search",
    {
        "namespace": namespace,
        "team_group": config.require("teamGroup"),
        "quota_gpus": 2,
        "identity_kind": "aws",
        "identity_id": identity.role_arn,
        "egress_cidrs": ["0.0.0.0/0"],
    },
    in_cluster,
)
ModelDeployment(
    "ranker",
    {"namespace": serving.namespace, "image": config.require("image"), "gpus": 1},
    pulumi.ResourceOptions(providers={"kubernetes": cluster}, depends_on=[serving]),
)

pulumi.export("modelsBucket", models.bucket_name)
pulumi.export("roleArn", identity.role_arn)
