"""Pulumi entry point (Pulumi.yaml, runtime python): everything lives in mlinfra.program."""

from mlinfra.program import main

main()
