"""Resource identities between versions of the program: a URN that changes without an alias makes `pulumi up`
delete the deployed resource and create a new one (a namespace, a volume, the monitoring release - and with them
the data). The URNs the engine would give the two-model profile's stacks are kept in tests/components/urns/; a
change must either keep the old URN as an alias (conventions.FORMER_TYPE_TOKENS for a renamed component,
pulumi.Alias(parent=...) for a move) or be reviewed and written again with MLINFRA_UPDATE_URNS=1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mlinfra.components.model_server as model_server
from mlinfra.conventions import FORMER_TYPE_TOKENS, TYPE_MODEL_SERVER
from mlinfra.guardrails.graph import engine_urns, resource
from mlinfra.program import run_offline

SNAPSHOTS = Path(__file__).parent / "urns"


def unkept(run, snapshot: list[str]) -> list[str]:
    """URNs of the snapshot that this run neither registers nor keeps through an alias."""
    urns = engine_urns(run.resources, run.aliases)
    kept = set(urns) | {alias for aliases in urns.values() for alias in aliases}
    return [urn for urn in snapshot if urn not in kept]


def snapshot(env: str) -> list[str]:
    return (SNAPSHOTS / f"onprem-{env}.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_urns_are_those_of_the_previous_version(runs, env):
    urns = sorted(engine_urns(runs[env].resources, runs[env].aliases))
    path = SNAPSHOTS / f"onprem-{env}.txt"
    if os.environ.get("MLINFRA_UPDATE_URNS") == "1":
        path.write_text("\n".join(urns) + "\n", encoding="utf-8")
    assert path.is_file(), f"{path} is missing: write it with MLINFRA_UPDATE_URNS=1 and review it"
    lost = unkept(runs[env], snapshot(env))
    assert lost == [], (
        "pulumi up would delete and recreate these resources (their URN changed without an alias): "
        + ", ".join(lost) + "; add the former type token to conventions.FORMER_TYPE_TOKENS (or an Alias(parent=...)"
        " for a move), or, if replacing them is intended, rewrite tests/components/urns with MLINFRA_UPDATE_URNS=1"
    )
    added = sorted(set(urns) - set(snapshot(env)))
    assert added == [], f"new resources: {added}; rewrite tests/components/urns with MLINFRA_UPDATE_URNS=1"


def test_a_renamed_component_without_an_alias_fails_and_with_one_keeps_its_subtree(runs, monkeypatch):
    """Renaming the model server's type token changes the URN of it and of everything under it."""
    renamed = "mlinfra:serving:ModelServer"
    monkeypatch.setattr(model_server, "TYPE_MODEL_SERVER", renamed)
    run = run_offline(runs["path"], "prod", target="onprem-k8s")
    lost = unkept(run, snapshot("prod"))
    assert lost and all(TYPE_MODEL_SERVER in urn for urn in lost)
    assert any(urn.endswith("::fraud-lab-fraud-deployment") for urn in lost), "children move with their parent"

    monkeypatch.setitem(FORMER_TYPE_TOKENS, renamed, (TYPE_MODEL_SERVER,))
    assert unkept(run_offline(runs["path"], "prod", target="onprem-k8s"), snapshot("prod")) == []


def test_engine_urns_qualify_with_every_ancestor_and_follow_parent_aliases():
    stack = "urn:pulumi:prod::lab::"
    env = resource(type="lab:env:Env", name="e", urn=stack + "lab:env:Env::e")
    outer = resource(type="lab:a:Outer", name="o", urn=stack + "lab:env:Env$lab:a:Outer::o", parent=env["urn"])
    leaf = resource(type="k:core/v1:Secret", name="s", urn=stack + "lab:a:Outer$k:core/v1:Secret::s",
                    parent=outer["urn"])
    urns = engine_urns([env, outer, leaf], {leaf["urn"]: [{"parent": env["urn"]}]})
    assert urns == {
        "urn:pulumi:prod::lab::lab:env:Env::e": set(),
        "urn:pulumi:prod::lab::lab:env:Env$lab:a:Outer::o": set(),
        # moved from directly under the environment to under Outer, with an alias naming the former parent
        "urn:pulumi:prod::lab::lab:env:Env$lab:a:Outer$k:core/v1:Secret::s": {
            "urn:pulumi:prod::lab::lab:env:Env$k:core/v1:Secret::s"},
    }
