import twin_engine.pharmacogenomics.response as response


def test_exported_members_are_pinned_and_resolve() -> None:
    assert response.__all__ == [
        "ComparativeAnalysis",
        "DISCLAIMER",
        "InvalidPatientProfileError",
        "MedicationEstimate",
        "MedicationResponseError",
        "MedicationResponseModel",
        "PatientProfile",
        "ResponseBundle",
        "ResponseModelConfig",
        "UnknownMedicationError",
        "compare_medications",
        "estimate_medications",
        "load_bundle",
        "save_bundle",
        "train_bundle",
    ]
    for name in response.__all__:
        assert getattr(response, name) is not None
