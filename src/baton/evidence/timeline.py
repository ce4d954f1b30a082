"""The readable page inside an evidence pack: who or what did each thing, when, on what."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Baton evidence: {{ scope }}</title>
<style>
 body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #111; }
 table { border-collapse: collapse; width: 100%; }
 th, td { text-align: left; vertical-align: top; padding: .3rem .5rem;
          border-bottom: 1px solid #ddd; }
 th { background: #f4f4f4; }
 code, pre { font-size: 12px; white-space: pre-wrap; word-break: break-word; }
 .human { color: #0b5394; font-weight: 600; } .failed, .rejected { color: #a61c00; }
 .succeeded { color: #38761d; } .meta { color: #555; }
</style></head><body>
<h1>Evidence pack: {{ scope }}</h1>
<p class="meta">{{ events|length }} audit events, each included in the signed checkpoint of
{{ checkpoint.tree_size }} events (root <code>{{ checkpoint.root }}</code>,
signed {{ checkpoint.at }} by key <code>{{ checkpoint.key_id }}</code>). Check it offline with
<code>baton audit verify-bundle FILE --key public_key.pem</code>: this page is covered by the
signed manifest, and every event by its Merkle inclusion proof.</p>
<table>
<tr><th>#</th><th>time (UTC)</th><th>who</th><th>what</th><th>task</th><th>status</th>
<th>details</th></tr>
{% for e in events %}
<tr>
 <td>{{ e.seq }}</td><td>{{ e.at }}</td>
 <td class="{{ 'human' if e.actor.startswith('human:') else '' }}">{{ e.actor }}</td>
 <td>{{ e.kind }}</td><td>{{ e.subjects.task or '' }}</td>
 <td class="{{ e.status or '' }}">{{ e.status or '' }}</td>
 <td><code>{{ e.details }}</code></td>
</tr>
{% endfor %}
</table></body></html>
"""


def render(scope: str, events: list[dict[str, Any]], checkpoint: dict[str, Any]) -> str:
    """HTML with every value escaped: payloads carry text from logs and commands."""
    env = Environment(autoescape=True)
    rows = [
        {**e, "details": json.dumps(e["payload"], ensure_ascii=False, sort_keys=True)[:600]}
        for e in events
    ]
    return env.from_string(_PAGE).render(scope=scope, events=rows, checkpoint=checkpoint)
