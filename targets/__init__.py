"""Deployment targets: one package each (onprem_k8s/, aws_eks/, aws_sagemaker/; plugins through entry points),
the contract they implement (base.py), the registry that finds them and the one resolver that picks one."""
