"""Integrations and action executors: everything that reaches outside Baton.

This layer never touches the database; the action ledger in `store` records intents and
results around the calls made here.
"""
