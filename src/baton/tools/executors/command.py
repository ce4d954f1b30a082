"""Run a program from an argv list, in its own session, with a bounded capture.

No shell ever sees the argv, so a rendered template cannot inject a second command. The
program runs as the leader of a new session: on timeout, and when it exits, the whole
process group is killed, so nothing it started in the background outlives the action or
keeps our pipes open.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from typing import IO, Any

from pydantic import BaseModel

from baton.domain.envelope import ActionResult, ResultStatus
from baton.domain.params import CommandParams
from baton.tools.executors.base import (
    REDACTED,
    ExecutionContext,
    is_secret_name,
    one_line,
    require_params,
    truncate,
)

_READ_CHUNK = 65536
_TAIL_BYTES = 4096
"""Kept from the end of stderr even past the limit, so the error can quote its last line."""
_DRAIN_SECONDS = 5.0
"""How long to wait for the pipes to close after the process group is gone."""


class _Capture:
    """Reads one pipe to its end on a thread, storing at most `limit` bytes of it."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._lock = threading.Lock()
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        fd = self._stream.fileno()
        try:
            while chunk := os.read(fd, _READ_CHUNK):
                with self._lock:
                    self._total += len(chunk)
                    room = self._limit - len(self._head)
                    if room > 0:
                        self._head += chunk[:room]
                    self._tail = (self._tail + chunk)[-_TAIL_BYTES:]
        except OSError:
            pass  # the pipe broke: keep what we have
        finally:
            self._stream.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def text(self) -> str:
        with self._lock:
            return truncate(bytes(self._head), self._limit, total_bytes=self._total)

    def last_line(self) -> str:
        with self._lock:
            tail = bytes(self._tail)
        lines = tail.decode("utf-8", "replace").strip().splitlines()
        return lines[-1].strip() if lines else ""


def minimal_env(extra: dict[str, str]) -> dict[str, str]:
    """A predictable environment: our secrets and locale quirks do not leak into commands."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/"),
        "TZ": "UTC",
    }
    env.update(extra)
    return env


def _kill_group(pgid: int) -> None:
    # ESRCH: the group is already empty. The pgid is the leader's pid; while any member
    # lives the kernel cannot hand that id to a new group, so this never hits a stranger.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _exit_error(code: int, stderr_line: str) -> str:
    if code < 0:
        try:
            reason = f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            reason = f"killed by signal {-code}"
    else:
        reason = f"exit code {code}"
    return one_line(f"{reason}: {stderr_line}" if stderr_line else reason)


class CommandExecutor:
    """Executor `command`: argv, no shell, minimal env, timeout that kills the group."""

    name = "command"
    params_model: type[BaseModel] = CommandParams

    def __init__(self, output_limit_bytes: int) -> None:
        self._limit = output_limit_bytes

    def is_idempotent(self, params: BaseModel) -> bool:
        """An arbitrary program may change anything: never assume a repeat is safe."""
        require_params(params, CommandParams)
        return False

    def describe(self, params: BaseModel) -> dict[str, Any]:
        p = require_params(params, CommandParams)
        env = {k: REDACTED if is_secret_name(k) else v for k, v in p.env.items()}
        return {"argv": list(p.argv), "cwd": p.cwd, "env": env, "expect_exit": p.expect_exit}

    def execute(self, params: BaseModel, ctx: ExecutionContext) -> ActionResult:
        p = require_params(params, CommandParams)
        env = minimal_env(p.env)
        invocation: dict[str, Any] = {
            "argv": list(p.argv),
            "cwd": p.cwd,
            "env_keys": sorted(env),
            "timeout": ctx.timeout,
        }
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                p.argv,
                shell=False,
                cwd=p.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            return ActionResult(
                status=ResultStatus.FAILED,
                error=_start_error(exc, p),
                invocation=invocation,
            )
        assert proc.stdout is not None and proc.stderr is not None  # both are PIPE
        out = _Capture(proc.stdout, self._limit)
        err = _Capture(proc.stderr, self._limit)
        timed_out = False
        try:
            proc.wait(timeout=ctx.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # The group id is the leader's pid (new session); it still names the group
            # after the leader exits, so background children are reached either way.
            _kill_group(proc.pid)
            proc.wait()
        out.join(_DRAIN_SECONDS)
        err.join(_DRAIN_SECONDS)
        duration_ms = round((time.monotonic() - started) * 1000)
        data = {
            "exit_code": proc.returncode,
            "stdout": out.text(),
            "stderr": err.text(),
            "duration_ms": duration_ms,
        }
        if timed_out:
            return ActionResult(
                status=ResultStatus.TIMEOUT,
                data=data,
                error=f"timed out after {ctx.timeout:g}s; process group killed",
                invocation=invocation,
            )
        if proc.returncode not in p.expect_exit:
            return ActionResult(
                status=ResultStatus.FAILED,
                data=data,
                error=_exit_error(proc.returncode, err.last_line()),
                invocation=invocation,
            )
        return ActionResult(status=ResultStatus.SUCCEEDED, data=data, invocation=invocation)


def _start_error(exc: OSError, p: CommandParams) -> str:
    """Name what could not be started: the program or the working directory."""
    program = p.argv[0]
    if p.cwd is not None and exc.filename == p.cwd:
        return one_line(f"working directory unusable: {p.cwd}: {exc.strerror}")
    if isinstance(exc, FileNotFoundError):
        return one_line(f"command not found: {program}")
    if isinstance(exc, PermissionError):
        return one_line(f"permission denied: {program}")
    return one_line(f"cannot start {program}: {exc.strerror or exc}")
