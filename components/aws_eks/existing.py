"""An existing EKS cluster (targets.aws_eks.existing), looked up by name: what node groups, IRSA roles and the
Kubernetes provider need from it. A look-up registers no resource, so this is a plain object, not a component.

One `aws.eks.get_cluster_output` invoke (the Output form: it never blocks the program), through the stack's AWS
provider, so it reads the cluster in the profile's region. The IRSA roles trust the cluster's IAM OIDC provider,
which must exist (its owners create it; targets.aws_eks.existing names the command): its ARN is derived from the
cluster's ARN and issuer rather than looked up, so a missing provider fails when a ServiceAccount assumes its role,
not at preview.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlinfra.targets.aws_eks.cluster import kubeconfig
from mlinfra.targets.aws_eks.existing import ExistingClusterSpec, oidc_provider_arn


class ExistingCluster:
    """The looked-up cluster's name, endpoint, OIDC issuer and provider ARN, and a kubeconfig for it (the same shape
    as EksCluster's outputs)."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]  # the cluster's own subnets (a shared cluster's node groups launch there)

    def __init__(self, spec: ExistingClusterSpec, region: str, *, provider: aws.Provider, parent: pulumi.Resource):
        found = aws.eks.get_cluster_output(
            name=spec.name, opts=pulumi.InvokeOutputOptions(provider=provider, parent=parent),
        )
        self.name = found.name
        self.arn = found.arn
        self.endpoint = found.endpoint
        self.subnet_ids = found.vpc_config.apply(lambda vpc: sorted(vpc.subnet_ids))
        self.certificate_authority = found.certificate_authorities.apply(lambda cas: cas[0].data)
        self.oidc_issuer = found.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        self.oidc_provider_arn = pulumi.Output.all(found.arn, self.oidc_issuer).apply(
            lambda v: oidc_provider_arn(v[0], v[1]))
        # as for a cluster of its own: no credential in it (`aws eks get-token` at use), so a plain output
        self.kubeconfig = pulumi.Output.all(found.name, found.endpoint, self.certificate_authority).apply(
            lambda v: kubeconfig(v[0], v[1], v[2], region)
        )
