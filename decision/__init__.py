"""The decision: hard constraints, criteria scores and the ranking that picks a deployment target."""
