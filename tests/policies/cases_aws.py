"""Compliant baselines and mutations for the AWS rules."""

from __future__ import annotations

import json

from tests.policies.cases import (
    KEY,
    RECORD_TAGS,
    ROLE,
    ConfigCase,
    Fail,
    ResourceCase,
    StackCase,
    StackConfigCase,
    StackFail,
    add,
    change,
    document,
    drop,
    then,
)
from tests.policies.harness import DELETE, UNKNOWN, Res

VPC_ONLY = ("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"})

EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_POOL_ONLY = (
    NODE_POOL,
    {"metadata": {"name": "gpu-a10g"}, "spec": {"template": {"spec": {"nodeClassRef": {"name": "gpu-a10g"}}}}},
)
GPU_NODE_POOL: dict[str, object] = {
    "apiVersion": "karpenter.sh/v1",
    "kind": "NodePool",
    "metadata": {"name": "gpu-a10g"},
    "spec": {
        "template": {
            "metadata": {"labels": {"mlplatform.io/accelerator": "nvidia-a10g"}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu-a10g"},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.2xlarge"]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]},
                ],
                "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                "expireAfter": "720h",
            },
        },
        "limits": {"cpu": "32", "nvidia.com/gpu": "4"},
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m"},
    },
}
"""A Karpenter v1 GPU NodePool: a GPU instance type, the GPU taint and limits from the pool's maximum size."""
REQUIREMENT = "spec.template.spec.requirements[0]"
DISCOVERY = [{"tags": {"karpenter.sh/discovery": "prod"}}]
NODE_CLASS: dict[str, object] = {
    "apiVersion": "karpenter.k8s.aws/v1",
    "kind": "EC2NodeClass",
    "metadata": {"name": "gpu-a10g"},
    "spec": {
        "amiSelectorTerms": [{"alias": "al2023@latest"}],
        "role": "prod-karpenter-node",
        "subnetSelectorTerms": DISCOVERY,
        "securityGroupSelectorTerms": DISCOVERY,
        "blockDeviceMappings": [
            {
                "deviceName": "/dev/xvda",
                "rootVolume": True,
                "ebs": {"encrypted": True, "kmsKeyID": KEY, "volumeSize": "200Gi", "volumeType": "gp3"},
            }
        ],
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1.0},
        "associatePublicIPAddress": False,
    },
}
"""A Karpenter v1 EC2NodeClass as `k8s.apiextensions.CustomResource` registers it (the CRD's own field names)."""
EBS = "spec.blockDeviceMappings[0].ebs"

SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
QUEUE_URL = "https://sqs.eu-central-1.amazonaws.com/123456789012/prod-karpenter"
QUEUE_ARN = "arn:aws:sqs:eu-central-1:123456789012:prod-karpenter"
EVENTS_MAY_SEND = {
    "Effect": "Allow",
    "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
    "Action": "sqs:SendMessage",
    "Resource": QUEUE_ARN,
}
DENY_HTTP = {
    "Sid": "DenyHTTP",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "sqs:*",
    "Resource": QUEUE_ARN,
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
ANYONE_MAY_SEND = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": QUEUE_ARN}

RDS = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_INSTANCE: dict[str, object] = {
    "engine": "postgres",
    "engineVersion": "17",
    "instanceClass": "db.t4g.medium",
    "storageEncrypted": True,
    "kmsKeyId": KEY,
    "manageMasterUserPassword": True,
    "masterUserSecretKmsKeyId": KEY,
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": KEY,
    "publiclyAccessible": False,
    "backupRetentionPeriod": 14,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "mlflow-final",
    "parameterGroupName": "mlflow-params",
    "identifier": "mlflow",
    "iamDatabaseAuthenticationEnabled": True,
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "tags": RECORD_TAGS,
}
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
RDS_CLUSTER_PROPS: dict[str, object] = {
    "engine": "aurora-postgresql",
    "engineVersion": "17.4",
    "clusterIdentifier": "tracking",
    "storageEncrypted": True,
    "kmsKeyId": KEY,
    "manageMasterUserPassword": True,
    "masterUserSecretKmsKeyId": KEY,
    "backupRetentionPeriod": 14,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "tracking-final",
    "iamDatabaseAuthenticationEnabled": True,
    "enabledCloudwatchLogsExports": ["postgresql"],
    "dbClusterParameterGroupName": "tracking-params",
    "tags": RECORD_TAGS,
}
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

RESOURCE_CASES: list[ResourceCase] = [
    ResourceCase(
        rule="aws-rds-instance-kms-encryption",
        type=RDS,
        props=RDS_INSTANCE,
        fails={
            "unencrypted": Fail({"storageEncrypted": False}, "is not encrypted at rest"),
            "aws-managed key": Fail({"kmsKeyId": DELETE}, "AWS-managed aws/rds key"),
            "secret under aws-managed key": Fail({"masterUserSecretKmsKeyId": DELETE}, "master user secret"),
            "insights under aws-managed key": Fail(
                {"performanceInsightsKmsKeyId": DELETE}, "Performance Insights data"
            ),
        },
        unknown={"storageEncrypted": UNKNOWN},
        passes={
            "no insights, own password": {
                "performanceInsightsEnabled": False,
                "manageMasterUserPassword": DELETE,
                "masterUserSecretKmsKeyId": DELETE,
                "performanceInsightsKmsKeyId": DELETE,
            }
        },
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-rds-instance-not-public",
        type=RDS,
        props=RDS_INSTANCE,
        fails={"public": Fail({"publiclyAccessible": True}, "is publicly accessible")},
        unknown={"publiclyAccessible": UNKNOWN},
        passes={"default": {"publiclyAccessible": DELETE}},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-rds-instance-backup-retention",
        type=RDS,
        props=RDS_INSTANCE,
        fails={
            "one day": Fail({"backupRetentionPeriod": 1}, "keeps backups for 1 days"),
            "backups off": Fail({"backupRetentionPeriod": 0}, "at least 7"),
            "default": Fail({"backupRetentionPeriod": DELETE}, "the default number of"),
        },
        unknown={"backupRetentionPeriod": UNKNOWN},
        passes={"a week": {"backupRetentionPeriod": 7}, "maximum": {"backupRetentionPeriod": 35}},
        not_applicable={"other type": VPC_ONLY},
        configs={
            "a ceiling below the backups rejects them": ConfigCase(
                {"maxRetentionDays": {"confidential": 10}}, passes=False
            ),
        },
    ),
    ResourceCase(
        rule="aws-rds-instance-deletion-protection",
        type=RDS,
        props=RDS_INSTANCE,
        fails={
            "unprotected": Fail({"deletionProtection": False}, "set deletion_protection=True"),
            "default": Fail({"deletionProtection": DELETE}, "set deletion_protection=True"),
            "no final snapshot": Fail({"skipFinalSnapshot": True}, "without a final snapshot"),
        },
        unknown={"deletionProtection": UNKNOWN},
        passes={"final snapshot by default": {"skipFinalSnapshot": DELETE}},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-rds-instance-not-public",
        variant="ClusterInstance",
        type="aws:rds/clusterInstance:ClusterInstance",
        props={"clusterIdentifier": "tracking", "engine": "aurora-postgresql", "publiclyAccessible": False},
        fails={"public": Fail({"publiclyAccessible": True}, "is publicly accessible")},
        unknown={"publiclyAccessible": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-rds-cluster-kms-encryption",
        type=RDS_CLUSTER,
        props=RDS_CLUSTER_PROPS,
        fails={
            "unencrypted by default": Fail({"storageEncrypted": DELETE}, "is not encrypted at rest"),
            "aws-managed key": Fail({"kmsKeyId": DELETE}, "AWS-managed aws/rds key"),
            "secret under aws-managed key": Fail({"masterUserSecretKmsKeyId": DELETE}, "master user secret"),
        },
        unknown={"storageEncrypted": UNKNOWN},
        not_applicable={"other type": VPC_ONLY, "an instance": (RDS, RDS_INSTANCE)},
    ),
    ResourceCase(
        rule="aws-rds-cluster-backup-retention",
        type=RDS_CLUSTER,
        props=RDS_CLUSTER_PROPS,
        fails={
            "default of one day": Fail({"backupRetentionPeriod": DELETE}, "the default number of"),
            "short": Fail({"backupRetentionPeriod": 3}, "keeps backups for 3 days"),
        },
        unknown={"backupRetentionPeriod": UNKNOWN},
        passes={"a week": {"backupRetentionPeriod": 7}},
        not_applicable={"other type": VPC_ONLY},
        configs={
            "a ceiling below the backups rejects them": ConfigCase(
                {"maxRetentionDays": {"confidential": 10}}, passes=False
            ),
        },
    ),
    ResourceCase(
        rule="aws-rds-cluster-deletion-protection",
        type=RDS_CLUSTER,
        props=RDS_CLUSTER_PROPS,
        fails={
            "default": Fail({"deletionProtection": DELETE}, "set deletion_protection=True"),
            "no final snapshot": Fail({"skipFinalSnapshot": True}, "without a final snapshot"),
        },
        unknown={"deletionProtection": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-rds-database-iam-authentication",
        type=RDS,
        props=RDS_INSTANCE,
        fails={
            "passwords only": Fail({"iamDatabaseAuthenticationEnabled": False}, "accepts only database passwords"),
            "default": Fail({"iamDatabaseAuthenticationEnabled": DELETE}, "iam_database_authentication_enabled=True"),
        },
        unknown={"iamDatabaseAuthenticationEnabled": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-rds-database-iam-authentication",
        variant="Cluster",
        type=RDS_CLUSTER,
        props=RDS_CLUSTER_PROPS,
        fails={"default": Fail({"iamDatabaseAuthenticationEnabled": DELETE}, "RDS cluster 'subject' accepts only")},
        unknown={"iamDatabaseAuthenticationEnabled": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-rds-database-log-exports",
        type=RDS,
        props=RDS_INSTANCE,
        fails={
            "no exports": Fail({"enabledCloudwatchLogsExports": DELETE}, "add 'postgresql'"),
            "upgrade log only": Fail({"enabledCloudwatchLogsExports": ["upgrade"]}, "on the database host only"),
        },
        unknown={"enabledCloudwatchLogsExports": UNKNOWN},
        passes={"an Aurora cluster": {"engine": "aurora-postgresql"}},
        not_applicable={"other type": VPC_ONLY, "another engine": (RDS, {**RDS_INSTANCE, "engine": "mysql"})},
    ),
    ResourceCase(
        rule="aws-backup-vault-kms-encryption",
        type="aws:backup/vault:Vault",
        props={"kmsKeyArn": KEY},
        fails={"no key": Fail({"kmsKeyArn": DELETE}, "AWS-managed backup key")},
        unknown={"kmsKeyArn": UNKNOWN},
        unknown_passes=True,
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-cloudtrail-trail-secure",
        type="aws:cloudtrail/trail:Trail",
        props={
            "s3BucketName": "audit-trail",
            "isMultiRegionTrail": True,
            "enableLogFileValidation": True,
            "kmsKeyId": KEY,
            "cloudWatchLogsGroupArn": "arn:aws:logs:eu-central-1:123456789012:log-group:trail:*",
        },
        fails={
            "single region": Fail({"isMultiRegionTrail": False}, "is_multi_region_trail=True"),
            "no validation": Fail({"enableLogFileValidation": DELETE}, "enable_log_file_validation=True"),
            "no key": Fail({"kmsKeyId": DELETE}, "no kms_key_id"),
            "no cloudwatch": Fail({"cloudWatchLogsGroupArn": DELETE}, "no cloud_watch_logs_group_arn"),
            "switched off": Fail({"enableLogging": False}, "switched off"),
        },
        unknown={"isMultiRegionTrail": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-cloudwatch-log-group-kms-encryption",
        type="aws:cloudwatch/logGroup:LogGroup",
        props={"kmsKeyId": KEY, "retentionInDays": 365.0},
        fails={"no key": Fail({"kmsKeyId": DELETE}, "not encrypted with a customer-managed key")},
        unknown={"kmsKeyId": UNKNOWN},
        unknown_passes=True,
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-cloudwatch-log-group-retention",
        type="aws:cloudwatch/logGroup:LogGroup",
        props={"kmsKeyId": KEY, "retentionInDays": 365.0},
        fails={
            "forever": Fail({"retentionInDays": DELETE}, "no explicit retention"),
            "zero means forever": Fail({"retentionInDays": 0.0}, "no explicit retention"),
            "too short": Fail({"retentionInDays": 30.0}, "less than minLogRetentionDays (90)"),
            "too long": Fail({"retentionInDays": 3653.0}, "more than maxLogRetentionDays (2192)"),
        },
        unknown={"retentionInDays": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
        configs={
            "a lower minimum admits 30 days": ConfigCase({"minLogRetentionDays": 30.0}, {"retentionInDays": 30.0}),
            "a lower maximum rejects a year": ConfigCase({"maxLogRetentionDays": 180}, passes=False),
        },
    ),
    ResourceCase(
        rule="aws-data-store-processing-record-tags",
        type="aws:s3/bucket:Bucket",
        props={"tags": RECORD_TAGS},
        fails={
            "no owner": Fail({"tags.data-owner": DELETE}, "data-owner"),
            "no tags": Fail({"tags": DELETE}, "data-classification, data-owner, processing-activity, retention"),
            "unknown class": Fail({"tags.data-classification": "secret"}, "use one of phi, pii"),
        },
        unknown={"tags": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-ebs-volume-kms-encrypted",
        type="aws:ebs/volume:Volume",
        props={"availabilityZone": "eu-central-1a", "size": 100.0, "encrypted": True, "kmsKeyId": KEY},
        fails={
            "unencrypted": Fail({"encrypted": False}, "is not encrypted"),
            "aws-managed key": Fail({"kmsKeyId": DELETE}, "AWS-managed EBS key"),
        },
        unknown={"encrypted": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-ec2-launch-template-ebs-encrypted",
        type="aws:ec2/launchTemplate:LaunchTemplate",
        props={
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY, "volumeSize": 200.0}}
            ]
        },
        fails={
            "unencrypted": Fail(
                {"blockDeviceMappings[0].ebs.encrypted": "false"}, "leaves EBS volume /dev/xvda unencrypted"
            ),
            "aws-managed key": Fail({"blockDeviceMappings[0].ebs.kmsKeyId": DELETE}, "AWS-managed key"),
            "no mappings": Fail({"blockDeviceMappings": []}, "declares no EBS block device mapping"),
        },
        unknown={"blockDeviceMappings[0].ebs.encrypted": UNKNOWN},
        passes={"boolean encrypted": {"blockDeviceMappings[0].ebs.encrypted": True}},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-ec2-launch-template-imdsv2",
        type="aws:ec2/launchTemplate:LaunchTemplate",
        props={
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1.0}
        },
        fails={
            "imdsv1": Fail({"metadataOptions.httpTokens": "optional"}, "allows IMDSv1"),
            "unset": Fail({"metadataOptions": DELETE}, "allows IMDSv1"),
            "pods reach metadata": Fail({"metadataOptions.httpPutResponseHopLimit": 2.0}, "hop limit 2"),
        },
        unknown={"metadataOptions.httpTokens": UNKNOWN},
        passes={"endpoint disabled": {"metadataOptions": {"httpEndpoint": "disabled"}}},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-ec2-launch-template-no-public-ip",
        type="aws:ec2/launchTemplate:LaunchTemplate",
        props={"networkInterfaces": [{"associatePublicIpAddress": "false", "deleteOnTermination": "true"}]},
        fails={"public ip": Fail({"networkInterfaces[0].associatePublicIpAddress": "true"}, "public IP")},
        unknown={"networkInterfaces[0].associatePublicIpAddress": UNKNOWN},
        passes={"no interfaces": {"networkInterfaces": DELETE}},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-ec2-launch-template-ebs-encrypted",
        variant="EC2NodeClass",
        type=EC2_NODE_CLASS,
        props=NODE_CLASS,
        fails={
            "unencrypted": Fail({f"{EBS}.encrypted": False}, "leaves EBS volume /dev/xvda unencrypted"),
            "encryption left to the account": Fail({f"{EBS}.encrypted": DELETE}, "ebs.encrypted=True"),
            "aws-managed key": Fail({f"{EBS}.kmsKeyID": DELETE}, "with the AWS-managed key; set ebs.kmsKeyID"),
            "karpenter's default volume": Fail(
                {"spec.blockDeviceMappings": DELETE}, "declares no EBS blockDeviceMappings"
            ),
            "no ebs mapping": Fail(
                {"spec.blockDeviceMappings": [{"deviceName": "/dev/xvdb"}]}, "encrypted only with the AWS-managed"
            ),
        },
        unknown={f"{EBS}.encrypted": UNKNOWN},
        passes={"key computed during preview": {f"{EBS}.kmsKeyID": UNKNOWN}},
        not_applicable={"node pool": NODE_POOL_ONLY},
    ),
    ResourceCase(
        rule="aws-ec2-launch-template-imdsv2",
        variant="EC2NodeClass",
        type=EC2_NODE_CLASS,
        props=NODE_CLASS,
        fails={
            "imdsv1": Fail({"spec.metadataOptions.httpTokens": "optional"}, "allows IMDSv1"),
            "pods reach metadata": Fail({"spec.metadataOptions.httpPutResponseHopLimit": 2.0}, "hop limit 2"),
        },
        unknown={"spec.metadataOptions.httpTokens": UNKNOWN},
        passes={
            "crd default (required, hop limit 1)": {"spec.metadataOptions": DELETE},
            "field defaults": {"spec.metadataOptions": {"httpEndpoint": "enabled"}},
            "endpoint disabled": {"spec.metadataOptions": {"httpEndpoint": "disabled", "httpTokens": "optional"}},
        },
        not_applicable={"node pool": NODE_POOL_ONLY},
    ),
    ResourceCase(
        rule="aws-ec2-launch-template-no-public-ip",
        variant="EC2NodeClass",
        type=EC2_NODE_CLASS,
        props=NODE_CLASS,
        fails={"public ip": Fail({"spec.associatePublicIPAddress": True}, "gives its nodes public IPs")},
        unknown={"spec.associatePublicIPAddress": UNKNOWN},
        passes={"left to the subnet": {"spec.associatePublicIPAddress": DELETE}},
        not_applicable={"node pool": NODE_POOL_ONLY},
    ),
    ResourceCase(
        rule="aws-ec2-security-group-no-public-ingress",
        type="aws:ec2/securityGroup:SecurityGroup",
        props={"ingress": [{"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrBlocks": ["10.0.0.0/16"]}]},
        fails={
            "open ipv4": Fail({"ingress[0].cidrBlocks": ["0.0.0.0/0"]}, "admits 0.0.0.0/0 on ports 443-443"),
            "open ipv6": Fail({"ingress[0].ipv6CidrBlocks": ["::/0"]}, "admits ::/0"),
            "public lb on ssh": Fail(
                {
                    "tags": {"mlplatform.io/purpose": "public-load-balancer"},
                    "ingress[0].cidrBlocks": ["0.0.0.0/0"],
                    "ingress[0].fromPort": 22.0,
                    "ingress[0].toPort": 22.0,
                },
                "ports 22-22",
            ),
            "a purpose tag does not open 443 to the internet": Fail(
                {"tags": {"mlplatform.io/purpose": "public-load-balancer"}, "ingress[0].cidrBlocks": ["0.0.0.0/0"]},
                "admits 0.0.0.0/0 on ports 443-443",
            ),
            "two halves of the internet": Fail(
                {"ingress[0].cidrBlocks": ["0.0.0.0/1", "128.0.0.0/1"]}, "admits 0.0.0.0/1, 128.0.0.0/1"
            ),
        },
        unknown={"ingress[0].cidrBlocks": UNKNOWN},
        passes={"shared address space": {"ingress[0].cidrBlocks": ["100.64.0.0/10"]}},
        not_applicable={"other type": VPC_ONLY},
        configs={
            "a looser prefix limit admits a public /8": ConfigCase(
                {"publicCidrLimits": {"ipv4": 8}}, {"ingress[0].cidrBlocks": ["1.0.0.0/8"]}
            ),
            "the default limit rejects a public /8": ConfigCase(
                {}, {"ingress[0].cidrBlocks": ["1.0.0.0/8"]}, passes=False
            ),
        },
    ),
    ResourceCase(
        rule="aws-ecr-replication-region-allowed",
        type="aws:ecr/replicationConfiguration:ReplicationConfiguration",
        props={
            "replicationConfiguration": {
                "rules": [{"destinations": [{"region": "eu-west-1", "registryId": "123456789012"}]}]
            }
        },
        fails={
            "us replica": Fail(
                {"replicationConfiguration.rules[0].destinations[0].region": "us-east-1"}, "copies images to us-east-1"
            )
        },
        unknown={"replicationConfiguration.rules[0].destinations[0].region": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
        configs={"a narrower allow-list": ConfigCase({"allowedRegions": ["eu-central-1"]}, passes=False)},
    ),
    ResourceCase(
        rule="aws-ecr-repository-immutable-tags",
        type="aws:ecr/repository:Repository",
        props={"imageTagMutability": "IMMUTABLE"},
        fails={
            "mutable": Fail(
                {"imageTagMutability": "MUTABLE"}, "allows mutable tags; set image_tag_mutability='IMMUTABLE'"
            ),
            "aws default": Fail({"imageTagMutability": DELETE}, "allows mutable tags"),
        },
        unknown={"imageTagMutability": UNKNOWN},
        passes={"with exclusions": {"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-ecr-repository-kms-encryption",
        type="aws:ecr/repository:Repository",
        props={"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY}], "tags": RECORD_TAGS},
        fails={
            "aes default": Fail({"encryptionConfigurations": DELETE}, "default AES256 encryption"),
            "aes": Fail({"encryptionConfigurations[0].encryptionType": "AES256"}, "uses AES256 encryption"),
            "aws-managed key": Fail({"encryptionConfigurations[0].kmsKey": DELETE}, "AWS-managed ECR key"),
        },
        unknown={"encryptionConfigurations[0].encryptionType": UNKNOWN},
        not_applicable={
            "phi repository": (
                "aws:ecr/repository:Repository",
                {"tags": {**RECORD_TAGS, "data-classification": "phi"}},
            ),
            "other type": VPC_ONLY,
        },
    ),
    ResourceCase(
        rule="aws-ecr-repository-phi-kms-encryption",
        type="aws:ecr/repository:Repository",
        props={
            "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY}],
            "tags": {**RECORD_TAGS, "data-classification": "phi"},
        },
        fails={"aes default": Fail({"encryptionConfigurations": DELETE}, "default AES256 encryption")},
        unknown={"tags": UNKNOWN},
        not_applicable={"non-phi repository": ("aws:ecr/repository:Repository", {"tags": RECORD_TAGS})},
    ),
    ResourceCase(
        rule="aws-ecr-repository-policy-no-public-access",
        type="aws:ecr/repositoryPolicy:RepositoryPolicy",
        props={
            "repository": "models",
            "policy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": ["ecr:BatchGetImage"],
                }
            ),
        },
        fails={
            "anyone": Fail(
                {"policy": document({"Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]})},
                "lets anyone pull or push",
            )
        },
        unknown={"policy": UNKNOWN},
        passes={
            "organization only": {
                "policy": document(
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["ecr:BatchGetImage"],
                        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                    }
                )
            }
        },
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-eks-access-policy-cluster-admin-restricted",
        type="aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        props={
            "clusterName": "prod",
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "principalArn": ROLE,
            "accessScope": {"type": "namespace", "namespaces": ["fraud-detection"]},
        },
        fails={"cluster admin": Fail({"accessScope": {"type": "cluster"}}, f"makes {ROLE} a cluster admin")},
        unknown={"accessScope": {"type": "cluster"}, "principalArn": UNKNOWN},
        passes={
            "view policy": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                "accessScope": {"type": "cluster"},
            }
        },
        not_applicable={"other type": VPC_ONLY},
        configs={
            "allow-listed admins": ConfigCase(
                {"clusterAdminPrincipals": [r"arn:aws:iam::\d{12}:role/platform-admins"]},
                {"accessScope": {"type": "cluster"}},
            )
        },
    ),
    ResourceCase(
        rule="aws-eks-cluster-api-authentication",
        type="aws:eks/cluster:Cluster",
        props={"accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}},
        fails={
            "config map": Fail(
                {"accessConfig.authenticationMode": "API_AND_CONFIG_MAP"}, "aws-auth ConfigMap (API_AND_CONFIG_MAP)"
            ),
            "creator admin": Fail({"accessConfig.bootstrapClusterCreatorAdminPermissions": DELETE}, "permanent admin"),
        },
        unknown={"accessConfig.authenticationMode": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-eks-cluster-control-plane-logging",
        type="aws:eks/cluster:Cluster",
        props={"enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
        fails={
            "api only": Fail({"enabledClusterLogTypes": ["api"]}, "does not log audit, authenticator"),
            "none": Fail({"enabledClusterLogTypes": DELETE}, "does not log api, audit, authenticator"),
        },
        unknown={"enabledClusterLogTypes": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-eks-cluster-private-endpoint",
        type="aws:eks/cluster:Cluster",
        props={
            "vpcConfig": {
                "subnetIds": ["subnet-1", "subnet-2"],
                "endpointPrivateAccess": True,
                "endpointPublicAccess": False,
            }
        },
        fails={
            "aws default is public": Fail(
                {"vpcConfig.endpointPublicAccess": DELETE}, "exposes its API endpoint to the internet"
            ),
            "open to all": Fail(
                {"vpcConfig.endpointPublicAccess": True, "vpcConfig.publicAccessCidrs": ["0.0.0.0/0"]},
                "endpoint_public_access=False",
            ),
            "no private endpoint": Fail({"vpcConfig.endpointPrivateAccess": False}, "no private API endpoint"),
        },
        unknown={"vpcConfig.endpointPublicAccess": UNKNOWN},
        passes={
            "public for a vpn range": {
                "vpcConfig.endpointPublicAccess": True,
                "vpcConfig.publicAccessCidrs": ["203.0.113.0/24"],
            }
        },
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-eks-cluster-secrets-encryption",
        type="aws:eks/cluster:Cluster",
        props={"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY}}},
        fails={
            "no encryption": Fail({"encryptionConfig": DELETE}, "does not encrypt Kubernetes secrets with KMS"),
            "no key": Fail({"encryptionConfig.provider": DELETE}, "no KMS key"),
        },
        unknown={"encryptionConfig.resources": UNKNOWN},
        passes={"key computed during preview": {"encryptionConfig.provider.keyArn": UNKNOWN}},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-eks-node-group-gpu-taint",
        type="aws:eks/nodeGroup:NodeGroup",
        props={
            "clusterName": "prod",
            "amiType": "AL2023_x86_64_NVIDIA",
            "instanceTypes": ["g5.2xlarge"],
            "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
        },
        fails={
            "untainted": Fail({"taints": DELETE}, "has no nvidia.com/gpu NO_SCHEDULE taint"),
            "wrong effect": Fail({"taints[0].effect": "PREFER_NO_SCHEDULE"}, "nvidia.com/gpu NO_SCHEDULE"),
            "gpu by instance type": Fail({"amiType": DELETE, "taints": DELETE}, "EKS GPU node group"),
        },
        unknown={"taints": UNKNOWN},
        not_applicable={
            "cpu pool": (
                "aws:eks/nodeGroup:NodeGroup",
                {"amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["m6i.xlarge"]},
            )
        },
    ),
    ResourceCase(
        rule="aws-eks-node-group-gpu-taint",
        variant="Karpenter NodePool",
        type=NODE_POOL,
        props=GPU_NODE_POOL,
        fails={
            "untainted": Fail({"spec.template.spec.taints": DELETE}, "has no nvidia.com/gpu NoSchedule taint"),
            "startup taint only": Fail(
                {
                    "spec.template.spec.taints": DELETE,
                    "spec.template.spec.startupTaints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
                },
                "spec.template.spec.taints",
            ),
            "prefer only": Fail({"spec.template.spec.taints[0].effect": "PreferNoSchedule"}, "NoSchedule taint"),
            "gpu by family": Fail(
                {
                    "spec.template.spec.taints": DELETE,
                    REQUIREMENT: {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["g6e"]},
                },
                "Karpenter GPU NodePool 'subject'",
            ),
            "gpu by count": Fail(
                {
                    "spec.template.spec.taints": DELETE,
                    REQUIREMENT: {"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "Gt", "values": ["0"]},
                },
                "has no nvidia.com/gpu NoSchedule taint",
            ),
            "gpu by label": Fail(
                {
                    "spec.template.spec.taints": DELETE,
                    REQUIREMENT: {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]},
                    'spec.template.metadata.labels["nvidia.com/gpu.present"]': "true",
                },
                "has no nvidia.com/gpu NoSchedule taint",
            ),
            "one gpu type among cpu types": Fail(
                {"spec.template.spec.taints": DELETE, f"{REQUIREMENT}.values": ["m6i.xlarge", "g5.xlarge"]},
                "has no nvidia.com/gpu NoSchedule taint",
            ),
        },
        unknown={"spec.template.spec.taints": UNKNOWN},
        not_applicable={
            "cpu pool": (
                NODE_POOL,
                {
                    "spec": {
                        "template": {
                            "spec": {
                                "requirements": [
                                    {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["m6i"]}
                                ]
                            }
                        }
                    }
                },
            )
        },
    ),
    ResourceCase(
        rule="aws-eks-node-group-ssh-restricted",
        type="aws:eks/nodeGroup:NodeGroup",
        props={"clusterName": "prod", "instanceTypes": ["m6i.xlarge"]},
        fails={"ssh from anywhere": Fail({"remoteAccess": {"ec2SshKey": "ops"}}, "allows SSH from 0.0.0.0/0")},
        unknown={"remoteAccess": {"ec2SshKey": "ops", "sourceSecurityGroupIds": UNKNOWN}},
        passes={
            "ssh from a bastion group": {"remoteAccess": {"ec2SshKey": "ops", "sourceSecurityGroupIds": ["sg-bastion"]}}
        },
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-iam-no-user-credentials",
        type="aws:iam/accessKey:AccessKey",
        props={"user": "ci"},
        fails={"user policy": Fail({}, "AccessKey 'subject' gives an IAM user long-lived permissions")},
        unknown={"user": UNKNOWN},
        always_fails=True,
        not_applicable={"role": ("aws:iam/role:Role", {"assumeRolePolicy": "{}"})},
    ),
    ResourceCase(
        rule="aws-iam-policy-no-admin-access",
        type="aws:iam/policy:Policy",
        props={
            "policy": document({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::models/*"})
        },
        fails={
            "action star": Fail(
                {"policy": document({"Effect": "Allow", "Action": "*", "Resource": "*"})}, "allows Action '*'"
            ),
            "service star": Fail(
                {"policy": document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})},
                "Action 's3:*' on Resource '*'",
            ),
        },
        unknown={"policy": UNKNOWN},
        passes={"deny star": {"policy": document({"Effect": "Deny", "Action": "*", "Resource": "*"})}},
        not_applicable={"other type": VPC_ONLY},
        configs={
            "service wildcards allowed": ConfigCase(
                {"denyServiceWildcards": False},
                {"policy": document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})},
            )
        },
    ),
    ResourceCase(
        rule="aws-kms-key-deletion-window",
        type="aws:kms/key:Key",
        props={"deletionWindowInDays": 30.0},
        fails={"short window": Fail({"deletionWindowInDays": 7.0}, "can be deleted after 7 days")},
        unknown={"deletionWindowInDays": UNKNOWN},
        passes={"aws default 30 days": {"deletionWindowInDays": DELETE}},
        not_applicable={"other type": VPC_ONLY},
        configs={"a 7-day minimum": ConfigCase({"minDeletionWindowDays": 7}, {"deletionWindowInDays": 7.0})},
    ),
    ResourceCase(
        rule="aws-kms-key-policy-restricted",
        type="aws:kms/key:Key",
        props={
            "policy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            )
        },
        fails={
            "default policy": Fail({"policy": DELETE}, "uses the default key policy"),
            "anyone": Fail(
                {
                    "policy": document(
                        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}
                    )
                },
                "allows any principal",
            ),
            "lockout bypass": Fail(
                {"bypassPolicyLockoutSafetyCheck": True}, "bypasses the policy lockout safety check"
            ),
        },
        unknown={"policy": UNKNOWN},
        passes={
            "anyone in the account": {
                "policy": document(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "kms:Decrypt",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"kms:CallerAccount": "123456789012"}},
                    }
                )
            }
        },
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-kms-key-rotation-enabled",
        type="aws:kms/key:Key",
        props={"enableKeyRotation": True, "rotationPeriodInDays": 365.0},
        fails={
            "no rotation": Fail(
                {"enableKeyRotation": False}, "does not rotate automatically; set enable_key_rotation=True"
            ),
            "unset": Fail({"enableKeyRotation": DELETE}, "does not rotate automatically"),
            "slow rotation": Fail({"rotationPeriodInDays": 730.0}, "rotates every 730 days"),
        },
        unknown={"enableKeyRotation": UNKNOWN},
        not_applicable={"asymmetric key": ("aws:kms/key:Key", {"customerMasterKeySpec": "RSA_2048"})},
    ),
    ResourceCase(
        rule="aws-region-allowed",
        type="aws:s3/bucket:Bucket",
        props={"region": "eu-central-1"},
        fails={
            "us region": Fail({"region": "us-east-1"}, "is in us-east-1, outside the allowed regions"),
            "us provider": Fail({"region": DELETE}, "is in us-west-2"),
        },
        unknown={"region": UNKNOWN},
        provider={"region": "us-west-2"},
        not_applicable={"azure resource": ("azure-native:storage:StorageAccount", {"location": "eastus"})},
        configs={"a US allow-list": ConfigCase({"allowedRegions": ["us-east-1"]}, {"region": "us-east-1"})},
    ),
    ResourceCase(
        rule="aws-sqs-queue-encrypted",
        type=SQS_QUEUE,
        props={"name": "prod-karpenter", "messageRetentionSeconds": 300.0, "sqsManagedSseEnabled": True},
        fails={
            "sse off": Fail({"sqsManagedSseEnabled": False}, "turns server-side encryption off"),
            "left to the aws default": Fail(
                {"sqsManagedSseEnabled": DELETE}, "does not declare server-side encryption"
            ),
        },
        unknown={"sqsManagedSseEnabled": UNKNOWN},
        passes={
            "sse-kms": {"sqsManagedSseEnabled": DELETE, "kmsMasterKeyId": KEY},
            "key computed during preview": {"sqsManagedSseEnabled": DELETE, "kmsMasterKeyId": UNKNOWN},
        },
        not_applicable={"queue policy": (SQS_QUEUE_POLICY, {"queueUrl": QUEUE_URL, "policy": document(DENY_HTTP)})},
    ),
    ResourceCase(
        rule="aws-sqs-queue-policy-no-public-access",
        type=SQS_QUEUE_POLICY,
        props={"queueUrl": QUEUE_URL, "policy": document(EVENTS_MAY_SEND, DENY_HTTP)},
        fails={
            "anyone": Fail({"policy": document(ANYONE_MAY_SEND, DENY_HTTP)}, "lets any principal ('*') use the queue"),
            "a condition that names no caller": Fail(
                {"policy": document({**ANYONE_MAY_SEND, "Condition": {"Bool": {"aws:SecureTransport": "true"}}})},
                "add a Condition on aws:SourceArn",
            ),
            "any aws principal": Fail(
                {"policy": document({**ANYONE_MAY_SEND, "Principal": {"AWS": ["*"]}})}, "lets any principal"
            ),
        },
        unknown={"policy": UNKNOWN},
        passes={
            "only this rule may send": {
                "policy": document(
                    {
                        **ANYONE_MAY_SEND,
                        "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:eu-central-1:1:rule/spot"}},
                    }
                )
            },
            "policy document object": {"policy": {"Version": "2012-10-17", "Statement": [EVENTS_MAY_SEND]}},
        },
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-sqs-queue-policy-no-public-access",
        variant="inline queue policy",
        type=SQS_QUEUE,
        props={"name": "prod-karpenter", "sqsManagedSseEnabled": True, "policy": document(EVENTS_MAY_SEND)},
        fails={"anyone": Fail({"policy": document(ANYONE_MAY_SEND)}, "SQS queue 'subject' lets any principal")},
        unknown={"policy": UNKNOWN},
        passes={"no policy (owner only)": {"policy": DELETE}},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-s3-bucket-no-public-acl",
        type="aws:s3/bucket:Bucket",
        props={"acl": "private"},
        fails={
            "public read": Fail({"acl": "public-read"}, "public canned ACL 'public-read'"),
            "grant to everyone": Fail(
                {
                    "grants": [
                        {
                            "type": "Group",
                            "uri": "http://acs.amazonaws.com/groups/global/AllUsers",
                            "permissions": ["READ"],
                        }
                    ]
                },
                "grants access to AllUsers",
            ),
        },
        unknown={"acl": UNKNOWN},
        passes={"no acl": {"acl": DELETE}},
        not_applicable={"other type": VPC_ONLY},
    ),
    ResourceCase(
        rule="aws-s3-bucket-owner-enforced",
        type="aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        props={"bucket": "models", "rule": {"objectOwnership": "BucketOwnerEnforced"}},
        fails={"acls on": Fail({"rule.objectOwnership": "ObjectWriter"}, "keep ACLs active (ObjectWriter)")},
        unknown={"rule.objectOwnership": UNKNOWN},
        not_applicable={"other type": VPC_ONLY},
    ),
]


# --- Stack rules -----------------------------------------------------------------------------------------

BUCKET = "aws:s3/bucket:Bucket"
PHI_TAGS = {**RECORD_TAGS, "data-classification": "phi", "retention": "2190d"}
LOG_TAGS = {**RECORD_TAGS, "data-classification": "internal", "mlplatform.io/purpose": "access-logs"}


def bucket(name: str, tags: dict[str, str] | None = None, **props: object) -> Res:
    """An S3 bucket with a physical name equal to its logical name."""
    return Res(BUCKET, name, {"bucket": name, "tags": tags or PHI_TAGS, **props})


def on_bucket(type_token: str, name: str, target: str, props: dict[str, object], **deps: list[str]) -> Res:
    """A separate S3 configuration resource joined to `target` through its `bucket` input."""
    return Res(type_token, name, {"bucket": f"{target}-id", **props}, {"bucket": [target], **deps})


SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
KMS_RULES = [
    {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}, "bucketKeyEnabled": True}
]
AES_RULES = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"


def tls_policy(bucket_name: str) -> str:
    """A TLS-only bucket policy."""
    arn = f"arn:aws:s3:::{bucket_name}"
    return document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


NO_BUCKETS = drop("data", "logs", "data-replica")
LOG_TARGET = on_bucket(
    LOGGING, "data-logging", "data", {"targetBucket": "logs-id", "targetPrefix": "data/"}, targetBucket=["logs"]
)


def lifecycle(days: float, noncurrent: float | None = 30.0) -> list[dict[str, object]]:
    """A whole-bucket lifecycle rule."""
    rule: dict[str, object] = {"id": "retention", "status": "Enabled", "filter": {}, "expiration": {"days": days}}
    if noncurrent is not None:
        rule["noncurrentVersionExpiration"] = {"noncurrentDays": noncurrent}
    return [rule]


SELECTION = "aws:backup/selection:Selection"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ENCRYPTED_TEMPLATE = {
    "name": "gpu-nodes",
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY}}],
}
REPOSITORY = "aws:ecr/repository:Repository"


def ecr_lifecycle_policy(days: int) -> str:
    """An ECR lifecycle policy expiring untagged images after a week and every image after `days`."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 7,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "selection": {
                        "tagStatus": "any",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": days,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


ECR_LIFECYCLE = ecr_lifecycle_policy(365)

STACK_CASES: list[StackCase] = [
    StackCase(
        rule="aws-rds-postgres-tls-enforced",
        resources=[
            Res(
                RDS_PARAMETER_GROUP,
                "mlflow-params",
                {
                    "family": "postgres17",
                    "name": "mlflow-params-1234",
                    "parameters": [
                        {"name": "log_connections", "value": "1"},
                        {"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"},
                    ],
                },
            ),
            Res(
                RDS,
                "mlflow",
                {**RDS_INSTANCE, "parameterGroupName": "mlflow-params-1234"},
                {"parameterGroupName": ["mlflow-params"]},
            ),
        ],
        fails={
            "force_ssl off": StackFail(
                change("mlflow-params", {"parameters[1].value": "0"}), "mlflow", "accepts unencrypted connections"
            ),
            "force_ssl left at the default of an old version": StackFail(
                then(
                    change("mlflow-params", {"parameters": [{"name": "log_connections", "value": "1"}]}),
                    change("mlflow", {"engineVersion": "14.12"}),
                ),
                "mlflow",
                "does not set rds.force_ssl=1",
            ),
            "default group before 15": StackFail(
                change("mlflow", {"parameterGroupName": DELETE, "engineVersion": "14.12"}),
                "mlflow",
                "uses the default parameter group",
            ),
            "group outside the stack": StackFail(
                then(drop("mlflow-params"), change("mlflow", {"parameterGroupName": "shared-params"})),
                "mlflow",
                "not in the stack",
            ),
        },
        unknown=change("mlflow-params", {"parameters[1].value": UNKNOWN}),
        passes={
            "default group from 15": change("mlflow", {"parameterGroupName": DELETE}),
        },
        not_applicable=then(drop("mlflow"), add(Res(RDS, "mysql", {**RDS_INSTANCE, "engine": "mysql"}))),
    ),
    StackCase(
        rule="aws-rds-cluster-postgres-tls-enforced",
        resources=[
            Res(
                RDS_CLUSTER_PARAMETER_GROUP,
                "tracking-params",
                {
                    "family": "aurora-postgresql17",
                    "name": "tracking-params",
                    "parameters": [{"name": "rds.force_ssl", "value": "1"}],
                },
            ),
            Res(RDS_CLUSTER, "tracking", RDS_CLUSTER_PROPS, {"dbClusterParameterGroupName": ["tracking-params"]}),
        ],
        fails={
            "force_ssl off": StackFail(
                change("tracking-params", {"parameters[0].value": "0"}), "tracking", "accepts unencrypted connections"
            ),
            "default group": StackFail(
                then(drop("tracking-params"), change("tracking", {"dbClusterParameterGroupName": DELETE})),
                "tracking",
                "uses the default cluster parameter group",
            ),
            "group outside the stack": StackFail(
                then(drop("tracking-params"), change("tracking", {"dbClusterParameterGroupName": "shared"})),
                "tracking",
                "not in the stack",
            ),
        },
        unknown=change("tracking-params", {"parameters[0].value": UNKNOWN}),
        passes={"joined by name only": then(drop("tracking"), add(Res(RDS_CLUSTER, "tracking", RDS_CLUSTER_PROPS)))},
        not_applicable=then(
            drop("tracking"), add(Res(RDS_CLUSTER, "mysql", {**RDS_CLUSTER_PROPS, "engine": "aurora-mysql"}))
        ),
    ),
    StackCase(
        rule="aws-rds-database-log-group-declared",
        resources=[
            Res(LOG_GROUP, "mlflow-postgresql-logs", {"name": "/aws/rds/instance/mlflow/postgresql", "kmsKeyId": KEY}),
            Res(LOG_GROUP, "mlflow-upgrade-logs", {"name": "/aws/rds/instance/mlflow/upgrade", "kmsKeyId": KEY}),
            Res(RDS, "mlflow", RDS_INSTANCE),
            Res(LOG_GROUP, "tracking-logs", {"name": "/aws/rds/cluster/tracking/postgresql", "kmsKeyId": KEY}),
            Res(RDS_CLUSTER, "tracking", RDS_CLUSTER_PROPS),
        ],
        fails={
            "log group left to RDS": StackFail(
                drop("mlflow-upgrade-logs"), "mlflow", "exports its upgrade log to /aws/rds/instance/mlflow/upgrade"
            ),
            "cluster log group left to RDS": StackFail(
                drop("tracking-logs"), "tracking", "/aws/rds/cluster/tracking/postgresql"
            ),
            "renamed instance": StackFail(change("mlflow", {"identifier": "mlflow-2"}), "mlflow", "never expiring"),
        },
        unknown=change("mlflow", {"identifier": UNKNOWN}),
        passes={
            "no exports": then(
                drop("mlflow-postgresql-logs", "mlflow-upgrade-logs"),
                change("mlflow", {"enabledCloudwatchLogsExports": []}),
            )
        },
        not_applicable=drop("mlflow", "tracking"),
    ),
    StackCase(
        rule="aws-s3-bucket-kms-encryption",
        resources=[
            bucket("data"),
            bucket("logs", LOG_TAGS),
            on_bucket(SSE, "data-sse", "data", {"rules": KMS_RULES}),
            on_bucket(SSE, "logs-sse", "logs", {"rules": AES_RULES}),
            LOG_TARGET,
        ],
        fails={
            "no encryption": StackFail(drop("data-sse"), "data", "has no default encryption configuration"),
            "sse-s3": StackFail(change("data-sse", {"rules": AES_RULES}), "data", "uses SSE-S3 (AES256)"),
            "aws-managed key": StackFail(
                change("data-sse", {"rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId": "alias/aws/s3"}),
                "data",
                "without a customer-managed key",
            ),
            "log bucket that is no log target": StackFail(drop("data-logging"), "logs", "uses SSE-S3 (AES256)"),
        },
        unknown=change("data-sse", {"rules[0].applyServerSideEncryptionByDefault.sseAlgorithm": UNKNOWN}),
        passes={
            "inline legacy encryption": then(
                drop("data-sse"),
                change(
                    "data",
                    {
                        "serverSideEncryptionConfiguration": {
                            "rule": {
                                "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}
                            }
                        }
                    },
                ),
            ),
            "key computed during preview": change(
                "data-sse", {"rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId": UNKNOWN}
            ),
            "an SSE-S3 log target with no tag at all (recognised by structure)": change("logs", {"tags": DELETE}),
        },
        not_applicable=NO_BUCKETS,
    ),
    StackCase(
        rule="aws-s3-bucket-tls-only-policy",
        resources=[
            bucket("data"),
            on_bucket("aws:s3/bucketPolicy:BucketPolicy", "data-policy", "data", {"policy": tls_policy("data")}),
        ],
        fails={
            "no policy": StackFail(drop("data-policy"), "data", "has no bucket policy"),
            "no tls statement": StackFail(
                change(
                    "data-policy",
                    {
                        "policy": document(
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:DeleteBucket",
                                "Resource": "arn:aws:s3:::data",
                            }
                        )
                    },
                ),
                "data",
                "without a TLS-only statement",
            ),
        },
        unknown=change("data-policy", {"policy": UNKNOWN}),
        not_applicable=drop("data", "data-policy"),
    ),
    StackCase(
        rule="aws-sqs-queue-tls-only-policy",
        resources=[
            Res(SQS_QUEUE, "interruption", {"name": "prod-karpenter", "sqsManagedSseEnabled": True}),
            Res(
                SQS_QUEUE_POLICY,
                "interruption-policy",
                {"queueUrl": QUEUE_URL, "policy": document(EVENTS_MAY_SEND, DENY_HTTP)},
                {"queueUrl": ["interruption"]},
            ),
        ],
        fails={
            "no policy": StackFail(drop("interruption-policy"), "interruption", "has no queue policy"),
            "no tls statement": StackFail(
                change("interruption-policy", {"policy": document(EVENTS_MAY_SEND)}),
                "interruption",
                "without a TLS-only statement",
            ),
            "deny for one action only": StackFail(
                change("interruption-policy", {"policy": document({**DENY_HTTP, "Action": "sqs:ReceiveMessage"})}),
                "interruption",
                "without a TLS-only statement",
            ),
            "policy of another queue": StackFail(
                lambda resources: [
                    r
                    if r.name != "interruption-policy"
                    else Res(r.type, r.name, {**r.props, "queueUrl": "https://x/other"})
                    for r in resources
                ],
                "interruption",
                "has no queue policy",
            ),
        },
        unknown=change("interruption-policy", {"policy": UNKNOWN}),
        passes={
            "joined by queue url": lambda resources: [
                r if r.name != "interruption-policy" else Res(r.type, r.name, r.props) for r in resources
            ],
            "boolean condition as in Karpenter's template": change(
                "interruption-policy",
                {
                    "policy": document(
                        EVENTS_MAY_SEND, {**DENY_HTTP, "Condition": {"Bool": {"aws:SecureTransport": False}}}
                    )
                },
            ),
            "inline queue policy": then(
                drop("interruption-policy"), change("interruption", {"policy": document(DENY_HTTP)})
            ),
        },
        not_applicable=drop("interruption", "interruption-policy"),
    ),
    StackCase(
        rule="aws-s3-bucket-public-access-blocked",
        resources=[
            bucket("data"),
            on_bucket(
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "data-pab",
                "data",
                {
                    "blockPublicAcls": True,
                    "blockPublicPolicy": True,
                    "ignorePublicAcls": True,
                    "restrictPublicBuckets": True,
                },
            ),
        ],
        fails={
            "no block": StackFail(drop("data-pab"), "data", "has no public access block"),
            "policy allowed": StackFail(
                change("data-pab", {"blockPublicPolicy": False}), "data", "set block_public_policy=True"
            ),
        },
        unknown=change("data-pab", {"restrictPublicBuckets": UNKNOWN}),
        not_applicable=drop("data", "data-pab"),
    ),
    StackCase(
        rule="aws-s3-bucket-versioning-enabled",
        resources=[
            bucket("data"),
            on_bucket(VERSIONING, "data-versioning", "data", {"versioningConfiguration": {"status": "Enabled"}}),
        ],
        fails={
            "unversioned": StackFail(drop("data-versioning"), "data", "does not keep object versions"),
            "suspended": StackFail(
                change("data-versioning", {"versioningConfiguration.status": "Suspended"}), "data", "does not keep"
            ),
        },
        unknown=change("data-versioning", {"versioningConfiguration.status": UNKNOWN}),
        passes={
            "inline legacy versioning": then(drop("data-versioning"), change("data", {"versioning": {"enabled": True}}))
        },
        not_applicable=drop("data", "data-versioning"),
    ),
    StackCase(
        rule="aws-s3-bucket-access-logging",
        resources=[bucket("data"), bucket("logs", LOG_TAGS), LOG_TARGET],
        fails={
            "no logging": StackFail(drop("data-logging"), "data", "has no server access logging"),
            "logs into itself": StackFail(
                lambda resources: (
                    [r for r in resources if r.name != "data-logging"]
                    + [on_bucket(LOGGING, "data-logging", "data", {"targetBucket": "data-id"}, targetBucket=["data"])]
                ),
                "data",
                "does not deliver its access logs to a separate bucket",
            ),
        },
        unknown=change("data-logging", {"targetBucket": UNKNOWN}),
        unknown_passes=True,
        passes={
            "legacy inline logging": then(drop("data-logging"), change("data", {"logging": {"targetBucket": "logs"}}))
        },
        not_applicable=drop("data", "logs", "data-logging"),
    ),
    StackCase(
        rule="aws-s3-bucket-lifecycle-retention",
        resources=[
            bucket("data"),
            bucket("logs", LOG_TAGS),
            LOG_TARGET,
            on_bucket(VERSIONING, "data-versioning", "data", {"versioningConfiguration": {"status": "Enabled"}}),
            on_bucket(LIFECYCLE, "data-lifecycle", "data", {"rules": lifecycle(2190.0)}),
            on_bucket(LIFECYCLE, "logs-lifecycle", "logs", {"rules": lifecycle(365.0, None)}),
        ],
        fails={
            "forever": StackFail(drop("data-lifecycle"), "data", "keeps objects forever"),
            "over the ceiling": StackFail(
                change("data-lifecycle", {"rules": lifecycle(3000.0)}), "data", "over the 2190-day ceiling"
            ),
            "disabled rule": StackFail(
                change("data-lifecycle", {"rules[0].status": "Disabled"}), "data", "keeps objects forever"
            ),
            "prefix rule only": StackFail(
                change("data-lifecycle", {"rules[0].filter": {"prefix": "tmp/"}}), "data", "keeps objects forever"
            ),
            "old versions kept": StackFail(
                change("data-lifecycle", {"rules": lifecycle(2190.0, None)}), "data", "keeps old versions"
            ),
            "pii ceiling": StackFail(
                change("data", {"tags.data-classification": "pii"}), "data", "over the 1095-day ceiling"
            ),
            "logs too short": StackFail(
                change("logs-lifecycle", {"rules": lifecycle(30.0, None)}), "logs", "at least 90 days"
            ),
        },
        unknown=change("data-lifecycle", {"rules": UNKNOWN}),
        not_applicable=drop("data", "logs", "data-logging", "data-versioning", "data-lifecycle", "logs-lifecycle"),
        configs={
            "a lower phi ceiling": StackConfigCase({"maxRetentionDays": {"phi": 365}}, passes=False),
            "a shorter minimum for logs": StackConfigCase(
                {"minLogRetentionDays": 30}, change("logs-lifecycle", {"rules": lifecycle(30.0, None)})
            ),
        },
    ),
    StackCase(
        rule="aws-s3-bucket-replication",
        resources=[
            bucket("data"),
            bucket("data-replica", {**PHI_TAGS}),
            on_bucket(
                "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
                "data-replication",
                "data",
                {
                    "role": ROLE,
                    "rules": [{"status": "Enabled", "destination": {"bucket": "arn:aws:s3:::data-replica"}}],
                },
                rules=["data-replica"],
            ),
            Res(
                SELECTION,
                "replica-backup",
                {"resources": ["arn:aws:s3:::data-replica"], "planId": "p", "iamRoleArn": ROLE},
            ),
        ],
        fails={"no replica": StackFail(drop("data-replication"), "data", "without a replica or backup")},
        unknown=change("data-replication", {"rules": UNKNOWN}),
        passes={
            "backed up instead": then(
                drop("data-replication"), add(Res(SELECTION, "data-backup", {"resources": ["arn:aws:s3:::data"]}))
            )
        },
        not_applicable=then(change("data", {"tags": RECORD_TAGS}), change("data-replica", {"tags": RECORD_TAGS})),
    ),
    StackCase(
        rule="aws-backup-phi-data-store-covered",
        resources=[
            bucket("data"),
            Res("aws:ebs/volume:Volume", "cache", {"encrypted": True, "tags": PHI_TAGS}),
            Res(SELECTION, "phi-backup", {"resources": ["arn:aws:s3:::data"], "planId": "p"}, {"resources": ["data"]}),
            Res(
                SELECTION,
                "tagged-backup",
                {"selectionTags": [{"type": "STRINGEQUALS", "key": "data-classification", "value": "phi"}]},
            ),
        ],
        fails={
            "untagged selection gone": StackFail(drop("tagged-backup"), "cache", "no AWS Backup selection covers it"),
            "no selections": StackFail(drop("tagged-backup", "phi-backup"), "data", "S3 bucket 'data' holds phi data"),
        },
        unknown=then(drop("tagged-backup"), change("phi-backup", {"resources": UNKNOWN})),
        not_applicable=then(change("data", {"tags": RECORD_TAGS}), change("cache", {"tags": RECORD_TAGS})),
    ),
    StackCase(
        rule="aws-backup-data-store-covered",
        resources=[
            bucket("data", {**RECORD_TAGS, "data-classification": "pii"}),
            Res(SELECTION, "pii-backup", {"resources": ["arn:aws:s3:::*"]}),
        ],
        fails={"no selection": StackFail(drop("pii-backup"), "data", "holds pii data")},
        unknown=change("pii-backup", {"resources": UNKNOWN}),
        not_applicable=change("data", {"tags": RECORD_TAGS}),
    ),
    StackCase(
        rule="aws-ecr-repository-lifecycle-policy",
        resources=[
            Res(REPOSITORY, "models", {"name": "models", "tags": RECORD_TAGS}),
            Res(
                "aws:ecr/lifecyclePolicy:LifecyclePolicy",
                "models-lifecycle",
                {"repository": "models", "policy": ECR_LIFECYCLE},
                {"repository": ["models"]},
            ),
        ],
        fails={
            "no lifecycle": StackFail(drop("models-lifecycle"), "models", "keeps every image forever"),
            "nothing expires": StackFail(
                change("models-lifecycle", {"policy": '{"rules": []}'}), "models", "expires no images"
            ),
            "over the ceiling": StackFail(
                change("models-lifecycle", {"policy": ecr_lifecycle_policy(4000)}),
                "models",
                "keeps images 4000 days, over the 1825-day ceiling",
            ),
        },
        unknown=change("models-lifecycle", {"policy": UNKNOWN}),
        passes={
            "joined by name": lambda resources: [
                r if r.name != "models-lifecycle" else Res(r.type, r.name, r.props) for r in resources
            ]
        },
        not_applicable=drop("models", "models-lifecycle"),
        configs={
            "a lower confidential ceiling": StackConfigCase({"maxRetentionDays": {"confidential": 30}}, passes=False)
        },
    ),
    StackCase(
        rule="aws-ecr-repository-scan-on-push",
        resources=[Res(REPOSITORY, "models", {"name": "models", "imageScanningConfiguration": {"scanOnPush": True}})],
        fails={
            "no scanning": StackFail(
                change("models", {"imageScanningConfiguration": DELETE}), "models", "does not scan images"
            )
        },
        unknown=change("models", {"imageScanningConfiguration.scanOnPush": UNKNOWN}),
        passes={
            "enhanced registry scanning": then(
                change("models", {"imageScanningConfiguration": DELETE}),
                add(
                    Res(
                        "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",
                        "scanning",
                        {
                            "scanType": "ENHANCED",
                            "rules": [
                                {
                                    "scanFrequency": "CONTINUOUS_SCAN",
                                    "repositoryFilters": [{"filter": "mod*", "filterType": "WILDCARD"}],
                                }
                            ],
                        },
                    )
                ),
            )
        },
        not_applicable=drop("models"),
    ),
    StackCase(
        rule="aws-eks-node-group-encrypted-launch-template",
        resources=[
            Res(LAUNCH_TEMPLATE, "gpu-template", ENCRYPTED_TEMPLATE),
            Res(
                NODE_GROUP,
                "gpu-nodes",
                {"launchTemplate": {"id": "lt-1", "version": "1"}},
                {"launchTemplate": ["gpu-template"]},
            ),
        ],
        fails={
            "no template": StackFail(
                change("gpu-nodes", {"launchTemplate": DELETE}), "gpu-nodes", "has no launch template"
            ),
            "unencrypted template": StackFail(
                change("gpu-template", {"blockDeviceMappings[0].ebs.encrypted": "false"}),
                "gpu-nodes",
                "whose EBS volumes are not encrypted",
            ),
        },
        unknown=change("gpu-template", {"blockDeviceMappings": UNKNOWN}),
        passes={
            "encryption by default in this stack": then(
                change("gpu-nodes", {"launchTemplate": DELETE}),
                add(Res("aws:ebs/encryptionByDefault:EncryptionByDefault", "ebs-default", {"enabled": True})),
            ),
        },
        not_applicable=drop("gpu-nodes"),
        configs={
            "baseline stack encrypts by default": StackConfigCase(
                {"ebsEncryptionByDefault": True}, change("gpu-nodes", {"launchTemplate": DELETE})
            )
        },
    ),
    StackCase(
        rule="aws-vpc-flow-logs-enabled",
        resources=[
            Res("aws:ec2/vpc:Vpc", "network", {"cidrBlock": "10.0.0.0/16"}),
            Res(
                "aws:ec2/flowLog:FlowLog",
                "network-flow",
                {"vpcId": "vpc-1", "trafficType": "ALL"},
                {"vpcId": ["network"]},
            ),
        ],
        fails={
            "no flow log": StackFail(drop("network-flow"), "network", "has no flow log"),
            "rejects only": StackFail(
                change("network-flow", {"trafficType": "REJECT"}), "network", "logs only REJECT traffic"
            ),
        },
        unknown=change("network-flow", {"trafficType": UNKNOWN}),
        not_applicable=drop("network", "network-flow"),
    ),
    StackCase(
        rule="aws-vpc-default-security-group-closed",
        resources=[
            Res("aws:ec2/vpc:Vpc", "network", {"cidrBlock": "10.0.0.0/16"}),
            Res(
                "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
                "network-default-sg",
                {"vpcId": "vpc-1", "ingress": [], "egress": []},
                {"vpcId": ["network"]},
            ),
        ],
        fails={
            "default group left to aws": StackFail(
                drop("network-default-sg"), "network", "leaves its default security group open"
            ),
            "inline ingress": StackFail(
                change(
                    "network-default-sg",
                    {"ingress": [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "self": True}]},
                ),
                "network-default-sg",
                "keeps ingress rules",
            ),
            "inline egress": StackFail(
                change(
                    "network-default-sg",
                    {"egress": [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": ["0.0.0.0/0"]}]},
                ),
                "network-default-sg",
                "keeps egress rules",
            ),
            "standalone rule on it": StackFail(
                add(
                    Res(
                        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                        "default-egress",
                        {"securityGroupId": "sg-default", "ipProtocol": "-1", "cidrIpv4": "10.0.0.0/16"},
                        {"securityGroupId": ["network-default-sg"]},
                    )
                ),
                "default-egress",
                "opens default security group 'network-default-sg'",
            ),
        },
        passes={
            "rules left unset (adoption removes them)": change(
                "network-default-sg", {"ingress": DELETE, "egress": DELETE}
            )
        },
        unknown=change("network-default-sg", {"ingress": UNKNOWN}),
        not_applicable=drop("network", "network-default-sg"),
    ),
    StackCase(
        rule="aws-s3-replication-destination-allowed",
        resources=[
            bucket("data", region="eu-central-1"),
            bucket("data-replica", region="eu-west-1"),
            on_bucket(
                "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
                "data-replication",
                "data",
                {
                    "role": ROLE,
                    "rules": [{"status": "Enabled", "destination": {"bucket": "arn:aws:s3:::data-replica"}}],
                },
                rules=["data-replica"],
            ),
        ],
        fails={
            "us replica": StackFail(
                change("data-replica", {"region": "us-east-1"}), "data", "replicates to 'data-replica' in us-east-1"
            )
        },
        unknown=change("data-replica", {"region": UNKNOWN}),
        not_applicable=drop("data-replication"),
        configs={"frankfurt only": StackConfigCase({"allowedRegions": ["eu-central-1"]}, passes=False)},
    ),
    StackCase(
        rule="aws-cloudtrail-trail-required",
        resources=[Res("aws:cloudtrail/trail:Trail", "audit", {"isMultiRegionTrail": True})],
        config={"requireTrail": True},
        fails={"no trail": StackFail(drop("audit"), "", "The stack defines no CloudTrail trail")},
        unknown=change("audit", {"isMultiRegionTrail": UNKNOWN}),
        unknown_passes=True,
        not_applicable=drop("audit"),
        not_applicable_config={},
        configs={"not the baseline stack": StackConfigCase({"requireTrail": False}, drop("audit"))},
    ),
]
