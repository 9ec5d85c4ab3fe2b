"""moto's S3 server, with AWS S3's guarantee for conditional writes.

moto (a mock of S3, from PyPI) answers a PUT with ``If-None-Match: *`` by checking that the key
is absent and then storing the object: two steps, in a threaded server, so two racing
conditional PUTs of one key can both succeed, where AWS S3 lets exactly one through and refuses
the other (412 or 409). The registry's version claims and event numbers rely on that guarantee
(``core/blob_store.py``), so this server is moto's own application with one lock held around
conditional PUTs; every other request, and everything moto does, is unchanged.

    python -m mlops_assets.stack.s3_server -H 127.0.0.1 -p 9000
"""

import argparse
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class ConditionalWritesOneAtATime:
    """WSGI middleware: conditional PUTs (``If-None-Match``/``If-Match``) run one at a time,
    their check and their write together."""

    def __init__(self, app):
        self.app, self.lock = app, threading.Lock()

    def __call__(self, environ, start_response):
        conditional = environ.get("HTTP_IF_NONE_MATCH") or environ.get("HTTP_IF_MATCH")
        if environ.get("REQUEST_METHOD") != "PUT" or not conditional:
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))  # the whole answer, inside the lock


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto_server does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        ConditionalWritesOneAtATime(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
