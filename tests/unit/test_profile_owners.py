"""Model owners in the profile: owners.<name> {contact, notify}, models[].owner; the messages users see."""

from __future__ import annotations

import pytest

from profile_data import changed

from mlinfra.profiles import ProfileError, profile_from_data

BASE = {
    "version": 1,
    "name": "fraud-check",
    "environments": ["dev", "prod"],
    "models": [
        {
            "name": "fraud",
            "framework": "xgboost",
            "artifact": "s3://models/fraud/v11",
            "traffic": {"average_rps": 13, "peak_rps": 170},
            "slo": {"latency_p95_ms": 190, "availability": 0.997},
        }
    ],
}


def with_(**changes) -> dict:
    return changed(BASE, **changes)


def problems(data) -> list[str]:
    with pytest.raises(ProfileError) as exc:
        profile_from_data(data, "p.yaml")
    return [str(p) for p in exc.value.problems]

FRAUD_DS = {"contact": "Fraud data science, #fraud-ds", "notify": [{"type": "email", "to": "fraud-ds@example.com"}]}
SECOND = {
    "name": "fraud-lite", "framework": "sklearn", "artifact": "s3://models/fraud-lite/v2",
    "traffic": {"average_rps": 3, "peak_rps": 17}, "slo": {"latency_p95_ms": 230, "availability": 0.993},
}


def test_a_profile_without_owners_loads_as_before():
    profile = profile_from_data(BASE)
    assert profile.owners == {} and profile.models[0].owner is None


def test_owners_and_model_owner_load():
    data = with_(**{"owners": {"fraud-ds": FRAUD_DS}, "models.0.owner": "fraud-ds"})
    profile = profile_from_data(data)
    assert profile.models[0].owner == "fraud-ds"
    assert profile.owners["fraud-ds"].contact == "Fraud data science, #fraud-ds"
    assert profile.owners["fraud-ds"].notify[0].to == "fraud-ds@example.com"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            with_(**{"owners": {"fraud-ds": FRAUD_DS}, "models.0.owner": "fraud"}),
            "models[0].owner is 'fraud' (model 'fraud'), which is not an owner; one of: fraud-ds",
            id="unknown-owner-lists-the-known",
        ),
        pytest.param(
            with_(**{"models.0.owner": "fraud-ds"}),
            "models[0].owner is 'fraud-ds' (model 'fraud'), which is not an owner; none is declared: add it under owners",
            id="owner-without-owners",
        ),
        pytest.param(
            with_(**{"owners": {"fraud-ds": FRAUD_DS, "risk": FRAUD_DS},
                     "models": [{**BASE["models"][0], "owner": "fraud-ds"}, SECOND]}),
            "models[1].owner is not set for model 'fraud-lite', but owners is used; every model then names its "
            "owner, one of: fraud-ds, risk",
            id="model-without-owner-once-owners-is-used",
        ),
        pytest.param(
            with_(**{"owners": {"fraud-ds": {"contact": "x", "notify": []}}, "models.0.owner": "fraud-ds"}),
            "owners.fraud-ds.notify is empty: owner 'fraud-ds' has no receivers",
            id="owner-without-receivers-is-named",
        ),
        pytest.param(
            with_(**{"owners": {"fraud-ds": {"contact": "x"}}, "models.0.owner": "fraud-ds"}),
            "owners.fraud-ds.notify is empty",
            id="owner-notify-omitted",
        ),
        pytest.param(
            with_(**{"owners": {"Fraud DS": FRAUD_DS}}),
            "owner name 'Fraud DS' is not 1 to 32 lower-case letters, digits and '-'",
            id="owner-name-unsafe-as-receiver-and-label",
        ),
        pytest.param(
            with_(**{"owners": {"mlinfra": FRAUD_DS}, "models.0.owner": "mlinfra"}),
            "owner name 'mlinfra' is the platform's",
            id="owner-name-reserved",
        ),
        pytest.param(
            with_(**{"owners": {"fraud-ds": {"notify": FRAUD_DS["notify"]}}, "models.0.owner": "fraud-ds"}),
            "owners.fraud-ds.contact: required field is missing",
            id="contact-required",
        ),
        pytest.param(
            with_(**{"owners": {"fraud-ds": {**FRAUD_DS, "notify": [{"type": "sms", "to": "1"}]}}}),
            "owners.fraud-ds.notify[0]",
            id="notify-schema-as-monitoring-notify",
        ),
        pytest.param(
            with_(**{"models.0.owner": "Fraud_DS"}),
            "models[0].owner",
            id="model-owner-pattern",
        ),
    ],
)
def test_bad_owner_messages(data, expected):
    found = problems(data)
    assert any(expected in p for p in found), found
