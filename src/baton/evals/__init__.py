"""Agent evals: folders of recorded incidents replayed at their detection time, scored by code.

`loader` reads a suite (every problem with file:line), `replay` runs the agents on one case
in a throwaway home, `score` checks the answer, `runner` puts a suite run together, and
`report`/`results` publish it. Nothing here touches the database or the wall clock's idea
of "now" for the data: each case carries its own.
"""
