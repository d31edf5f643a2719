"""Cross-cutting request handling, written once and installed by ``app.create_app``:
request ids, token auth, compute microversions and OpenStack error bodies."""
