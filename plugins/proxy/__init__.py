"""The operation proxy: calling a plugin operation for a user (next: issue 10).

Contract: for an installation, an operation and a flat `arguments` object: check the caller and
the policy (installations' one policy function, including per-user allow-lists on the actual
argument values), validate the arguments against the pinned spec, build the request from the
pinned spec only, inject the credential (`plugins/credentials/`), send it through the one
outbound client, apply `x-filter` / `x-output-modules` in `plugins/sandbox/`, record a call event
off the request path, and answer `{status, data, text, request_id}`.
"""
