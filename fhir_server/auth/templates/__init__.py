"""Jinja2 pages of the authorization server (login, patient picker, consent, errors); package data."""
