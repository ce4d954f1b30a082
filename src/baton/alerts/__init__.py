"""Alerts from monitoring tools, from webhook to incident.

`vendors` parses each source's documented payload into `Alert`s and `signatures`
authenticates the raw request; both are pure (no I/O, no settings), so the API checks the
signature on the raw bytes first and only then hands the decoded JSON to `vendors.parse`.
"""
