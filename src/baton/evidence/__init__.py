"""Signed audit checkpoints and evidence packs a regulator can verify offline."""
