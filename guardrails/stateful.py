"""Which resources hold state (data lost if Pulumi deletes them): they get protect=True in production.

The components ask `is_stateful` when they create a resource and the guardrail asks it of the graph, so the
rule that sets protection and the rule that checks it are the same rule.
"""

from __future__ import annotations

# Namespaces hold everything in them (model PVCs of pvc:// artifacts, the monitoring volumes): deleting one
# deletes its volumes. The kube-prometheus-stack release owns the Prometheus, Alertmanager and Grafana volumes.
STATEFUL_TYPES = frozenset(
    {
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:helm.sh/v4:Chart",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:ebs/volume:Volume",
        "aws:efs/fileSystem:FileSystem",
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:dynamodb/table:Table",
        "aws:ecr/repository:Repository",
        "aws:eks/cluster:Cluster",
    }
)


def is_stateful(resource_type: str) -> bool:
    """True for resource types whose deletion loses data."""
    return resource_type in STATEFUL_TYPES
