"""The AWS Load Balancer Controller an exposed environment needs, as data: chart pin, values, IAM policy.

The Kubernetes render gives each exposed model an Ingress of class `alb` (manifests.network); this controller
turns it into an application load balancer in the subnets the network plan tags for it (internal or
internet-facing per security.exposure). It runs on an IRSA role whose policy lets it manage only load balancers,
target groups and security groups it tagged for this cluster (`elbv2.k8s.aws/cluster`), plus the reads it needs.
A private environment has no Ingress and gets no controller.
"""

from __future__ import annotations

from typing import Any

from mlinfra.targets.aws.iam import POLICY_VERSION
from mlinfra.targets.aws_eks.iam import partition

CHART = "aws-load-balancer-controller"
CHART_REPO = "https://aws.github.io/eks-charts"
CHART_VERSION = "1.14.0"  # controller v2.14.0
RELEASE_NAME = "aws-load-balancer-controller"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
INGRESS_CLASS = "alb"  # manifests.network.ALB_CLASS: the class the render's Ingresses name
CLUSTER_TAG = "elbv2.k8s.aws/cluster"  # the controller tags everything it creates with it
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def needs_controller(exposure: str) -> bool:
    """Ingresses exist for internal and public exposure only."""
    return exposure in ("internal", "public")


def helm_values(cluster_name: str, region: str, vpc_id: Any, role_arn: Any, replicas: int) -> dict[str, Any]:
    """Chart values: the cluster, region and VPC given (no IMDS lookups: nodes allow one hop), the IRSA role on the
    chart's ServiceAccount, the `alb` IngressClass, no Service mutating webhook (no LoadBalancer Service here).
    `vpc_id` and `role_arn` may be Pulumi Outputs."""
    values: dict[str, Any] = {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": replicas,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": {IRSA_ANNOTATION: role_arn}},
        "ingressClass": INGRESS_CLASS,
        "createIngressClassResource": True,
        "enableServiceMutatorWebhook": False,
    }
    if replicas > 1:
        values["podDisruptionBudget"] = {"maxUnavailable": 1}
    return values


def _tagged(key: str, present: bool) -> dict[str, Any]:
    return {"Null": {f"{key}/{CLUSTER_TAG}": "false" if present else "true"}}


def controller_policy(region: str) -> dict[str, Any]:
    """What the controller may do: read the network, certificates and load balancers; create load balancers,
    target groups and security groups tagged for a cluster; change and delete only what carries that tag."""
    p = partition(region)
    elb = f"arn:{p}:elasticloadbalancing:*:*"
    security_groups = f"arn:{p}:ec2:*:*:security-group/*"
    balancers = [f"{elb}:targetgroup/*/*", f"{elb}:loadbalancer/net/*/*", f"{elb}:loadbalancer/app/*/*"]
    reads = [
        "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
        "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:DescribeRouteTables", "ec2:DescribeIpamPools",
        "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools", "ec2:GetSecurityGroupsForVpc",
        "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
        "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeSSLPolicies",
        "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTrustStores",
        "elasticloadbalancing:DescribeCapacityReservation",
        "acm:ListCertificates", "acm:DescribeCertificate", "iam:ListServerCertificates",
        "iam:GetServerCertificate", "cognito-idp:DescribeUserPoolClient",
        "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "waf-regional:GetWebACL",
        "waf-regional:GetWebACLForResource", "shield:GetSubscriptionState", "shield:DescribeProtection",
    ]
    statements = [
        {"Sid": "ServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
         "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
        {"Sid": "Read", "Effect": "Allow", "Action": reads, "Resource": "*"},
        {"Sid": "SecurityGroupRules", "Effect": "Allow", "Resource": "*",  # node groups' rules for the ALB's traffic
         "Action": ["ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]},
        {"Sid": "TagNewSecurityGroups", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": security_groups,
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
                       **_tagged("aws:RequestTag", True)}},
        {"Sid": "ManageOwnSecurityGroups", "Effect": "Allow", "Resource": security_groups,
         "Action": ["ec2:CreateTags", "ec2:DeleteTags", "ec2:DeleteSecurityGroup"],
         "Condition": _tagged("aws:ResourceTag", True)},
        {"Sid": "CreateTaggedLoadBalancers", "Effect": "Allow", "Resource": "*",
         "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
         "Condition": _tagged("aws:RequestTag", True)},
        {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "elasticloadbalancing:AddTags", "Resource": balancers,
         "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup",
                                                                              "CreateLoadBalancer"]},
                       **_tagged("aws:RequestTag", True)}},
        {"Sid": "ManageOwnLoadBalancers", "Effect": "Allow", "Resource": "*",
         "Action": ["elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyListenerAttributes",
                    "elasticloadbalancing:ModifyCapacityReservation"],
         "Condition": _tagged("aws:ResourceTag", True)},
        {"Sid": "RetagOwnLoadBalancers", "Effect": "Allow", "Resource": balancers,
         "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
         "Condition": _tagged("aws:ResourceTag", True)},
        {"Sid": "TagListeners", "Effect": "Allow",
         "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
         "Resource": [f"{elb}:listener/net/*/*/*", f"{elb}:listener/app/*/*/*", f"{elb}:listener-rule/net/*/*/*",
                      f"{elb}:listener-rule/app/*/*/*"]},
        {"Sid": "Listeners", "Effect": "Allow", "Resource": "*",
         "Action": ["elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
                    "elasticloadbalancing:ModifyListener", "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates", "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities", "elasticloadbalancing:SetWebAcl",
                    "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "waf-regional:AssociateWebACL",
                    "waf-regional:DisassociateWebACL", "shield:CreateProtection", "shield:DeleteProtection"]},
        {"Sid": "Targets", "Effect": "Allow", "Resource": f"{elb}:targetgroup/*/*",
         "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]},
    ]
    return {"Version": POLICY_VERSION, "Statement": statements}
