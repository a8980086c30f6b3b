"""Adapters of the consent block: SQL tables and stores."""
