"""`novamind pgx recommend` through the real `novamind` parser (`twin_engine.cli.main`)."""

from __future__ import annotations

import json

import pytest

from twin_engine import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["pgx", "recommend", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_shows_phenotypes_score_recommendation_strength_and_action(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--genotype", "CYP2C19=*2/*2", "--genotype", "CYP2D6=*1/*4", "--drug", "escitalopram")
    assert code == 0
    assert "CYP2C19 *2/*2: Poor Metabolizer" in out
    assert "CYP2D6 *1/*4: Intermediate Metabolizer (activity score 1.0)" in out
    assert "action: consider alternative; strength: Strong" in out
    assert "Consider a clinically appropriate antidepressant not predominantly metabolized by CYP2C19" in out
    assert "Not for clinical use" in out


def test_json_output_carries_the_cpic_row(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--genotype", "CYP2D6=*1/*4", "--drug", "atomoxetine", "--population", "adult", "--json")
    report = json.loads(out)
    assert code == 0 and report["source"] == "CPIC" and report["data_version"] == "2024-03-25-16-13"
    assert report["phenotypes"][0]["activity_score"] == "1.0"
    [rec] = report["drugs"][0]["recommendations"]
    assert (rec["population"], rec["classification"], rec["action"]) == ("adults", "Moderate", "careful monitoring")
    assert rec["lookup_key"] == {"CYP2D6": "1.0"}


def test_without_drug_every_drug_with_guidance_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--genotype", "CYP2C19=*2/*2", "--json")
    drugs = [d["drug"] for d in json.loads(out)["drugs"]]
    assert {"citalopram", "escitalopram", "sertraline", "amitriptyline"} <= set(drugs)
    assert all(d["status"] == "matched" for d in json.loads(out)["drugs"])


def test_drug_without_guideline_is_reported_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--genotype", "CYP2B6=*6/*6", "--drug", "bupropion")
    assert "bupropion: no CPIC guideline" in out


def test_malformed_genotype_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--genotype", "CYP2D6=*1", "--drug", "paroxetine")
    assert code == 2 and "not two alleles" in err


def test_genotype_without_equals_sign_is_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["pgx", "recommend", "--genotype", "CYP2D6"])
