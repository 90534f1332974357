"""AWS components: network, GPU cluster, container registry, encrypted buckets, PostgreSQL and serving identities."""

from components.aws.backup import AwsBackupPlan, AwsBackupPlanArgs
from components.aws.container_registry import AwsContainerRegistry, AwsContainerRegistryArgs
from components.aws.encrypted_bucket import (
    AwsAccessLogBucket,
    AwsAccessLogBucketArgs,
    AwsEncryptedBucket,
    AwsEncryptedBucketArgs,
)
from components.aws.gpu_cluster import (
    AwsGpuCluster,
    AwsGpuClusterArgs,
    AwsGpuNodePoolArgs,
    AwsNodeTaintArgs,
    AwsPlatformNodePoolArgs,
    AwsTeamAccessArgs,
)
from components.aws.network import AwsNetwork, AwsNetworkArgs
from components.aws.postgres import AwsPostgres, AwsPostgresArgs
from components.aws.registry_scanning import AwsRegistryScanning, AwsRegistryScanningArgs
from components.aws.serving_identity import AwsServingIdentity, AwsServingIdentityArgs
from components.aws.tracking_identity import AwsTrackingIdentity, AwsTrackingIdentityArgs
from components.aws.training_identity import AwsTrainingIdentity, AwsTrainingIdentityArgs, AwsTrainingStoreArgs

__all__ = [
    "AwsAccessLogBucket",
    "AwsAccessLogBucketArgs",
    "AwsBackupPlan",
    "AwsBackupPlanArgs",
    "AwsContainerRegistry",
    "AwsContainerRegistryArgs",
    "AwsEncryptedBucket",
    "AwsEncryptedBucketArgs",
    "AwsGpuCluster",
    "AwsGpuClusterArgs",
    "AwsGpuNodePoolArgs",
    "AwsNetwork",
    "AwsNetworkArgs",
    "AwsNodeTaintArgs",
    "AwsPlatformNodePoolArgs",
    "AwsPostgres",
    "AwsPostgresArgs",
    "AwsRegistryScanning",
    "AwsRegistryScanningArgs",
    "AwsServingIdentity",
    "AwsServingIdentityArgs",
    "AwsTeamAccessArgs",
    "AwsTrackingIdentity",
    "AwsTrackingIdentityArgs",
    "AwsTrainingIdentity",
    "AwsTrainingIdentityArgs",
    "AwsTrainingStoreArgs",
]
