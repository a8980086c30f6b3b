"""Adapters of the registries block: SQL tables and store, migrations."""
