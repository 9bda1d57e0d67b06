"""Measured capacity: start a model's runtime on this host and load-test it until its latency SLO breaks.

Only `mlinfra calibrate` imports this package; decide, render and the Pulumi program never do.
"""
