"""The generic webhook: alerts only, each one JSON POST (kind, plain text, payload) to any URL,
optionally signed with HMAC-SHA256 (RFC 2104, https://www.rfc-editor.org/rfc/rfc2104). The
body and the signature are documented in ``sender``."""
