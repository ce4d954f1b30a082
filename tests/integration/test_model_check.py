"""`check_model` and `baton model check` against a real OpenAI-compatible HTTP server."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.agents.check import check_model
from baton.agents.provider import OFFLINE, chat_model
from baton.errors import ConfigError
from baton.settings import Settings
from tests.conftest import PY, cli_env
from tests.openai_server import OpenAIServer, error, final, running, tool_calls

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with running() as srv:
        yield srv


def openai_settings(tmp_path: Path, base_url: str, **extra: object) -> Settings:
    values: dict[str, object] = {
        "home": tmp_path / "home",
        "model_provider": "openai",
        "model_base_url": base_url,
        "model_api_key": "sk-test",
        "model_name": "gpt-test",
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


def test_offline_needs_no_model(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert chat_model(settings) == OFFLINE
    assert check_model(settings) == []


def test_missing_settings_name_each_variable(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, model_provider="openai", model_name="gpt-test")
    with pytest.raises(ConfigError) as caught:
        chat_model(settings)
    assert "BATON_MODEL_BASE_URL" in caught.value.message
    assert "BATON_MODEL_API_KEY" in caught.value.message
    assert "BATON_MODEL_NAME" not in caught.value.message
    assert check_model(settings) == [caught.value.message]


def test_base_url_must_be_http(tmp_path: Path) -> None:
    problems = check_model(openai_settings(tmp_path, "api.openai.com/v1"))
    assert problems == [
        "BATON_MODEL_BASE_URL must be an http(s) URL such as https://api.openai.com/v1, "
        "got 'api.openai.com/v1'"
    ]


def test_working_model_has_no_problems(server: OpenAIServer, tmp_path: Path) -> None:
    server.script(tool_calls(("baton_ping", {})))
    assert check_model(openai_settings(tmp_path, server.base_url)) == []
    (request,) = server.requests
    assert request.body["model"] == "gpt-test"
    assert [t["function"]["name"] for t in request.body["tools"]] == ["baton_ping"]
    assert request.headers["authorization"] == "Bearer sk-test"


def test_unreachable_endpoint(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (problem,) = check_model(openai_settings(tmp_path, f"http://127.0.0.1:{port}/v1"))
    assert problem.startswith(
        f"cannot reach the model endpoint http://127.0.0.1:{port}/v1 (BATON_MODEL_BASE_URL)"
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            error(401, "Incorrect API key provided"),
            "the model endpoint rejected the API key (BATON_MODEL_API_KEY): "
            "HTTP 401: Incorrect API key provided",
        ),
        (
            error(404, "The model `gpt-test` does not exist", code="model_not_found"),
            "model 'gpt-test' not found at {url} (BATON_MODEL_NAME; BATON_MODEL_BASE_URL must "
            "be the API root, e.g. ending in /v1): HTTP 404: The model `gpt-test` does not exist",
        ),
        (
            error(400, "registry.ollama.ai/library/gemma:2b does not support tools"),
            "model 'gpt-test' does not support tool calling, which agents need "
            "(BATON_MODEL_NAME): HTTP 400: registry.ollama.ai/library/gemma:2b does not "
            "support tools",
        ),
        (
            final("pong"),
            "model 'gpt-test' answered without calling the tool it was given: it does not "
            "seem to support tool calling, which agents need (BATON_MODEL_NAME)",
        ),
        (
            error(503, "overloaded"),
            "the model endpoint {url} answered HTTP 503: overloaded",
        ),
    ],
    ids=["bad-key", "unknown-model", "no-tool-support", "ignores-tools", "server-error"],
)
def test_each_failure_is_one_clear_sentence(
    server: OpenAIServer, tmp_path: Path, reply: object, expected: str
) -> None:
    server.script(reply)  # type: ignore[arg-type]
    problems = check_model(openai_settings(tmp_path, server.base_url))
    assert problems == [expected.format(url=server.base_url)]
    assert len(server.requests) == 1  # a check never retries


def test_cli_model_check(server: OpenAIServer, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    env.update(
        BATON_MODEL_PROVIDER="openai",
        BATON_MODEL_BASE_URL=server.base_url,
        BATON_MODEL_API_KEY="sk-test",
        BATON_MODEL_NAME="gpt-test",
    )
    server.script(error(401, "Incorrect API key provided"))
    done = subprocess.run(
        [PY, "-m", "baton.cli.main", "model", "check", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is False and result["model"] == "gpt-test"
    assert "rejected the API key (BATON_MODEL_API_KEY)" in result["problems"][0]
