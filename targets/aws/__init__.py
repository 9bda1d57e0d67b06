"""What every AWS target shares, as pure data: tags, the KMS key policy, the model store's bucket and registry
settings, the alert topics and their subscriptions, ARN helpers.

No Pulumi here: `decide` and `render` run these builders, and the Pulumi components in `components/aws/` only map
them onto resources (aws-sagemaker and aws-eks both deploy on them).
"""
