"""Size limits (issue 12 item 9): a template cannot build, and an incident file cannot be,
larger than its bound; the error says which limit, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.cli.runs import load_incident
from baton.errors import InputError
from baton.runbooks.template import RENDER_LIMIT, TemplateError, evaluate, render


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a' * 100000000 }}",
        "{{ ['x'] * 100000000 }}",
        "{{ 100000000 * 'a' }}",
        "{% for i in range(100000) %}{{ 'abcdefgh' }}{% endfor %}",
        "{{ 2 ** 100000000 }}",
        "{% set a = 'a' * 40000 %}{{ a + a }}",
    ],
)
def test_a_template_cannot_build_something_huge(template: str) -> None:
    with pytest.raises(TemplateError, match=r"limit|more than|too large"):
        render(template, {})


def test_ordinary_templates_still_work() -> None:
    assert render("{{ 'ab' * 3 }}-{{ 2 ** 10 }}-{{ 'x' + 'y' }}", {}) == "ababab-1024-xy"
    assert evaluate("[1] * 3", {}) == [1, 1, 1]
    assert len(render("{{ 'a' * n }}", {"n": RENDER_LIMIT})) == RENDER_LIMIT


def test_an_oversized_incident_file_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_INCIDENT_MAX_BYTES", "2048")
    from baton.settings import get_settings

    get_settings.cache_clear()
    try:
        big = tmp_path / "incident.yaml"
        big.write_text("title: x\ndescription: " + "y" * 4096 + "\n")
        with pytest.raises(InputError, match="limit is 2048"):
            load_incident(big)
        small = tmp_path / "small.yaml"
        small.write_text("title: x\n")
        assert load_incident(small).title == "x"
    finally:
        get_settings.cache_clear()
