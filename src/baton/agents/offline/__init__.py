"""Deterministic reasoners: the same tools in a fixed plan, findings derived by algorithm."""
