"""The HTTP front: Identity v3, Compute v2.1 and Image v2 subsets in one Flask app.

    request ─> request_id ─> input_limits (sizes, bytes no handler should see)
            ─> auth (X-Auth-Token -> RequestContext) ─> microversion (compute)
            ─> policy (the route's one oslo.policy rule: policy.py, policies/)
            ─> controller (one module per resource; thin: validate, one transaction, view)
            ─> errors (any NovaLiteError / HTTP error -> OpenStack error body)

URL layout (one port, like devstack's path-based endpoints):
    /identity/v3/...     identity/  (tokens, catalog, projects, users)
    /compute/v2.1/...    compute/   (versions, servers, flavors, keypairs, images proxy)
    /image/v2/...        image/     (images and their files)

Controllers may import ``db``, ``rpc``, ``conf``, ``objects``, ``network`` (the
control plane) and this package's shared modules; they never import conductor,
scheduler or compute (tests/unit/test_import_layers.py): work is handed on
through the outbox (``rpc.outbox``) and the API never waits on a worker.
"""
