"""aws-eks components: the VPC, the EKS cluster, its node groups, IRSA roles and add-ons, and the assembly that
puts the shared Kubernetes serving and monitoring components onto the cluster."""
