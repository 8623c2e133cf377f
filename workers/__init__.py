"""Papeleo workers package."""
