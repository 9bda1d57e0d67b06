"""Two entry points, one file: `pulumi up` runs the Pulumi program, `python -m mlinfra` runs the CLI.

Pulumi's Python language host runs the project directory as a script, `runpy.run_path(<dir>, run_name="__main__")`,
so this file is then a top-level module (`__package__` is ""). `python -m mlinfra` imports it as the package's
`mlinfra.__main__` (`__package__` is "mlinfra"). The CLI path never imports pulumi.
"""


def entry_point(package: str | None) -> str:
    """'cli' when imported as mlinfra.__main__ (`python -m mlinfra`), else 'program' (Pulumi, or run as a file)."""
    return "cli" if package == "mlinfra" else "program"


if __name__ == "__main__":
    if entry_point(__package__) == "cli":
        from mlinfra.cli.main import main
    else:
        from mlinfra.program import main
    main()
