"""`mlinfra render PROFILE --env ENV --out DIR`: manifests, alert rules, Alertmanager config, dashboards, values."""

from __future__ import annotations

from pathlib import Path

import click

from mlinfra.cli.errors import DomainError, command_target, user_errors
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.files.rendered import RenderedFiles
from mlinfra.files.writer import WriteError
from mlinfra.monitoring.timing import TIMINGS
from mlinfra.profiles import load_profile
from mlinfra.rendering.output import write_render
from mlinfra.rendering.resources import guardrail_violations, resource_graph_file
from mlinfra.targets.kubernetes.render import OPTION_SECRETS_DIR, OPTION_TIMING


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=str))
@click.option("--env", "env", required=True, help="Environment to render (one of the profile's environments).")
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory."
)
@click.option("--target", "target", default=None, help="Deployment target; default: the one `mlinfra decide` picks.")
@click.option(
    "--timing",
    type=click.Choice(sorted(TIMINGS)),
    default="production",
    show_default=True,
    help="Alert clocks: production, or fast (windows and for: durations /60, 1 s scrape) for tests.",
)
@click.option(
    "--alertmanager-secrets-dir",
    "secrets_dir",
    default=None,
    help="Directory alertmanager/alertmanager.yaml reads credential files from "
    "(default: the in-cluster mount /etc/alertmanager/secrets); for running Alertmanager locally.",
)
@click.option("--force", is_flag=True, help="Write into a directory render did not create, or over edited files.")
@format_option()
def render(
    profile: str, env: str, out: Path, target: str | None, timing: str, secrets_dir: str | None, force: bool, fmt: str
) -> None:
    """Write what an environment deploys, without Pulumi and deterministically (byte-identical on rerun).

    \b
    DIR/kubernetes/*.yaml                 every Kubernetes object (multi-document YAML)
    DIR/prometheus/rules.yaml             recording and alert rules (plain Prometheus rule file)
    DIR/alertmanager/alertmanager.yaml    routing and receivers (credentials are file paths)
    DIR/grafana/<model>.json              one dashboard per model
    DIR/helm/kube-prometheus-stack.values.yaml
    DIR/aws/resources.yaml                AWS targets: every resource the program registers, from an
                                          offline run (type, name, parent, inputs; secrets masked)
    DIR/render.json                       what was written (path, bytes, sha256)
    """
    with user_errors():
        loaded = load_profile(profile)
        target_obj = command_target(loaded, env, target, "render")
        options = {OPTION_TIMING: timing, OPTION_SECRETS_DIR: secrets_dir}
        try:
            files = target_obj.render(loaded, env, options)
        except NotImplementedError as exc:
            raise DomainError(f"--target {target_obj.name}: {exc}; render a target that has one") from None
        except ValueError as exc:  # planning errors name the profile field and the fix
            raise DomainError(f"{profile}: {exc}") from None
        if target_obj.graph_file:  # keep the target's notes (render.json) with the added file
            files = RenderedFiles([*files, _graph_file(profile, env, target_obj)], notes=getattr(files, "notes", {}))
        meta = {"profile": loaded.name, "environment": env, "target": target_obj.name, "timing": timing}
        try:
            written = write_render(out, files, meta, force=force)
        except WriteError as exc:
            raise DomainError(str(exc)) from None
    warnings = list(getattr(files, "notes", {}).get("warnings", []))
    series = getattr(files, "notes", {}).get("monitoring_series")
    summary = {**meta, "out": str(out), "files": [w.to_dict() for w in written]}
    if series:
        summary["monitoring_series"] = series
    if warnings:
        summary["warnings"] = warnings
    if fmt == "json":
        emit_json(summary)
        return
    print_summary(written, f"{loaded.name} / {env} on {target_obj.name} ({timing} timing) -> {out}")
    if series:
        click.echo(series_line(series))
    for warning in warnings:
        click.echo(f"warning: {warning}")


STATUSES = ("created", "updated", "unchanged")


def series_line(series: dict) -> str:
    """The monitoring stack's series estimate and what its Prometheus is sized to, in one line."""
    prom = series["prometheus"]
    where = (f"remote write to {series['remote_write']['kind']} at {series['remote_write']['url']}"
             if series.get("remote_write") else "no remote write")
    over = (f", above the {series['max_series_per_prometheus']:,} one Prometheus should hold"
            if series["needs_remote_write"] else "")
    return (f"monitoring: ~{series['active_series']:,} active series (estimate{over}); Prometheus memory "
            f"{prom['memory_request']} request / {prom['memory_limit']} limit, a {prom['volume_gib']} GiB volume "
            f"({prom['volume_gib_needed']} GiB hold {prom['retention_days']} days); {where}")


def print_summary(written, title: str) -> None:
    """One row per directory (a render writes hundreds of files; --format json lists each with its sha256)."""
    from rich.table import Table

    rows: dict[str, dict[str, int]] = {}
    for w in written:
        directory = w.path.rsplit("/", 1)[0] if "/" in w.path else "."
        row = rows.setdefault(directory, {"files": 0, "bytes": 0, **{s: 0 for s in STATUSES}})
        row["files"] += 1
        row["bytes"] += w.bytes
        row[w.status] = row.get(w.status, 0) + 1
    table = Table(title=title, caption="every file with its sha256: --format json, or render.json")
    table.add_column("directory")
    for column in ("files", "bytes", *STATUSES):
        table.add_column(column, justify="right")
    for directory in sorted(rows):
        row = rows[directory]
        table.add_row(directory, *(str(row[c]) for c in ("files", "bytes", *STATUSES)))
    console().print(table)


def _graph_file(profile_path: str, env: str, target):
    """The target's resource graph from an offline run of the program (Pulumi's mocks: no engine, no account)."""
    from mlinfra.components.offline import OfflineError  # Pulumi: only for targets that render their graph
    from mlinfra.program import run_offline

    try:
        run = run_offline(profile_path, env, target=target.name)
    except OfflineError as exc:
        raise DomainError(f"{target.graph_file}: the program failed offline: {exc}") from None
    found = guardrail_violations(run.resources, run.secret_values)
    if found:  # the same guardrails preview runs: a render that breaks one writes nothing
        listed = "; ".join(found[:10]) + (f" (and {len(found) - 10} more)" if len(found) > 10 else "")
        raise DomainError(f"{target.graph_file}: the deployment breaks mlinfra's guardrails, nothing was written: {listed}")
    return resource_graph_file(target.graph_file, env, target.name, run.resources)
