"""The vault: the only code that sees a secret in plaintext or imports a cipher (next: issue 9).

Contract: AES-256-GCM (`cryptography`) with a key ring from the environment
(`MARKETPLACE_ENCRYPTION_KEYS`, `kid:<base64>` entries, the first encrypts, all decrypt; also
`*_FILE`). `seal(plaintext, *, associated_data) -> bytes` and `open_sealed(blob, *,
associated_data) -> str`. Every blob carries its key id; the associated data binds it to what
it belongs to (organization, owner, plugin, field), so a blob copied to another row or tenant
fails to open. The vault knows no models: callers pass the associated data. Tampered, truncated
or unknown-key blobs raise one exception whose message holds no secret. A management command
re-encrypts everything under the primary key, online and resumable.
`tests/test_house_rules.py` keeps cipher imports here.
"""
