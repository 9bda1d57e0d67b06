"""Helpers of the end-to-end alerting test: processes, the notification sink, the traffic driver, configs."""
