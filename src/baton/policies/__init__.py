"""Policy: which pattern runs need a person, who may approve, and when evidence removes a gate.

Everything here is pure (decisions from values) except loading the people directory and the
freeze calendar from their files, which happens only when asked.
"""
