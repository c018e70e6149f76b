"""Pooling across patients, clinician-facing insights, the coupling simulator and the evaluate command."""

import argparse
import json

import numpy as np
import pytest

from twin_engine import frames
from twin_engine.correlations import AnalysisSettings, CorrelationConfig, analyse_patient, clinical_insights, pool
from twin_engine.correlations.commands import add_evaluate_correlations
from twin_engine.correlations.insights import INSUFFICIENT_DATA, LINK, measure_name
from twin_engine.errors import TwinEngineError
from twin_engine.simulate.couplings import Coupling, CouplingConfig, simulate_couplings

QUICK = CorrelationConfig(settings=AnalysisSettings(permutations=0))


def _analyses(couplings: tuple[Coupling, ...], patients: int, days: int, seed: int, config=QUICK):  # type: ignore[no-untyped-def]
    cohort = simulate_couplings(CouplingConfig(n_patients=patients, days=days, seed=seed, couplings=couplings))
    return {str(s): analyse_patient(rows, config) for s, rows in cohort.observations.groupby(frames.SUBJECT_ID)}


@pytest.fixture(scope="module")
def pooled():  # type: ignore[no-untyped-def]
    small = (Coupling(frames.SLEEP_HOURS, frames.MOOD, 1, 0.1, 0.1),)
    return pool(_analyses(small, patients=60, days=90, seed=5))


def _pooled_link(links, cause: str, effect: str):  # type: ignore[no-untyped-def]
    return next(link for link in links if (link.spec.cause, link.spec.effect) == (cause, effect))


def test_a_small_effect_invisible_per_patient_is_found_when_pooled(pooled) -> None:  # type: ignore[no-untyped-def]
    link = _pooled_link(pooled, frames.SLEEP_HOURS, frames.MOOD)
    assert link.significant and link.best_lag == 1
    assert link.ci_low < 0.1 < link.ci_high


def test_pooled_null_links_stay_quiet(pooled) -> None:  # type: ignore[no-untyped-def]
    flagged = [
        link
        for link in pooled
        if link.significant and (link.spec.cause, link.spec.effect) != (frames.SLEEP_HOURS, frames.MOOD)
    ]
    assert len(flagged) <= 1


def test_each_patient_is_shrunk_toward_the_pooled_estimate(pooled) -> None:  # type: ignore[no-untyped-def]
    link = _pooled_link(pooled, frames.SLEEP_HOURS, frames.MOOD)
    spread = np.std(list(link.shrunken.values()))
    assert len(link.shrunken) == 60 and spread < 0.05


def test_a_found_link_becomes_an_insight_with_its_lag_and_a_consideration() -> None:
    strong = (Coupling(frames.HRV_MS, frames.ANXIETY, 1, -0.6, -0.6),)
    (analysis,) = _analyses(strong, patients=1, days=240, seed=2, config=CorrelationConfig()).values()
    found_links = [i for i in clinical_insights(analysis) if i.kind == LINK and i.link]
    (found,) = [i for i in found_links if i.link and i.link.spec.cause == frames.HRV_MS]
    assert found.text.startswith("Lower heart-rate variability preceded higher anxiety the next day")
    assert "not proof of cause" in found.text
    assert found.consideration.startswith("Consider")


def test_too_little_data_is_said_plainly_with_how_much_more_is_needed() -> None:
    (analysis,) = _analyses((), patients=1, days=45, seed=3, config=CorrelationConfig()).values()
    gaps = [i for i in clinical_insights(analysis) if i.kind == INSUFFICIENT_DATA]
    assert {i.title for i in gaps} >= {"Not enough data yet: sleep and mood"}
    assert all("more paired days" in i.consideration for i in gaps)


def test_the_simulator_plants_the_innovation_correlation_it_records() -> None:
    cohort = simulate_couplings(
        CouplingConfig(
            n_patients=1, days=4000, seed=1, couplings=(Coupling(frames.SLEEP_HOURS, frames.MOOD, 1, 0.4, 0.4),)
        )
    )
    assert cohort.truth["size"].tolist() == [0.4]
    r = analyse_patient(cohort.observations, QUICK)
    link = next(link for link in r.links if (link.spec.cause, link.spec.effect) == (frames.SLEEP_HOURS, frames.MOOD))
    assert link.correlations[0] == pytest.approx(0.4, abs=0.05)


def test_the_simulator_refuses_cyclic_couplings() -> None:
    cycle = (
        Coupling(frames.SLEEP_HOURS, frames.MOOD, 1, 0.3, 0.3),
        Coupling(frames.MOOD, frames.SLEEP_HOURS, 1, 0.3, 0.3),
    )
    with pytest.raises(TwinEngineError, match="cycle"):
        simulate_couplings(CouplingConfig(n_patients=1, days=30, couplings=cycle))


def _evaluate(*extra: str) -> int:
    """`novamind evaluate correlations` on a tiny cohort (4 patients, 99 permutations, no pooled or hourly run)."""
    parser = argparse.ArgumentParser()
    add_evaluate_correlations(parser.add_subparsers())
    base = ["correlations", "--patients", "4", "--permutations", "99", "--pooled-replicates", "0"]
    args = parser.parse_args([*base, "--hourly-patients", "0", "--quiet", *extra])
    return int(args.func(args))


def test_evaluate_correlations_prints_one_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert _evaluate("--days", "60", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["per_patient"][0]["patients"] == 4 and report["pooled"] is None
    assert [s["method"] for s in report["per_patient"]] == ["within-patient", "population prior"]


def test_evaluate_correlations_draws_the_power_curves(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    png = tmp_path / "power.png"
    assert _evaluate("--days", "30,60", "--plot", str(png)) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "power curves written" in capsys.readouterr().err


def test_a_measure_named_at_a_sentence_start_keeps_its_own_capitals() -> None:
    assert measure_name(frames.PHQ9, start=True) == "PHQ-9 depression score"
    assert measure_name(frames.SLEEP_HOURS, start=True) == "Sleep duration"
