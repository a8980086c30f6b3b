"""``python -m baobab``: the ``baobab`` command (how ``serve --workers`` starts its workers)."""

from baobab.cli import main

main()
