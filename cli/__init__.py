"""The `mlinfra` command line: a thin click wrapper over library functions that return data."""
