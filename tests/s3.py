"""A real local S3 server for the tests: moto in server mode as a subprocess on a free port,
with the standard AWS variables pointing at it (never a mock of our own code)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import requests

from tests.live import free_port

BUCKET = "civic-test"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-north-1",
}


@contextmanager
def moto_server() -> Iterator[dict[str, str]]:
    """Start `moto.server`, create the bucket; yields the AWS_* variables that reach it."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(endpoint, timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "moto did not start"
                time.sleep(0.1)
        env = {**AWS_ENV, "AWS_ENDPOINT_URL": endpoint}
        client = _client(env)
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
        )
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _client(env: dict[str, str]) -> Any:
    """A boto3 client for the test's own look at the bucket (not the product's path)."""
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def fresh_prefix() -> str:
    """A store URL of its own for one test in the shared bucket."""
    return f"s3://{BUCKET}/t-{uuid.uuid4().hex[:10]}"


def objects(env: dict[str, str], store_url: str) -> dict[str, bytes]:
    """Every object under a store URL, by key relative to it."""
    prefix = store_url.removeprefix(f"s3://{BUCKET}/") + "/"
    client = _client(env)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        o["Key"].removeprefix(prefix): client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
        for o in listed
    }


def apply(env: dict[str, str]) -> dict[str, str | None]:
    """Set the variables in this process; returns the previous values for `restore`."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    return old


def restore(old: dict[str, str | None]) -> None:
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
