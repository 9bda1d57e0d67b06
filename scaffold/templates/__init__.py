"""Jinja2 templates of the files `mlinfra init` writes (a package so the wheel ships them)."""
