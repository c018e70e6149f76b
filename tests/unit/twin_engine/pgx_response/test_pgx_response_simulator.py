import numpy as np
import pandas as pd
import pytest

from twin_engine.errors import TwinEngineError
from twin_engine.pharmacogenomics.response import catalogue
from twin_engine.simulate import pgx_cohort as sim


def test_same_config_gives_identical_cohort_and_records_fold_changes() -> None:
    a = sim.simulate_pgx_cohort(sim.PgxCohortConfig(n_patients=500, seed=3))
    b = sim.simulate_pgx_cohort(sim.PgxCohortConfig(n_patients=500, seed=3))
    pd.testing.assert_frame_equal(a.episodes, b.episodes)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    planted = {(f.medication, f.gene, f.phenotype): f.fold_change for f in a.fold_changes}
    assert planted[("escitalopram", "CYP2C19", "PM")] == 2.0
    assert not sim.simulate_pgx_cohort(sim.PgxCohortConfig(n_patients=500, seed=4)).episodes.equals(a.episodes)


def test_episodes_hold_only_observables_and_truth_holds_the_oracle() -> None:
    cohort = sim.simulate_pgx_cohort(sim.PgxCohortConfig(n_patients=300, seed=1))
    assert sim.EXPOSURE_FOLD not in cohort.episodes and sim.RESPONSE in cohort.truth
    assert cohort.truth.index.equals(cohort.episodes.index)
    for outcome in sim.OUTCOMES:
        assert cohort.truth[outcome].between(0, 1).all()
        assert set(cohort.episodes[outcome].unique()) <= {0, 1}


def test_cyp2c19_poor_metabolizers_have_higher_escitalopram_exposure() -> None:
    ep = sim.simulate_pgx_cohort(sim.PgxCohortConfig(n_patients=20_000, seed=2)).episodes
    esc = ep[(ep[sim.MEDICATION] == "escitalopram") & ep[sim.TDM_LOG_EXPOSURE].notna()]
    level = esc.groupby(sim.GENES[1])[sim.TDM_LOG_EXPOSURE].mean()
    assert level["PM"] > level["IM"] > level["NM"] > level["RM"] > level["UM"]


def test_higher_exposure_raises_side_effects_and_low_exposure_lowers_response() -> None:
    row = {
        sim.MEDICATION: "paroxetine", sim.DIAGNOSIS: "MDD", sim.AGE: 40, sim.FEMALE: 1, sim.PRIOR_FAILURES: 0,
        sim.PRIOR_SAME_CLASS_FAILURE: 0, sim.CHRONIC_PAIN: 0, sim.INSOMNIA: 0, sim.SUBSTANCE_USE: 0,
        "CYP2C19": "NM", "CYP2B6": "NM",
    }  # fmt: skip
    frame = pd.DataFrame([{**row, "CYP2D6": ph} for ph in ("PM", "NM", "UM")])
    p = sim.true_probabilities(frame)
    assert np.all(np.diff(p[sim.GI_UPSET]) < 0)  # PM > NM > UM
    assert p[sim.RESPONSE][2] < p[sim.RESPONSE][1] == pytest.approx(p[sim.RESPONSE][0])


def test_catalogue_names_the_simulators_drugs_and_genes() -> None:
    assert catalogue.NAMES == sim.MEDICATION_NAMES
    for med in sim.MEDICATIONS:
        assert catalogue.info(med.name).genes == med.genes
        assert catalogue.info(med.name).drug_class == med.drug_class


def test_unknown_medication_is_refused() -> None:
    with pytest.raises(TwinEngineError, match="unknown simulated medication"):
        sim.medication("clozapine")
