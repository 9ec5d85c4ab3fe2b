"""Real processes for fault tests: start them, find their descendants, and always stop them.

Fault tests kill workers with SIGKILL, so nothing may rely on a process cleaning up after
itself: every process a test starts runs in a session of its own and is stopped here with all
its descendants (including those re-parented to init after their parent was killed), whether
the test passed or not.
"""

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil


def wait_for(what: str, condition: Callable[[], object], timeout: float, every: float = 0.2):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def stop_processes(procs: list[psutil.Process], grace: float = 10.0) -> None:
    """SIGTERM the processes, then SIGKILL those still alive after ``grace`` seconds."""
    alive = []
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
            alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(alive, timeout=grace)
    for proc in alive:
        with suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace)


class ProcessTree:
    """A started process and every descendant it was seen with, so all can be stopped."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen
        self.root = psutil.Process(popen.pid)
        self._seen: dict[int, psutil.Process] = {}

    def descendants(self) -> list[psutil.Process]:
        """The living descendants now; each is remembered for :meth:`stop`."""
        try:
            found = self.root.children(recursive=True)
        except psutil.NoSuchProcess:
            found = []
        for proc in found:
            self._seen.setdefault(proc.pid, proc)
        return found

    def stop(self) -> None:
        """Stop the root and everything it started, orphans included."""
        self.descendants()
        stop_processes([self.root, *self._seen.values()])
        self.popen.wait(timeout=30)
        with suppress(ProcessLookupError):  # whatever is left in the root's session
            os.killpg(self.popen.pid, signal.SIGKILL)


@contextmanager
def started(args: list[str], log: Path, **popen_kwargs) -> Iterator[ProcessTree]:
    """Run ``args`` (stdout and stderr to ``log``) for the block; stop its whole tree after."""
    with open(log, "wb") as out:
        popen = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen_kwargs
        )
    tree = ProcessTree(popen)
    try:
        yield tree
    finally:
        tree.stop()
