"""Small programs the test runbooks run as `command` actions (argv, no shell)."""

from __future__ import annotations

import sys

PY = sys.executable

# Append a line to a file: the externally visible "effect" whose count we assert.
APPEND = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')"

# Create <dir>/<mine>, then wait (bounded) for <dir>/<other>: succeeds only if both run at once.
BARRIER = (
    "import os, sys, time\n"
    "d, mine, other = sys.argv[1:4]\n"
    "open(os.path.join(d, mine), 'w').close()\n"
    "deadline = time.monotonic() + 15\n"
    "while time.monotonic() < deadline:\n"
    "    if os.path.exists(os.path.join(d, other)): sys.exit(0)\n"
    "    time.sleep(0.01)\n"
    "sys.exit('the other branch never ran alongside this one')\n"
)

# Append an effect, mark that we started, then block until a release file appears.
EFFECT_THEN_BLOCK = (
    "import os, sys, time\n"
    "effects, started, release = sys.argv[1:4]\n"
    "open(effects, 'a').write('effect\\n')\n"
    "open(started, 'w').write(str(os.getpid()))\n"
    "while not os.path.exists(release): time.sleep(0.01)\n"
)

# Fail until the counter file reaches N lines (counts attempts).
FLAKY = (
    "import sys\n"
    "path, succeed_on = sys.argv[1], int(sys.argv[2])\n"
    "open(path, 'a').write('attempt\\n')\n"
    "n = sum(1 for _ in open(path))\n"
    "sys.exit(0 if n >= succeed_on else f'attempt {n} fails')\n"
)


def lines(path: object) -> list[str]:
    try:
        with open(str(path)) as fh:
            return fh.read().splitlines()
    except FileNotFoundError:
        return []
