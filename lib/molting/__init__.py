"""Molting: give a small open language model a consistent personality."""

__version__ = "0.1.0"
