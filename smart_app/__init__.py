"""The SMART app an EHR launches in its window: the patient's twin at a glance.

Comes with the SMART app issue; it talks to fhir_server only over HTTP.
"""
