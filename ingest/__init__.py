"""Papeleo ingest package."""
