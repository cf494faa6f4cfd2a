#!/usr/bin/env python3
"""CI's front-door check: ``oms demo`` as a new user runs it, after ``pip install .``.

Run with the Python of the virtual environment the project was installed into
(non-editable); ``.ci/run`` does. In a scratch directory outside the repository
it starts ``oms demo --port <a free port>``, then waits until

1. the server answers ``/`` (the sign-in page for a visitor),
2. the dispatcher signs in over the API (``POST /api/login``, the demo's
   ``dispatcher`` / ``dispatch-demo``) and gets the dispatcher map page with
   every script, style sheet and vendored asset it links to,
3. the first outage of the demo storm shows in ``GET /api/outages``;

then it stops the demo with SIGINT (Ctrl-C), and checks that it exited 0
without a traceback and left nothing in the scratch directory. Every step
shares one deadline (``--timeout``). It prints what it measured; on any
failure it says which step failed and shows the end of the demo's output,
and exits 1.

Standard library only: it runs in the user's environment, which has no test tools.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
USER, PASSWORD = "dispatcher", "dispatch-demo"  # the demo's dispatcher (README)


class FrontDoorError(Exception):
    """A step of the check failed; the message says which and why."""


class Unreachable(FrontDoorError):
    """No HTTP answer (yet): refused, reset or timed out."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_all(stream: IO[bytes]) -> str:
    stream.flush()
    stream.seek(0)
    return stream.read().decode("utf-8", "replace")


def tail(stream: IO[bytes], lines: int = 40) -> str:
    return "\n".join(read_all(stream).splitlines()[-lines:])


class Demo:
    """``oms demo`` running in ``workdir``, its output kept outside ``workdir``."""

    def __init__(
        self, oms: Path, workdir: Path, port: int, deadline: float, output: IO[bytes]
    ) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.deadline = deadline
        self.output = output
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OMS_DB")}
        self.command = [str(oms), "demo", "--port", str(port)]
        self.proc = subprocess.Popen(
            self.command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's job is
        )
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise FrontDoorError(f"`{' '.join(self.command)}` exited early with code {code}")

    def request(self, path: str, body: Any = None) -> tuple[int, str, str]:
        """Status, final URL path and text of one request (redirects followed)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        timeout = max(1.0, min(15.0, self.remaining()))
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                url = resp.geturl()
                text = resp.read().decode("utf-8", "replace")
                return resp.status, urllib.parse.urlsplit(url).path, text
        except urllib.error.HTTPError as exc:
            return exc.code, path, exc.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out
            raise Unreachable(f"{path}: {type(exc).__name__}: {exc}") from None

    def wait_for(self, what: str, probe: Any, every: float = 0.25) -> Any:
        """Call ``probe`` until it returns something truthy, the demo dies or time runs out."""
        last = "no answer yet"
        while True:
            self.alive()
            try:
                got = probe()
                if got:
                    return got
            except Unreachable as exc:
                last = str(exc)
            if self.remaining() <= 0:
                raise FrontDoorError(f"timed out waiting for {what} (last: {last})")
            time.sleep(every)

    def stop(self) -> int:
        """Ctrl-C: SIGINT to the demo's process group; its exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=max(5.0, min(30.0, self.remaining())))
        except subprocess.TimeoutExpired:
            raise FrontDoorError("the demo did not stop within 30 s of SIGINT (Ctrl-C)") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def assets_of(page: str) -> list[str]:
    """The site's own scripts, style sheets and icons a page links to."""
    links = re.findall(r"""(?:src|href)=["'](/[^"'#?]+)""", page)
    return sorted({u for u in links if u.startswith(("/static/", "/vendor/"))})


def check(oms: Path, workdir: Path, timeout: float) -> dict[str, Any]:
    # The demo's output goes to an unnamed file elsewhere: workdir must stay empty.
    with tempfile.TemporaryFile() as output:
        return _check(oms, workdir, timeout, output)


