"""The drill's label sets, checked by the real amtool (0.28): for every environment of several profiles - three
environments on one cluster, the e2e profile, the examples, and model owners with `continue` routes - each drill
alert's labels take exactly the receivers the planner expects (`amtool config routes test`), and the drills of an
Alertmanager's environments together cover every route that notifies somebody (alert_routes), each once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from mlinfra.conventions import RECEIVER_PAGE
from mlinfra.files.dump import to_yaml
from mlinfra.monitoring.alertmanager import alert_routes
from mlinfra.monitoring.drill import DRILL_ALERTNAME
from mlinfra.profiles import load_profile
from mlinfra.profiles.model import Profile
from mlinfra.targets.registry import get_target

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]


def owners_profile() -> Profile:
    """The bundled profile with two owners: one pages (PagerDuty) and mails, one only chats."""
    data = yaml.safe_load((ROOT / "stacks" / "profile.yaml").read_text())
    base = data["models"][0]
    data["owners"] = {
        "claims-ml": {"contact": "claims-ml@example.com", "notify": [
            {"type": "pagerduty", "routing_key_secret": "claimsPagerDuty"}, {"type": "email", "to": "claims-ml@example.com"}]},
        "pricing": {"contact": "#pricing", "notify": [{"type": "slack", "webhook_secret": "pricingSlack"}]},
    }
    data["models"] = [{**base, "name": "claims", "owner": "claims-ml"}, {**base, "name": "quote", "owner": "pricing"}]
    return Profile.model_validate(data)


CASES = {
    "shared-cluster": (lambda: load_profile(str(ROOT / "stacks" / "profile.yaml")), "onprem-k8s"),
    "e2e": (lambda: load_profile(str(ROOT / "tests" / "e2e" / "profile.yaml")), "onprem-k8s"),
    "gpu-onprem": (lambda: load_profile(str(ROOT / "docs" / "examples" / "gpu-onprem.yaml")), "onprem-k8s"),
    "bursty-eks": (lambda: load_profile(str(ROOT / "docs" / "examples" / "bursty-cloud.yaml")), "aws-eks"),
    "owners": (owners_profile, "onprem-k8s"),
}


def _receivers(amtool: str, path: Path, labels: dict[str, str]) -> list[str]:
    args = [amtool, "config", "routes", "test", f"--config.file={path}", *(f"{k}={v}" for k, v in sorted(labels.items()))]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"amtool routes test {labels}: {proc.stdout}{proc.stderr}"
    return proc.stdout.strip().split(",")


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_drill_alert_takes_exactly_its_receivers(case, amtool, tmp_path):
    make, target_name = CASES[case]
    profile, target = make(), get_target(target_name)
    by_config: dict[str, list] = {}
    for env in profile.environment_names:
        drill = target.notification_drill(profile, env)
        assert drill.alerts, f"{case}/{env}: no route to drill"
        path = tmp_path / f"{env}.yaml"
        path.write_text(to_yaml(drill.config))
        check = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        for alert in drill.alerts:
            assert alert.labels["drill"] == "true" and alert.labels["alertname"] == DRILL_ALERTNAME
            assert "model" not in alert.labels, "a drill alert with a model label could be muted by its real alerts"
            assert "drill" in alert.annotations["summary"].lower(), alert.annotations
            expected = [h.receiver for h in alert.hits]
            assert _receivers(amtool, path, alert.labels) == expected, f"{case}/{env}: {alert.route}"
            assert alert.hits[0].route == alert.route and alert.environment == env
        by_config.setdefault(to_yaml(drill.config), []).append((env, drill))

    for config_text, drills in by_config.items():  # one Alertmanager: its environments' drills cover every route
        config = yaml.safe_load(config_text)
        notifying = {r["name"] for r in config["receivers"] if any(k.endswith("_configs") for k in r)}
        leaves = [", ".join(leaf["matchers"]) for leaf in alert_routes(config) if leaf["receiver"] in notifying]
        drilled = [a.route for _, drill in drills for a in drill.alerts]
        assert sorted(drilled) == sorted(leaves), f"{case}: drilled {sorted(drilled)} != routes {sorted(leaves)}"


def test_owner_critical_drill_reaches_the_owner_and_the_platform_pager(amtool, tmp_path):
    """`continue` routes: the owner's critical drill alert in prod is one alert taking two receivers; in dev,
    where nothing pages, no drill alert reaches PagerDuty."""
    profile = owners_profile()
    target = get_target("onprem-k8s")
    prod = target.notification_drill(profile, "prod")
    both = {a.labels.get("owner"): [h.receiver for h in a.hits] for a in prod.alerts
            if a.labels.get("severity") == "critical" and a.labels.get("environment") == "prod"}
    assert both == {"claims-ml": ["claims-ml-page", RECEIVER_PAGE], "pricing": ["pricing-page", RECEIVER_PAGE],
                    None: [RECEIVER_PAGE]}
    dev = target.notification_drill(profile, "dev")
    assert not [h for a in dev.alerts for h in a.hits if "pagerduty" in dict(h.integrations)]
    path = tmp_path / "am.yaml"
    path.write_text(to_yaml(prod.config))
    claims = next(a for a in prod.alerts if a.labels.get("owner") == "claims-ml"
                  and a.labels.get("severity") == "critical" and a.labels.get("environment") == "prod")
    assert _receivers(amtool, path, claims.labels) == ["claims-ml-page", RECEIVER_PAGE]
