"""hypothesis strategies for valid profiles across the whole v1 contract (no tests here).

Used by tests/unit/test_any_profile.py (decide/plan/render never fail unexpectedly) and
tests/tools/test_any_profile_manifests.py (what any profile renders passes kubernetes-validate).
"""

from __future__ import annotations

from hypothesis import strategies as st

from mlinfra.profiles.model import EU_REGIONS

FRAMEWORKS = ["sklearn", "xgboost", "lightgbm", "onnx", "pytorch", "tensorflow", "huggingface", "llm", "custom"]
ENV_NAMES = ["dev", "test", "qa", "staging", "preprod", "prod", "production", "sandbox", "eu-prod"]

label = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?", fullmatch=True)


@st.composite
def models(draw):
    names = draw(st.lists(label, min_size=1, max_size=3, unique=True))
    out = []
    for name in names:
        framework = draw(st.sampled_from(FRAMEWORKS))
        gpus = draw(st.sampled_from([0, 0, 1, 2]))
        average = draw(st.sampled_from([0, 0.2, 3, 25, 400]))
        kind = draw(st.sampled_from(["s3", "pvc", "oci", "https"]))
        artifact = {
            "s3": f"s3://bucket-{name}/v1",
            "pvc": f"pvc://store-{name}/models/{name}",
            "oci": f"oci://registry.example.com/models/{name}:1",
            "https": f"https://models.example.com/{name}.tar.gz",
        }[kind]
        model = {
            "name": name,
            "framework": framework,
            "artifact": artifact,
            "resources": {
                "cpu": draw(st.sampled_from([0.25, 1, 3, 8])),
                "memory_gib": draw(st.sampled_from([0.5, 2, 12, 40])),
                "gpus": gpus,
                **({"gpu_type": draw(st.sampled_from(["l4", "t4", "a10g"]))} if gpus else {}),
            },
            "traffic": {"average_rps": average, "peak_rps": average * draw(st.sampled_from([1, 2, 15]))},
            "slo": {
                "latency_p95_ms": draw(st.sampled_from([40, 250, 5000])),
                "availability": draw(st.sampled_from([0.95, 0.99, 0.999])),
            },
        }
        if framework == "custom" or draw(st.booleans()):
            model["image"] = f"ghcr.io/acme/{name}:2.1.0"
        if draw(st.booleans()):  # a measured capacity (mlinfra calibrate --write): p95 within the SLO
            model["capacity"] = {
                "rps_per_replica": draw(st.sampled_from([0.05, 7.5, 480.0, 90_000.0])), "concurrency": 4,
                "p95_ms": model["slo"]["latency_p95_ms"] * draw(st.sampled_from([0.1, 1.0])),
                "measured_on": "2026-11-19", "cpu": "AMD EPYC 7R13 Processor",
                "cores": draw(st.sampled_from([1, 2, 8])), "runtime": "mlserver 1.7.1",
            }
        if framework in V2_FRAMEWORKS:  # the drift monitor's settings (used with monitoring.drift)
            model["drift"] = draw(drift_settings(name))
        out.append(model)
    return out


V2_FRAMEWORKS = ("sklearn", "xgboost", "lightgbm", "onnx", "pytorch", "tensorflow")  # MLServer, Triton


@st.composite
def drift_settings(draw, name: str):
    reference = draw(st.sampled_from([
        f"s3://data-{name}/reference.parquet", f"https://data.example.com/{name}/reference.csv",
        f"pvc://store-{name}/reference/{name}.csv",
    ]))
    drift = {"reference": reference}
    if draw(st.booleans()):
        drift.update(features=["f1", "f2", "f3"], prediction_column="label", categorical=["f2"],
                     sample_rate=draw(st.sampled_from([0.05, 1.0])), window=500, min_samples=100,
                     warn_psi=0.2, page_psi=draw(st.sampled_from([0.2, 0.5])))
    return drift


OWNER_NAMES = ("fraud-ds", "ranking", "search")


