"""Console scripts: one module per command, each only wiring config, logging
and the service it starts (``nova-lite`` itself lives in ``nova_lite.cli``)."""
