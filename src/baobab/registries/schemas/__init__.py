"""The example registry schemas shipped with Baobab (JSON files beside this module)."""
