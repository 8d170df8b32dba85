"""The Lambda@Edge function as the local edge runs it: the deployment zip, unpacked
into a read-only folder, loaded by a pool of fresh interpreters (python3.13, like
the runtime, when the machine has it) that hold only the role's credentials in
their environment.

Usage::

    with FunctionPool.from_zip(Path("lambda/deployment-package.zip"), size=4) as fn:
        outcome = fn.invoke(event)       # Outcome(result=..., error=None, ms=0.2)
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import settings

WORKER = Path(__file__).with_name("worker.py")


class FunctionError(RuntimeError):
    """The function could not start or crashed (CloudFront answers 503)."""


@dataclass
class Outcome:
    result: Any = None
    error: str | None = None
    ms: float = 0.0


def default_python() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from build_package import find_python313

    return find_python313() or sys.executable


def role_environment(
    access_key_id: str = settings.ACCESS_KEY_ID,
    secret_access_key: str = settings.SECRET_ACCESS_KEY,
    session_token: str | None = settings.SESSION_TOKEN,
) -> dict[str, str]:
    """What Lambda@Edge gives a function: reserved variables only."""
    env = {
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret_access_key,
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "us-east-1.mrap-edge-local",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
    }
    if session_token:
        env["AWS_SESSION_TOKEN"] = session_token
    return env


class _Worker:
    def __init__(self, python: str, task: Path, env: dict[str, str], log: Any) -> None:
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [python, "-I", "-S", "-B", str(WORKER), str(task), str(write_fd)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            pass_fds=(write_fd,),
            text=True,
            start_new_session=True,  # Ctrl-C goes to the edge, which closes its workers
        )
        os.close(write_fd)
        self.answers = os.fdopen(read_fd, "r")
        self._log_thread = threading.Thread(target=self._pump_logs, args=(log,), daemon=True)
        self._log_thread.start()
        ready = self.answers.readline()
        info = json.loads(ready) if ready else {"ready": False, "error": "the function process exited"}
        if not info.get("ready"):
            self.close()
            raise FunctionError(f"function init failed: {info.get('error')}")
        self.init_ms = info.get("init_ms", 0.0)

    def _pump_logs(self, log: Any) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            log(line.rstrip("\n"))

    def invoke(self, event: dict[str, Any], timeout: float | None = None) -> Outcome:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"event": event}) + "\n")
            self.proc.stdin.flush()
            if timeout is not None:
                poller = select.poll()  # not select(): descriptors above 1023 under load
                poller.register(self.answers.fileno(), select.POLLIN)
                if not poller.poll(timeout * 1000):
                    raise FunctionError(f"the function timed out after {timeout:g} s (the template's Timeout)")
            line = self.answers.readline()
        except (BrokenPipeError, OSError) as exc:
            raise FunctionError(f"function process failed: {exc}") from None
        if not line:
            raise FunctionError("function process exited during the invocation")
        answer = json.loads(line)
        return Outcome(answer.get("result"), answer.get("error"), answer.get("ms", 0.0))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.answers.close()


class PoolBusy(FunctionError):
    """No worker became free in time (CloudFront answers 503: throttled)."""


class FunctionPool:
    """At most ``size`` workers, ever; each is reused (warm) like a Lambda execution
    environment. A request waits up to ``wait`` seconds for a free worker (then
    ``PoolBusy``); a worker that crashes is dropped and a fresh one started in its
    place on the next request, so the count never exceeds ``size``."""

    def __init__(
        self,
        task: Path,
        size: int = 4,
        env: dict[str, str] | None = None,
        python: str | None = None,
        log: Any = None,
        owned_dir: Path | None = None,
        wait: float = 10.0,
        timeout: float | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a function pool needs at least one worker")
        self.task = task
        self.python = python or default_python()
        self.size = size
        self.wait = wait
        self.timeout = timeout  # the function's Timeout: a stuck invocation is killed, 503
        self._env = env or role_environment()
        self._log = log or (lambda line: None)
        self._owned_dir = owned_dir
        self._idle: list[_Worker] = []
        self._count = 0  # live workers plus those being started: never above size
        self._cond = threading.Condition()
        self._closed = False
        self.spawned = 0  # workers started over the pool's life (tests, logs)
        # One worker up front: an INIT failure shows at start, not on the first request.
        with self._cond:
            self._count = 1
        try:
            self._idle.append(self._spawn())
        except BaseException:
            self._count = 0
            raise

    @property
    def live(self) -> int:
        with self._cond:
            return self._count

    @classmethod
    def from_zip(cls, zip_path: Path, **kwargs: Any) -> FunctionPool:
        if not zip_path.exists():
            raise FunctionError(f"{zip_path} does not exist: run `make package`")
        folder = Path(tempfile.mkdtemp(prefix="mrap-edge-task-"))
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(folder)
        for path in sorted(folder.rglob("*"), reverse=True):  # read-only, like /var/task
            path.chmod(0o555 if path.is_dir() else 0o444)
        folder.chmod(0o555)
        return cls(folder, owned_dir=folder, **kwargs)

    def _spawn(self) -> _Worker:
        worker = _Worker(self.python, self.task, self._env, self._log)
        self.spawned += 1
        return worker

    def _acquire(self, deadline: float) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise FunctionError("the function pool is closed")
                if self._idle:
                    return self._idle.pop()
                if self._count < self.size:
                    self._count += 1  # reserve the slot before starting outside the lock
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolBusy(f"all {self.size} function workers stayed busy")
                self._cond.wait(remaining)
        try:
            return self._spawn()
        except BaseException:
            self._release_slot()
            raise

    def _release_slot(self) -> None:
        with self._cond:
            self._count -= 1
            self._cond.notify()

    def invoke(self, event: dict[str, Any], deadline: float | None = None) -> Outcome:
        """Run one invocation; ``deadline`` (time.monotonic()) bounds the wait for a worker."""
        worker = self._acquire(time.monotonic() + self.wait if deadline is None else deadline)
        try:
            outcome = worker.invoke(event, self.timeout)
        except BaseException:
            worker.close()  # crashed or interrupted: replaced on demand
            self._release_slot()
            raise
        with self._cond:
            if self._closed:
                worker.close()
            else:
                self._idle.append(worker)
                self._cond.notify()
        return outcome

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in workers:
            worker.close()
        if self._owned_dir is not None:
            for path in [self._owned_dir, *self._owned_dir.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
            shutil.rmtree(self._owned_dir, ignore_errors=True)

    def __enter__(self) -> FunctionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
