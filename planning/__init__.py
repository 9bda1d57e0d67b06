"""Per-environment plans: the pure specs every builder (manifests, rules, dashboards, costs) works from."""
