"""The only package that knows both FHIR and the twin's data frames.

Comes with the terminology/mappings issue (wearables, questionnaires, EHR data -> FHIR; FHIR -> frames)
and the twin issues (twin results -> Observation, RiskAssessment, MedicationKnowledge).
"""
