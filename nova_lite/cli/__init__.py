"""``nova-lite``: the user command-line client.

It talks to the cloud only over HTTP, like any OpenStack client: keystoneauth1
for authentication and the service catalog, argparse for the command line, rich
for tables and live progress. It may import the standard library,
keystoneauth1, rich and ``nova_lite.version`` -- never the API, the database or
the services.

Flow: ``main`` parses the command line and builds a ``session.Client``; a
command module (``servers``, ``server_actions``, ``flavors``, ``images``,
``keypairs``) makes the
HTTP calls, using ``resolve`` for name-or-id lookups and ``wait`` for polling,
and hands rows to ``output``. Every failure is an ``errors.CliError`` that
``main`` prints as one ``Error: ...`` line.
"""
