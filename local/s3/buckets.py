"""The buckets behind the local MRAP: moto's S3 server in a child process, on loopback.

Usage::

    with Buckets() as buckets:
        buckets.put("local-bucket-one", "index.html", b"hello")
        buckets.endpoint   # ("127.0.0.1", 41529)
"""

from __future__ import annotations

import mimetypes
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from .. import settings
from ..web import free_port

# moto's own account; nothing here is the function's credentials.
MOTO_CREDENTIALS = Credentials("AKIAMOTOLOCALEXAMPLE", "moto-local-secret")


class Buckets:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # moto in a process of its own: it does not share the edge's interpreter lock,
        # so on two cores the buckets and the edge run side by side.
        port = port or free_port()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "MOTO_CALL_RESET_API": "false"},
            start_new_session=True,  # Ctrl-C goes to the demo, which stops moto itself
        )
        self.endpoint = (host, port)
        self._replication: threading.Timer | None = None
        # bucket -> (when its seeded copy lands, on the monotonic clock; the keys on the way)
        self._pending: dict[str, tuple[float, frozenset[str]]] = {}
        self.skipped: list[str] = []  # what seed_site left out: reached through a symlink leaving the folder
        # moto starts from empty buckets; wait until it answers (bounded).
        reset = urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 (loopback, fixed URL)
                break
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise OSError(f"moto's S3 server did not start on {host}:{port}") from None
                time.sleep(0.1)
        self.client = boto3.client(
            "s3",
            endpoint_url=f"http://{self.endpoint[0]}:{self.endpoint[1]}",
            region_name="us-east-1",
            aws_access_key_id=MOTO_CREDENTIALS.access_key,
            aws_secret_access_key=MOTO_CREDENTIALS.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def create(self, name: str, region: str, versioned: bool = True) -> None:
        kwargs: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        self.client.create_bucket(**kwargs)
        if versioned:  # MRAP buckets are kept in sync by replication, which needs versioning
            self.client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "text/html", **extra: Any) -> str | None:
        return self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **extra).get(
            "VersionId"
        )

    def seed_demo(self) -> None:
        """The demo's buckets: index.html says which bucket answered."""
        for spec in settings.BUCKETS:
            self.create(spec.name, spec.region)
            label = spec.name.rsplit("-", 1)[-1]
            self.put(spec.name, "index.html", f"hello from s3 bucket {label}\n".encode())
        self.create(settings.FAILOVER_BUCKET, "us-east-1", versioned=False)
        self.put(settings.FAILOVER_BUCKET, "index.html", b"hello from the failover bucket\n", ACL="public-read")

    def seed_site(self, folder: Path, replication_delay: float = 0.0) -> list[str]:
        """Both MRAP buckets from a folder, keys exactly as the files are named (spaces,
        ``+``, unicode); files reached through a symlink that leaves the folder are not
        served (``skipped`` names them). The nearer bucket gets them now; the farther one after
        ``replication_delay`` seconds (in the background), as replication would, so a
        request routed there early sees "not yet replicated"."""
        files, self.skipped = site_files(folder)
        if not files:
            raise ValueError(f"{folder} has no files to serve")
        near, far = sorted(settings.BUCKETS, key=lambda b: b.latency_ms)[:2]
        for spec in settings.BUCKETS:
            self.create(spec.name, spec.region)
        self.create(settings.FAILOVER_BUCKET, "us-east-1", versioned=False)
        self.put(settings.FAILOVER_BUCKET, "index.html", b"hello from the failover bucket\n", ACL="public-read")
        keys = [p.relative_to(folder).as_posix() for p in files]
        # Read once, now: what replicates later is what was checked, not a path swapped since.
        blobs = [(p.read_bytes(), mimetypes.guess_type(p.name)[0] or "application/octet-stream") for p in files]

        def upload(bucket: str) -> None:
            for key, (data, kind) in zip(keys, blobs, strict=True):
                self.put(bucket, key, data, kind)
            self._pending.pop(bucket, None)

        upload(near.name)
        if replication_delay > 0:
            self._pending[far.name] = (time.monotonic() + replication_delay, frozenset(keys))
            self._replication = threading.Timer(replication_delay, upload, args=(far.name,))
            self._replication.daemon = True
            self._replication.start()
        else:
            upload(far.name)
        return keys

    def replication_pending(self, bucket: str, key: str) -> float | None:
        """Seconds until the seeded copy of ``key`` reaches ``bucket`` (0.0 while it is being
        written), or None when nothing is on its way there: why a request routed to the
        farther bucket early gets a 404 the edge then caches."""
        pending = self._pending.get(bucket)
        if pending is None or key not in pending[1]:
            return None
        return max(0.0, pending[0] - time.monotonic())

    def sign(self, method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
        """SigV4 for moto, as S3 itself trusts the MRAP's internal calls."""
        request = AWSRequest(method=method, url=url, headers=headers)
        S3SigV4Auth(MOTO_CREDENTIALS, "s3", "us-east-1").add_auth(request)
        return dict(request.headers.items())

    def close(self) -> None:
        if self._replication is not None:
            self._replication.cancel()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> Buckets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def site_files(folder: Path) -> tuple[list[Path], list[str]]:
    """(files to serve, paths skipped) of a site folder. A symlink (to a file or a folder)
    whose target lies outside the folder is skipped, so a link to ~/.ssh or /etc in a site
    is never served; symlinked folders are not descended into (no loops)."""
    root = folder.resolve()
    files: list[Path] = []
    skipped: list[str] = []
    for here, dirs, names in os.walk(folder, followlinks=False):
        for name in sorted(dirs):
            path = Path(here, name)
            if path.is_symlink():
                dirs.remove(name)
                if not path.resolve().is_relative_to(root):
                    skipped.append(path.relative_to(folder).as_posix() + "/")
        for name in names:
            path = Path(here, name)
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                skipped.append(path.relative_to(folder).as_posix())
            elif path.is_file():
                files.append(path)
    return sorted(files), sorted(skipped)
