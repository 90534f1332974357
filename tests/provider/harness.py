"""Run the provider as the Pulumi CLI does, with a recording mock resource monitor and engine to call back."""

from __future__ import annotations

import contextvars
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pulumi.runtime
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2_grpc, resource_pb2, resource_pb2_grpc

from stacks.synth import PROJECT_ROOT, PlausibleMocks, RecordingMonitor

PROVIDER_DIR = PROJECT_ROOT / "provider"
PROJECT = "mlplatform"
STACK = "test"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
"""The URN of the root stack resource that Pulumi's mock runtime registers for (PROJECT, STACK)."""


@contextmanager
def provider_process(consumer_dir: Path, engine_address: str, timeout: float = 60.0) -> Iterator[Any]:
    """Start the plugin the way the CLI's Python host does and yield a `ResourceProvider` client.

    The host runs `python <plugin directory> <engine address>` with the consumer's directory as working
    directory; the plugin prints its port on the first line of stdout.

    Raises:
        RuntimeError: when the plugin exits or prints no port within `timeout` seconds (with its stderr).
    """
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-u", str(PROVIDER_DIR), engine_address],
            cwd=consumer_dir,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            port = _first_line_port(process, stderr, timeout)
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(channel).result(timeout=timeout)
            try:
                yield provider_pb2_grpc.ResourceProviderStub(channel)
            finally:
                channel.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()


def _first_line_port(process: subprocess.Popen[str], stderr: Any, timeout: float) -> int:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout or []:
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        line = ""
    if line.strip().isdigit():
        return int(line.strip())
    process.kill()
    process.wait()
    stderr.seek(0)
    raise RuntimeError(
        f"the provider did not print its port first (exit code {process.poll()}, first line {line!r}):\n"
        f"{stderr.read().decode(errors='replace')}"
    )


class CallbackMonitor(RecordingMonitor):
    """The recording monitor of `stacks.synth`, answering a provider process over gRPC instead of in-process."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # Called from gRPC worker threads, which do not see the test's runtime settings: fixed project and stack.
        if parent:
            type_ = f"{parent.split('::')[2].split('$')[-1]}${type_}"
        return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


class _ResourceMonitorServicer(resource_pb2_grpc.ResourceMonitorServicer):
    """Forwards the resource monitor protocol to the deployment's current monitor, in its runtime context."""

    def __init__(self, deployment: MockDeployment) -> None:
        self._deployment = deployment

    def _call(self, method_name: str, request: Any) -> Any:
        monitor, context = self._deployment.monitor, self._deployment.context
        return context.copy().run(getattr(monitor, method_name), request)

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        supported = self._call("SupportsFeature", request).hasSupport
        return resource_pb2.SupportsFeatureResponse(hasSupport=supported)

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        return self._call("GetDeploymentInfo", request)

    def RegisterResource(self, request: Any, context: Any) -> Any:
        return self._call("RegisterResource", request)

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        return self._call("RegisterResourceOutputs", request)

    def ReadResource(self, request: Any, context: Any) -> Any:
        return self._call("ReadResource", request)

    def Invoke(self, request: Any, context: Any) -> Any:
        return self._call("Invoke", request)

    def RegisterPackage(self, request: Any, context: Any) -> Any:
        return self._call("RegisterPackage", request)

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    """The engine's log and root-resource service; keeps what the provider logs."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, str]] = []

    def Log(self, request: Any, context: Any) -> Any:
        self.messages.append((request.severity, request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=STACK_URN)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()


class MockDeployment:
    """A mock engine and resource monitor on one loopback port, for a provider process to call back.

    `fresh_monitor()` starts recording anew, so one provider process can serve several tests.
    """

    def __init__(self) -> None:
        self.engine = _EngineServicer()
        self.monitor = self.fresh_monitor()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_ResourceMonitorServicer(self), self._server)
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self._server)
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def fresh_monitor(self) -> CallbackMonitor:
        """Install and return a new recording monitor; the provider's next calls land in it."""
        monitor = CallbackMonitor(PlausibleMocks())
        # The monitor serializes values with Pulumi's runtime, which reads its settings from context variables:
        # configure them here and hand the gRPC threads this context.
        pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
        self.monitor, self.context = monitor, contextvars.copy_context()
        return monitor

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop(grace=None)


@contextmanager
def mock_deployment() -> Iterator[MockDeployment]:
    """A running `MockDeployment`, stopped afterwards."""
    deployment = MockDeployment()
    try:
        yield deployment
    finally:
        deployment.stop()
