"""The monitoring stack as pure builders: recording and alert rules, Alertmanager config, dashboards, Helm values.

No Pulumi import here: `mlinfra render` and the MonitoringStack component both call these functions.
"""
