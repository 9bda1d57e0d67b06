"""Offline preview results as plain data: the resource tree, counts, and the diff of two environments (no Pulumi)."""
