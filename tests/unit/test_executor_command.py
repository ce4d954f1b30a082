"""The command executor: argv without a shell, a minimal env, bounded output, group kill."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baton.domain.envelope import ResultStatus
from baton.domain.params import CommandParams
from baton.tools.executors.base import ExecutionContext, truncate
from baton.tools.executors.command import CommandExecutor


def ctx(timeout: float | None = None) -> ExecutionContext:
    return ExecutionContext(
        run_id="run-1",
        task_id="restart",
        attempt=1,
        idempotency_key="run-1:restart:1",
        intent_at=datetime(2025, 1, 1, tzinfo=UTC),
        timeout=timeout,
    )


def run(argv: list[str], *, timeout: float | None = 30.0, limit: int = 65536, **kw: object):
    params = CommandParams.model_validate({"argv": argv, **kw})
    return CommandExecutor(output_limit_bytes=limit).execute(params, ctx(timeout))


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def process_gone(pid: int) -> bool:
    """Dead means no such pid, or a zombie nobody has reaped yet (it runs no code)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def test_success_reports_output_and_exact_invocation() -> None:
    result = run(["echo", "hello"])

    assert result.status is ResultStatus.SUCCEEDED
    assert result.error is None
    assert result.data["exit_code"] == 0
    assert result.data["stdout"] == "hello\n"
    assert result.data["stderr"] == ""
    assert isinstance(result.data["duration_ms"], int)
    assert result.invocation["argv"] == ["echo", "hello"]
    assert result.invocation["timeout"] == 30.0
    assert result.invocation["env_keys"] == ["HOME", "LANG", "PATH", "TZ"]


def test_unexpected_exit_code_fails_with_last_stderr_line() -> None:
    result = run(["sh", "-c", "echo first >&2; echo 'disk full' >&2; exit 3"])

    assert result.status is ResultStatus.FAILED
    assert result.error == "exit code 3: disk full"
    assert result.data["exit_code"] == 3


def test_expected_non_zero_exit_succeeds() -> None:
    result = run(["sh", "-c", "exit 3"], expect_exit=[0, 3])

    assert result.status is ResultStatus.SUCCEEDED


def test_missing_program_is_a_failed_result_not_an_exception() -> None:
    result = run(["baton-no-such-program-xyz", "--help"])

    assert result.status is ResultStatus.FAILED
    assert result.error == "command not found: baton-no-such-program-xyz"
    assert result.invocation["argv"] == ["baton-no-such-program-xyz", "--help"]


def test_missing_working_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "gone"

    result = run(["echo", "x"], cwd=str(missing))

    assert result.status is ResultStatus.FAILED
    assert result.error is not None
    assert result.error.startswith(f"working directory unusable: {missing}")


def test_argv_is_never_interpreted_by_a_shell() -> None:
    result = run(["echo", "$HOME; rm -rf /"])

    assert result.status is ResultStatus.SUCCEEDED
    assert result.data["stdout"] == "$HOME; rm -rf /\n"


def test_environment_is_minimal_plus_params(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_TEST_SECRET", "leaked")

    result = run(
        ["sh", "-c", 'echo "${BATON_TEST_SECRET-unset} $TZ $LANG $EXTRA"'], env={"EXTRA": "x"}
    )

    assert result.data["stdout"] == "unset UTC C.UTF-8 x\n"
    assert "EXTRA" in result.invocation["env_keys"]


def test_output_is_truncated_to_the_limit_with_a_marker() -> None:
    result = run([sys.executable, "-c", "print('a' * 10000, end='')"], limit=100)

    assert result.status is ResultStatus.SUCCEEDED
    assert result.data["stdout"] == "a" * 100 + "…[truncated 9900 bytes]"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    # sh -> sh -> sleep: the sleep is a grandchild, in the background of a child.
    script = f"echo started; sh -c 'sleep 60 & echo $! > {pidfile}; wait' & wait"

    started = time.monotonic()
    result = run(["sh", "-c", script], timeout=2.0)
    elapsed = time.monotonic() - started

    assert result.status is ResultStatus.TIMEOUT
    assert result.error == "timed out after 2s; process group killed"
    assert result.data["stdout"] == "started\n"  # partial output is kept
    assert elapsed < 10
    assert wait_for(pidfile.exists)
    pid = int(pidfile.read_text())
    assert wait_for(lambda: process_gone(pid)), f"grandchild {pid} survived the timeout"


def test_background_leftovers_do_not_hold_the_action_open() -> None:
    started = time.monotonic()
    result = run(["sh", "-c", "sleep 60 & echo done"], timeout=None)

    assert result.status is ResultStatus.SUCCEEDED
    assert result.data["stdout"] == "done\n"
    assert time.monotonic() - started < 10


def test_declared_not_idempotent() -> None:
    assert CommandExecutor(1024).is_idempotent(CommandParams(argv=["true"])) is False


def test_truncate_never_splits_a_character() -> None:
    text = "é" * 10  # two bytes each

    assert truncate(text, 5) == "éé…[truncated 16 bytes]"
    assert truncate(text, 20) == text
    assert truncate(b"ab", 10, total_bytes=50) == "ab…[truncated 48 bytes]"
