"""mlinfra: requirements profile in; explained target decision, Pulumi components and monitoring out."""

__version__ = "0.1.0"
