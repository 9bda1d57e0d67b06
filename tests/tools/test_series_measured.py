"""The measured figure behind the series estimate (monitoring/series.py) measured again: one real MLServer
(.tools/mlserver), exercised like a served model, scraped; the test fails when MLServer's series drift from the
stored figure by more than its tolerance (a new MLServer release exporting more, say): update the figure then."""

from __future__ import annotations

import pytest

from mlinfra.bench._mlserver import count_series, start_servers
from mlinfra.monitoring.series import MEASURED_TOLERANCE, MLSERVER_MEASURED, MLSERVER_SERIES_PER_STATUS

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def scrape(tools_dir, tmp_path_factory) -> str:
    (server,) = start_servers(tools_dir / "mlserver", tmp_path_factory.mktemp("mlserver"), ["credit-scorer"])
    try:
        server.exercise()
        server.exercise()  # the same requests again add no series: a label combination is counted once
        return server.scrape()
    finally:
        server.stop()


def test_mlserver_series_match_the_stored_figure(scrape):
    measured = count_series(scrape)
    assert abs(measured - MLSERVER_MEASURED) <= MLSERVER_MEASURED * MEASURED_TOLERANCE, (
        f"MLServer now exports {measured} series where monitoring.series.MLSERVER_MEASURED says {MLSERVER_MEASURED}: "
        "update the figure (and its source line) from this measurement"
    )


def test_one_more_status_code_costs_the_stored_series(scrape):
    """The 422 a malformed body got: its rest_server_requests_total (+ _created) and its duration histogram."""
    lines = [line for line in scrape.splitlines() if not line.startswith("#") and 'status_code="422"' in line]
    assert len(lines) == MLSERVER_SERIES_PER_STATUS, lines


def test_counting_skips_comments_and_blank_lines():
    text = "# HELP x a\n# TYPE x counter\nx_total 1\n\nx_created 2\ny{a=\"1\"} 3\n"
    assert count_series(text) == 3
