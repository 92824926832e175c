"""Peak memory of `DashScopeClient.upload_file` as the dataset grows: the claim is that it stays flat.

For each size a fresh Python process writes a file of that size in a temp dir, starts a tiny
HTTP receiver on 127.0.0.1 that reads the body in 64 KiB pieces and throws it away, uploads the
file through the real client over real HTTP (or, with `--transport drain`, through an in-process
transport that drains the stream), and reports:

- tracemalloc peak: the most Python-allocated memory at any moment during the upload;
- ru_maxrss growth: the process's peak resident set size after the upload minus before it.

A fresh process per size keeps ru_maxrss (a high-water mark) honest. Not a test: run it by hand.

    /work/venv/bin/python benchmarks/upload_memory.py            # 10, 100, 500 MB
    /work/venv/bin/python benchmarks/upload_memory.py 10 1000    # sizes in MB
    /work/venv/bin/python benchmarks/upload_memory.py --in-memory 10 100   # control: not streamed
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from reconciler.providers.dashscope import DashScopeClient

CHUNK = 64 * 1024
MB = 1024 * 1024


class DiscardingHandler(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        remaining = int(self.headers["Content-Length"])
        while remaining:
            piece = self.rfile.read(min(CHUNK, remaining))
            if not piece:
                break
            remaining -= len(piece)
            DiscardingHandler.received += len(piece)
        body = json.dumps(
            {
                "id": "file-ft-bench",
                "object": "file",
                "bytes": DiscardingHandler.received,
                "filename": "bench.zip",
                "purpose": "fine-tune",
                "status": "processed",
                "created_at": int(time.time()),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class DrainingTransport(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        received = sum(len(chunk) for chunk in request.stream)  # type: ignore[union-attr]
        return httpx.Response(200, json={"id": "file-ft-bench", "object": "file", "bytes": received})


def rss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def write_file(path: Path, size: int) -> None:
    block = os.urandom(MB)
    with path.open("wb") as fh:
        for _ in range(size // MB):
            fh.write(block)
        fh.write(block[: size % MB])


def measure_one(size_mb: float, transport_kind: str, in_memory: bool = False) -> dict[str, float]:
    size = int(size_mb * MB)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.zip"
        write_file(path, size)
        server = None
        if transport_kind == "http":
            server = ThreadingHTTPServer(("127.0.0.1", 0), DiscardingHandler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base, transport = f"http://127.0.0.1:{server.server_address[1]}", None
        else:
            base, transport = "http://127.0.0.1:9", DrainingTransport()
        client = DashScopeClient(base, "sk-benchmark", transport=transport, timeout=120.0)
        rss_before = rss_bytes()
        tracemalloc.start()
        started = time.perf_counter()
        source = io.BytesIO(path.read_bytes()) if in_memory else path  # the control reads it all first
        uploaded = client.upload_file(source, filename="bench.zip")
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = rss_bytes()
        client.close()
        if server is not None:
            server.shutdown()
        assert uploaded.bytes and uploaded.bytes > size, "the receiver did not get the whole file"
    return {
        "size_mb": size_mb,
        "tracemalloc_peak_kib": peak / 1024,
        "rss_growth_mib": (rss_after - rss_before) / MB,
        "seconds": seconds,
        "mb_per_s": size_mb / seconds if seconds else float("inf"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sizes", nargs="*", type=float, default=[10, 100, 500], help="file sizes in MB")
    parser.add_argument("--transport", choices=["http", "drain"], default="http")
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="control: read the whole file into memory first, to show what growth looks like",
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.sizes[0], args.transport, args.in_memory)))
        return
    rows = []
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", "--transport", args.transport, str(size)]
            + (["--in-memory"] if args.in_memory else []),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append(json.loads(out))
    what = "in-memory control" if args.in_memory else "streamed upload"
    print(f"{what} over {args.transport} — peak memory per file size (fresh process each)")
    print(
        f"{'size MB':>8} | {'tracemalloc peak KiB':>20} | {'ru_maxrss growth MiB':>20} | {'seconds':>7} | {'MB/s':>7}"
    )
    print(f"{'-' * 8}-+-{'-' * 20}-+-{'-' * 20}-+-{'-' * 7}-+-{'-' * 7}")
    for r in rows:
        print(
            f"{r['size_mb']:>8.0f} | {r['tracemalloc_peak_kib']:>20.1f} | {r['rss_growth_mib']:>20.1f} | "
            f"{r['seconds']:>7.2f} | {r['mb_per_s']:>7.0f}"
        )


if __name__ == "__main__":
    main()
