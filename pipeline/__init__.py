"""Papeleo pipeline package."""
