"""A tiny model server: logistic scoring over JSON features, health probes and Prometheus metrics (stdlib only).

It speaks `ModelDeployment`'s `generic` server contract: HTTP on $PORT (8080), `GET /live` while the process runs,
`GET /ready` only once the model is loaded (it loads in the background, as a large model would), and `GET /metrics`
with `http_requests_total{handler,code}` and the `http_request_duration_seconds` histogram that the platform's SLO
rules and autoscaling queries read. The model comes from $MODEL_PATH; $MODEL_VERSION and $MODEL_URI (the artifact
`ModelService` points the version at) are reported by `/ready`. $MODEL_LOAD_DELAY_SECONDS simulates a slow load.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Buckets of the request-duration histogram; the platform's serving SLO alerts read
# http_request_duration_seconds_bucket and http_requests_total{code=~"5.."}.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Request counters and a duration histogram in the Prometheus text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str], int] = {}
        self.bucket_counts = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0

    def observe(self, handler: str, code: int, seconds: float) -> None:
        with self._lock:
            key = (handler, str(code))
            self.requests[key] = self.requests.get(key, 0) + 1
            self.count += 1
            self.total += seconds
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.bucket_counts[index] += 1

    def render(self) -> str:
        with self._lock:
            lines = ["# TYPE http_requests_total counter"]
            lines += [
                f'http_requests_total{{handler="{h}",code="{c}"}} {n}' for (h, c), n in sorted(self.requests.items())
            ]
            lines.append("# TYPE http_request_duration_seconds histogram")
            lines += [
                f'http_request_duration_seconds_bucket{{le="{b}"}} {n}'
                for b, n in zip(BUCKETS, self.bucket_counts, strict=True)
            ]
            lines.append(f'http_request_duration_seconds_bucket{{le="+Inf"}} {self.count}')
            lines.append(f"http_request_duration_seconds_sum {self.total}")
            lines.append(f"http_request_duration_seconds_count {self.count}")
            return "\n".join(lines) + "\n"


class Model:
    """Logistic regression over a fixed number of features, loaded from JSON."""

    def __init__(self, path: Path) -> None:
        spec = json.loads(path.read_text())
        self.name = spec["name"]
        self.bias = float(spec["bias"])
        self.weights = [float(w) for w in spec["weights"]]

    def score(self, features: list[float]) -> float:
        if len(features) != len(self.weights):
            raise ValueError(f"expected {len(self.weights)} features, got {len(features)}")
        z = self.bias + sum(w * float(x) for w, x in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


class ModelSlot:
    """The model once loaded; None until then, so readiness follows the load."""

    def __init__(self) -> None:
        self.model: Model | None = None
        self.error: str | None = None

    def load(self, path: Path, delay_seconds: float = 0.0) -> None:
        time.sleep(delay_seconds)
        try:
            self.model = Model(path)
        except (OSError, ValueError, KeyError) as error:
            self.error = str(error)


MODEL = ModelSlot()
METRICS = Metrics()


class Handler(BaseHTTPRequestHandler):
    """Routes: GET /live, GET /ready, GET /metrics, POST /v1/predict."""

    def _send(self, code: int, body: str, content_type: str = "application/json") -> None:
        payload = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self._send(200, METRICS.render(), "text/plain; version=0.0.4")
        elif self.path == "/live":
            self._send(200, json.dumps({"status": "alive"}))
        elif self.path == "/ready":
            model = MODEL.model
            if model is None:
                self._send(503, json.dumps({"status": "loading", "error": MODEL.error}))
                return
            version = {"version": os.environ.get("MODEL_VERSION"), "uri": os.environ.get("MODEL_URI")}
            self._send(200, json.dumps({"status": "ready", "model": model.name, **version}))
        else:
            self._send(404, json.dumps({"error": "not found"}))

    def do_POST(self) -> None:
        started = time.perf_counter()
        if self.path != "/v1/predict":
            self._send(404, json.dumps({"error": "not found"}))
            return
        model = MODEL.model
        try:
            length = int(self.headers.get("Content-Length", "0"))
            features = json.loads(self.rfile.read(length))["features"]
            if model is None:
                code, body = 503, {"error": "the model is loading"}
            else:
                code, body = 200, {"model": model.name, "score": model.score(features)}
        except (ValueError, KeyError, TypeError) as error:
            code, body = 400, {"error": str(error)}
        # Counted before the answer leaves: a client that has its answer finds it in /metrics.
        METRICS.observe("/v1/predict", code, time.perf_counter() - started)
        self._send(code, json.dumps(body))

    def log_message(self, format: str, *args: object) -> None:  # the base class names it `format`
        """Log one line per request to stdout (collected by Fluent Bit)."""
        print(f"{self.address_string()} {format % args}", flush=True)


def main() -> None:
    # Listen first and load after, so liveness holds while a large model loads and readiness waits for it.
    server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080"))), Handler)
    path = Path(os.environ.get("MODEL_PATH", Path(__file__).with_name("model.json")))
    delay = float(os.environ.get("MODEL_LOAD_DELAY_SECONDS", "0"))
    threading.Thread(target=MODEL.load, args=(path, delay), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
