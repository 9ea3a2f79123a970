"""A real OTLP/HTTP receiver for the tests: it accepts `POST /v1/traces` as a collector does,
decodes each ExportTraceServiceRequest with the `opentelemetry-proto` definitions (protobuf, or
the JSON mapping), and keeps the spans it received.
"""
import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def attribute_value(value):
    """An OTLP AnyValue as a Python value."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [attribute_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: attribute_value(item.value) for item in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


class Span:
    """One received span, with its resource's attributes."""

    def __init__(self, span, resource):
        self.name = span.name
        self.kind = span.kind
        self.trace_id = span.trace_id.hex()
        self.span_id = span.span_id.hex()
        self.parent_span_id = span.parent_span_id.hex()
        self.start = span.start_time_unix_nano
        self.end = span.end_time_unix_nano
        self.attributes = {a.key: attribute_value(a.value) for a in span.attributes}
        self.status_code = span.status.code
        self.status_message = span.status.message
        self.resource = resource

    def __repr__(self):
        return f"Span({self.name!r}, {self.span_id}, parent={self.parent_span_id})"


class OTLPReceiver:
    """Listens on a free port of 127.0.0.1 until `close()`; `spans` are all it decoded."""

    def __init__(self):
        self.spans = []
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                content_type = self.headers.get("Content-Type", "")
                if content_type.startswith("application/json"):
                    json_format.Parse(body, request)
                else:
                    request.ParseFromString(body)
                receiver.received(self.path, content_type, request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def received(self, path, content_type, request):
        with self.lock:
            self.requests.append((path, content_type))
            for resource_spans in request.resource_spans:
                resource = {a.key: attribute_value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(Span(span, resource))

    def trace(self, trace_id, count=1, timeout=15):
        """The spans of `trace_id`, once at least `count` arrived (or the timeout passed)."""
        deadline = time.time() + timeout
        while True:
            with self.lock:
                spans = [span for span in self.spans if span.trace_id == trace_id]
            if len(spans) >= count or time.time() > deadline:
                return spans
            time.sleep(0.05)

    def wait_for(self, predicate, timeout=15):
        """All spans, once `predicate(spans)` holds (or the timeout passed)."""
        deadline = time.time() + timeout
        while True:
            with self.lock:
                spans = list(self.spans)
            if predicate(spans) or time.time() > deadline:
                return spans
            time.sleep(0.05)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
