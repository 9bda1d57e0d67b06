"""Acme's mlinfra plugin: the `acme-nomad` target and Acme's flavour of the built-in `onprem-k8s`."""
