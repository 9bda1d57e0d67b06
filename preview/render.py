"""Human output of a preview: the resource tree, counts per type, stack outputs and guardrail results (rich)."""

from __future__ import annotations

import json
from typing import Any

from mlinfra.preview.report import PreviewReport, key_inputs, ordered

_STATUS = {"pass": "[green]pass[/]", "fail": "[bold red]FAIL[/]", "n/a": "[dim]n/a[/]"}


def short(value: Any) -> str:
    """A value on one line: strings as they are, everything else as compact sorted JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def resource_tree(report: PreviewReport):
    """A rich Tree: stack root, then every resource under its parent with its key inputs."""
    from rich.markup import escape
    from rich.tree import Tree

    resources = ordered(report.resources)
    by_urn = {r["urn"]: r for r in resources}
    root = Tree(
        f"[bold]{escape(report.environment)}[/] stack of {escape(report.profile)} -> target "
        f"[bold]{escape(report.target)}[/] ({len(resources)} resources)"
    )
    nodes: dict[str, Any] = {}
    for r in resources:
        keys = " ".join(f"{k}={escape(short(v))}" for k, v in key_inputs(r, by_urn).items())
        label = f"[cyan]{escape(r['type'])}[/] [bold]{escape(r['name'])}[/]" + (f"  [dim]{keys}[/]" if keys else "")
        parent = nodes.get(r["parent"] or "", root)
        nodes[r["urn"]] = parent.add(label)
    return root


def counts_table(report: PreviewReport):
    from rich.table import Table

    table = Table(title="Resources per type", title_justify="left")
    table.add_column("type")
    table.add_column("count", justify="right")
    for t, n in report.counts().items():
        table.add_row(t, str(n))
    table.add_row("[bold]total[/]", f"[bold]{len(report.resources)}[/]")
    return table


def outputs_table(report: PreviewReport):
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Stack outputs", title_justify="left")
    table.add_column("output")
    table.add_column("value", overflow="fold")
    for key, value in sorted(report.outputs.items()):
        table.add_row(key, escape(short(value)))
    return table


def guardrails_table(report: PreviewReport):
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Guardrails", title_justify="left")
    table.add_column("status")
    table.add_column("guardrail")
    table.add_column("detail", overflow="fold")
    for c in report.checks:
        detail = escape(c.note)
        for v in c.violations:
            detail += f"\n[red]{escape(v.resource)}: {escape(v.message)}[/]"
        table.add_row(_STATUS[c.status], escape(c.title), detail)
    return table


def readiness_table(report: PreviewReport):
    """Go-live gaps (monitoring.readiness): warnings, they never fail the preview."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Go-live readiness of {report.environment}: {len(report.readiness)} warning(s)",
                  title_justify="left")
    table.add_column("check")
    table.add_column("field")
    table.add_column("warning", overflow="fold")
    for f in report.readiness:
        table.add_row(f"[yellow]{escape(f.check)}[/]", escape(f.path), escape(f.message))
    return table


def monitoring_note(report: PreviewReport) -> str | None:
    """The deploy-order note when the environment shares its cluster's monitoring stack (owner or not)."""
    stack = report.outputs.get("monitoring_stack")
    if not isinstance(stack, dict) or not stack.get("note"):
        return None
    shared = not stack.get("owned_here") or len(stack.get("routes_alerts_of") or []) > 1
    return str(stack["note"]) if shared else None


def print_report(report: PreviewReport, console) -> None:
    from rich.markup import escape

    console.print(resource_tree(report))
    console.print(counts_table(report))
    console.print(outputs_table(report))
    console.print(guardrails_table(report))
    if report.readiness:
        console.print(readiness_table(report))
    else:
        console.print(f"[green]go-live readiness of {escape(report.environment)}: no gaps[/]")
    note = monitoring_note(report)
    if note:
        console.print(f"[bold]shared monitoring stack:[/] {escape(note)}")
    pack = report.policy_pack
    if pack:
        found = pack["violations"]
        verdict = "[green]pass[/]" if not found else f"[bold red]{len(found)} mandatory violation(s)[/]"
        console.print(f"policy pack {escape(pack['pack'])} (as `pulumi preview --policy-pack` runs it): {verdict}")
        for v in found:
            console.print(f"  [red]{escape(v['policy'])}: {escape(v['message'])}[/]")
        for text in pack["notes"]:
            console.print(f"  [dim]{escape(text)}[/]")
    verdict = "[green]all guardrails pass[/]" if report.passed else f"[bold red]{report.violations} guardrail violation(s)[/]"
    console.print(f"{verdict}; {len(report.resources)} resources, {len(report.invokes)} invokes, "
                  f"{report.seconds:.2f} s under Pulumi's mocks")