def _check(oms: Path, workdir: Path, timeout: float, output: IO[bytes]) -> dict[str, Any]:
    start = time.monotonic()
    port = free_port()
    demo = Demo(oms, workdir, port, start + timeout, output)
    measured: dict[str, Any] = {"command": " ".join(demo.command), "workdir": str(workdir)}

    def since() -> float:
        return round(time.monotonic() - start, 2)

    def say(message: str) -> None:
        print(f"front door: {since():6.1f} s  {message}", flush=True)

    try:
        say(f"started `{measured['command']}` in {workdir}")

        def login_page() -> bool:
            status, _, text = demo.request("/")
            return status == 200 and "password" in text.lower()

        demo.wait_for(f"the page at {demo.base}/ (HTTP 200)", login_page)
        measured["page_s"] = since()
        say(f"{demo.base}/ serves the sign-in page")

        status, _, text = demo.request("/api/login", {"username": USER, "password": PASSWORD})
        if status != 200:
            raise FrontDoorError(f"POST /api/login as {USER}: HTTP {status}: {text[:300]}")
        status, where, page = demo.request("/")
        if status != 200 or where != "/":
            raise FrontDoorError(f"the dispatcher map after sign-in: HTTP {status} at {where}")
        assets = assets_of(page)
        if not assets:
            raise FrontDoorError("the dispatcher page links no /static or /vendor assets")
        for asset in assets:
            status, _, _ = demo.request(asset)
            if status != 200:
                raise FrontDoorError(f"{asset}, linked by the dispatcher page: HTTP {status}")
        measured["dispatcher_page_s"] = since()
        measured["assets"] = len(assets)
        say(f"signed in as {USER}: the dispatcher map and its {len(assets)} assets are served")

        def first_outage() -> Any:
            status, _, text = demo.request("/api/outages")
            if status != 200:
                raise FrontDoorError(f"GET /api/outages: HTTP {status}: {text[:200]}")
            outages = json.loads(text)
            return outages[0] if outages else None

        outage = demo.wait_for("the first outage of the demo storm on /api/outages", first_outage)
        measured["first_outage_s"] = since()
        measured["first_outage"] = {k: outage.get(k) for k in ("id", "state", "kind")}
        say(f"first outage on /api/outages: {json.dumps(measured['first_outage'])}")

        code = demo.stop()
        measured["stopped_s"] = since()
        if code != 0:
            raise FrontDoorError(f"after Ctrl-C (SIGINT) the demo exited with code {code}")
        if "Traceback (most recent call last)" in read_all(output):
            raise FrontDoorError("the demo printed a traceback")
        say("stopped by Ctrl-C (SIGINT), exit code 0")

        left = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
        if left:
            raise FrontDoorError(f"the demo left files in its working directory: {left}")
        say("nothing left behind in the working directory")
        return measured
    except FrontDoorError as exc:
        print(f"front door: FAILED after {since():.1f} s: {exc}", file=sys.stderr)
        print(f"--- the end of the output of `{measured['command']}`:", file=sys.stderr)
        print(tail(demo.output), file=sys.stderr)
        raise
    finally:
        demo.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds for all steps")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="an empty scratch directory (default: a new one)"
    )
    args = parser.parse_args()

    oms = Path(sys.executable).with_name("oms")
    if not oms.exists():
        print(
            f"front door: FAILED: no `oms` console script next to {sys.executable}", file=sys.stderr
        )
        return 1
    where = subprocess.run(
        [sys.executable, "-c", "import oms, webmap; print(oms.__file__); print(webmap.__file__)"],
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=False,
    )
    if where.returncode != 0 or any(
        Path(f).resolve().is_relative_to(REPO) for f in where.stdout.split()
    ):
        print(
            "front door: FAILED: the packages are not installed from a wheel "
            f"(an editable install, or none):\n{where.stdout}{where.stderr}",
            file=sys.stderr,
        )
        return 1
    made = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="oms-front-door-")) if made else args.workdir.resolve()
    try:
        if workdir.is_relative_to(REPO):
            print(f"front door: FAILED: {workdir} is inside the repository", file=sys.stderr)
            return 1
        if any(workdir.iterdir()):
            print(f"front door: FAILED: {workdir} is not empty", file=sys.stderr)
            return 1
        try:
            measured = check(oms, workdir, args.timeout)
        except FrontDoorError:
            return 1
        print("front door: ok " + json.dumps(measured), flush=True)
        return 0
    finally:
        if made:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