def owner_notify(name: str) -> list[dict[str, str]]:
    key = name.replace("-", "")
    return [
        {"type": "email", "to": f"{name}@example.com"},
        {"type": "slack", "webhook_secret": f"{key}Slack"},
        {"type": "msteams", "webhook_secret": f"{key}Teams"},
        {"type": "webhook", "url_secret": f"{key}Hook"},
        {"type": "pagerduty", "routing_key_secret": f"{key}Pd"},
    ]


@st.composite
def profiles(draw):
    sovereignty = draw(st.sampled_from(["none", "eu", "on_premise"]))
    classification = draw(st.sampled_from(["public", "internal", "confidential", "personal"]))
    exposure = draw(st.sampled_from(["private", "internal", "public"]))
    auth = draw(st.sampled_from(["none", "api_key", "oidc"]))
    if exposure == "public" and classification in ("personal", "confidential") and auth == "none":
        auth = "oidc"
    env_names = draw(st.lists(st.sampled_from(ENV_NAMES), min_size=1, max_size=3, unique=True))
    model_list = draw(models())
    drift = draw(st.booleans())
    if not drift and draw(st.booleans()):  # models[].drift is only read with monitoring.drift
        model_list = [{k: v for k, v in m.items() if k != "drift"} for m in model_list]
    if draw(st.booleans()):
        environments = env_names
    else:
        environments = {}
        for env in env_names:
            low = draw(st.sampled_from([None, 1, 2, 3]))
            high = draw(st.sampled_from([None, 3, 8]))
            overrides = {k: v for k, v in {"min_replicas": low, "max_replicas": high}.items() if v is not None}
            if draw(st.booleans()):
                overrides["tier"] = draw(st.sampled_from(["dev", "staging", "prod"]))
            if draw(st.booleans()):
                overrides["kube_context"] = draw(st.sampled_from(["ctx-a", "ctx-b"]))
            environments[env] = overrides or None
    data = {
        "version": 1,
        "name": draw(label),
        "environments": environments,
        "models": model_list,
        "data": {"sovereignty": sovereignty, "classification": classification},
        "security": {"exposure": exposure, "authentication": auth}
        | ({"oidc": {"issuer": "https://login.example.com/realms/a", "audience": ["a"]}}
           if auth == "oidc" and draw(st.booleans()) else {}),
        "team": {
            "kubernetes_skills": draw(st.sampled_from(["none", "basic", "advanced"])),
            "ops_fte": draw(st.sampled_from([0, 0.3, 2])),
        },
        "monitoring": {
            "drift": drift,
            "notify": draw(
                st.lists(
                    st.sampled_from(
                        [
                            {"type": "email", "to": "ops@example.com"},
                            {"type": "slack", "webhook_secret": "slackKey"},
                            {"type": "msteams", "webhook_secret": "teamsKey"},
                            {"type": "webhook", "url_secret": "hookKey"},
                            {"type": "pagerduty", "routing_key_secret": "pdKey"},
                        ]
                    ),
                    max_size=3,
                )
            ),
            "smtp": {"smarthost": "smtp.example.com:587", "from_address": "am@example.com"},  # email on a cluster
        },
    }
    if draw(st.booleans()):  # model owners: up to three, each model names one
        names = draw(st.lists(st.sampled_from(OWNER_NAMES), min_size=1, max_size=3, unique=True))
        data["owners"] = {
            name: {"contact": f"{name}@example.com",
                   "notify": draw(st.lists(st.sampled_from(owner_notify(name)), min_size=1, max_size=2))}
            for name in names
        }
        for model in data["models"]:
            model["owner"] = draw(st.sampled_from(names))
    if draw(st.booleans()):
        data["budget"] = {"monthly_eur": draw(st.sampled_from([50, 900, 20000]))}
    if draw(st.booleans()):
        data["onprem"] = {
            "kube_context": "ctx-a",
            "gpu_nodes": draw(st.sampled_from([0, 1, 4])),
            "gpu_type": "l4",
        }
    if draw(st.booleans()):
        regions = list(EU_REGIONS) if sovereignty == "eu" else ["us-east-1", "eu-central-1", "ap-south-1"]
        data["cloud"] = {"provider": "aws", "region": draw(st.sampled_from(regions))}
        if draw(st.booleans()):  # one EKS cluster for every environment
            data["cloud"]["shared_cluster"] = True
    return data
