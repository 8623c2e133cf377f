"""Papeleo storage package."""
