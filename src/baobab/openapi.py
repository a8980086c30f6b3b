"""The OpenAPI document of every block, generated from the code; `baobab openapi` commits them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from baobab.asgi import create_app
from baobab.bootstrap import bootstrap
from baobab.infra.settings import BLOCKS, Settings


def documents() -> dict[str, str]:
    """Block name -> its OpenAPI document as stable, pretty-printed JSON."""
    with tempfile.TemporaryDirectory(prefix="baobab-openapi-") as data_dir:
        # A migrated scratch database: the platform's background workers (the ledger's expiry
        # sweep) run while the documents are generated and must find their tables.
        settings = Settings(data_dir=Path(data_dir))
        platform = bootstrap(settings, upgrade=True)
        try:
            result = {}
            for block in (*BLOCKS, "audit"):
                spec = create_app(settings, platform=platform, blocks=[block]).openapi()
                result[block] = (
                    json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
                )
            return result
        finally:
            platform.close()
