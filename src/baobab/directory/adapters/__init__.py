"""Concrete adapters of the directory's ports."""
