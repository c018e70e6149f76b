"""Data files of the wearable mappings (a package so that setuptools ships the CSV with it)."""
