"""One JSON shape for every error the service returns, readiness that says why, and a drain.

BentoML 1.4 publishes ``{"error": string, "detail": string}`` as the body of its 400/404/500
answers, but sends a 4xx of its own as a JSON *list* and a validation error with ``detail`` as a
list. This ASGI middleware (plain ASGI: no framework import, so the core stays framework-free):
- rewrites every 4xx/5xx of the prediction routes into the published object, the first field
  error named in ``error``;
- refuses a body that is not JSON with 415 before BentoML parses it (a multipart body without
  a boundary was a 500, found by schemathesis);
- adds the statuses the service also answers (415, 429, 503, 504) to ``/docs.json``;
- says in ``/readyz``'s body why the service is not ready, or which reload it refused;
- while the service drains before shutdown (core/serving/graceful_drain.py), answers
  ``/readyz`` with 503 and closes every connection after its response.
"""

import json
import logging
from dataclasses import dataclass

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "description": "Every 4xx/5xx of the service: what went wrong, naming the field.",
    "properties": {
        "error": {"title": "Message", "type": "string"},
        "detail": {"title": "Error Detail", "type": "string"},
    },
    "required": ["error"],
}
# Statuses documented for every prediction route, beside BentoML's own 400/404/500.
EXTRA_STATUSES = {
    "415": "The body is not application/json",
    "429": "Too many requests in flight: retry later (the service's max_concurrency)",
    "503": "Not ready: no production model loaded yet, or shutting down",
    "504": "The request took longer than the service's timeout",
}


@dataclass
class ServingState:
    """What the middleware reports: why the service is not ready, and whether it drains."""

    not_ready_reason: str = "starting: no model loaded yet"
    ready: bool = False
    draining: bool = False
    # The last reload that failed while an earlier model kept serving (None: all loaded).
    reload_error: str | None = None


class ClientErrorLogFilter(logging.Filter):
    """A client's mistake (a 4xx), or a request before the service is ready (503), becomes one
    INFO line without a traceback; server faults stay ERROR with theirs, so an operator's error
    log holds only what needs fixing."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not _is_client_error(exc):
            return True
        record.levelno, record.levelname = logging.INFO, "INFO"
        text = " ".join(str(exc).split())[:300]
        record.msg = f"client error on %s [%s]: {type(exc).__name__}: {text}"
        record.exc_info, record.exc_text = None, None
        return True


def _is_client_error(exc: BaseException) -> bool:
    code = getattr(exc, "error_code", None)
    if code is not None:  # 503: not ready yet, which /readyz already says
        return (
            400 <= int(getattr(code, "value", code)) < 500
            or int(getattr(code, "value", code)) == 503
        )
    return type(exc).__name__ == "ValidationError"  # pydantic's, raised for a bad body


def error_body(payload: object, status: int) -> dict[str, str]:
    """Any error payload BentoML produces, as ``{"error": ..., "detail": ...}``."""
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = payload[0]
    if not isinstance(payload, dict):
        return {"error": f"HTTP {status}", "detail": str(payload)}
    detail = payload.get("detail")
    if isinstance(detail, list):  # pydantic: [{"loc": [...], "msg": ..., "type": ...}, ...]
        fields = [_field_message(item) for item in detail if isinstance(item, dict)]
        return {
            "error": fields[0] if fields else str(payload.get("error")),
            "detail": "; ".join(fields),
        }
    message = str(payload.get("error") or payload.get("message") or f"HTTP {status}")
    return {"error": message, "detail": "" if detail is None else str(detail)}


def _field_message(item: dict) -> str:
    loc = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body",))
    return f"{loc}: {item.get('msg', 'invalid')}" if loc else str(item.get("msg", "invalid"))


def document_errors(spec: dict, api_paths: frozenset[str]) -> dict:
    """The OpenAPI document with one error schema on every error status of every API route."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path in api_paths:
        for operation in spec.get("paths", {}).get(path, {}).values():
            responses = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                if str(status)[0] in "45":
                    response["content"] = ref
            for status, description in EXTRA_STATUSES.items():
                responses[status] = {"description": description, "content": ref}
    return spec


class ErrorEnvelope:
    """ASGI middleware: documented error bodies, readiness reasons, connection draining."""

    def __init__(self, app, api_paths: frozenset[str], state: ServingState):
        self.app, self.api_paths, self.state = app, api_paths, state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path == "/readyz":
            if self.state.draining or not self.state.ready:
                reason = (
                    "draining: shutting down"
                    if self.state.draining
                    else self.state.not_ready_reason
                )
                return await _send_json(send, 503, {"error": "not ready", "detail": reason}, True)
            if self.state.reload_error:  # ready, on an older model: say which reload failed
                body = {
                    "status": "ready",
                    "detail": f"kept the loaded model: {self.state.reload_error}",
                }
                return await _send_json(send, 200, body, False)
        if path in self.api_paths and _media_type(scope) not in ("", "application/json"):
            error = f"Content-Type must be application/json (got {_media_type(scope)!r})"
            return await _send_json(send, 415, {"error": error}, self.state.draining)
        rewrite = path == "/docs.json" or path in self.api_paths
        await self.app(scope, receive, self._wrap(send, path) if rewrite else self._close(send))

    def _close(self, send):
        """While draining, every response asks the client to open a new connection."""

        async def wrapped(message):
            if message["type"] == "http.response.start" and self.state.draining:
                message = {**message, "headers": _with_close(message.get("headers", []))}
            await send(message)

        return wrapped

    def _wrap(self, send, path: str):
        held: dict = {}
        chunks: list[bytes] = []

        async def wrapped(message):
            if message["type"] == "http.response.start":
                if message["status"] >= 400 or path == "/docs.json":
                    held.update(message)
                    return
                return await self._close(send)(message)
            if not held or message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status = held["status"]
            try:
                payload = json.loads(b"".join(chunks) or b"null")
            except ValueError:
                payload = b"".join(chunks).decode("utf-8", "replace")
            if path == "/docs.json" and status == 200:
                body = document_errors(payload, self.api_paths)
            elif status == 503 and not self.state.ready:  # BentoML hides a 5xx's message
                reason = self.state.not_ready_reason
                body = {"error": f"not ready: {reason}", "detail": reason}
            else:
                body = error_body(payload, status)
            await _send_json(send, status, body, self.state.draining, held.get("headers", []))

        return wrapped


async def _send_json(send, status: int, body: object, close: bool, headers=()) -> None:
    data = json.dumps(body).encode()
    kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
    kept += [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _with_close(kept) if close else kept,
        }
    )
    await send({"type": "http.response.body", "body": data})


def _media_type(scope) -> str:
    """The request's media type, lower case, without parameters ("" when not sent)."""
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _with_close(headers) -> list:
    return [(k, v) for k, v in headers if k.lower() != b"connection"] + [(b"connection", b"close")]
