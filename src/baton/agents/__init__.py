"""Agents as graph nodes: the model provider, the one tool-calling loop, and the ITSM-change
and log-analysis agents (with an offline reasoner for each)."""
