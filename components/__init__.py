"""The Pulumi shell: ComponentResources mapping the pure builders' objects onto resources, the environment assembly,
and the offline runner behind `mlinfra preview`. The only package (with program.py and __main__.py) importing pulumi*."""
