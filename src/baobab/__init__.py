"""Baobab: foundational digital public infrastructure as one digital public good."""

__version__ = "0.1.0"
