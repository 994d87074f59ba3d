"""A local Azure Machine Learning workspace service over SQLite, faithful on the wire.

    store.py     SQLite (WAL) store: workspaces and items, keyset paging
    seed.py      demo / scale:N / none data (deterministic), and the demo constants;
                 mfe_seed.py the current API's part of the demo, people.py who is in it
    routes.py    the URL table: host family + method + path pattern -> handler
    app.py       EmulatorApp.handle(method, target, headers, body) -> Response (no sockets)
    arm.py, dataplane.py, mms.py, pipelines.py   the handlers, per service family;
                 mfe.py the current ARM API's workspace children, lro.py its operations
    history.py, odata.py   the run-history queries SDKs send, and their filter language
    tokens.py    which bearer tokens pass (by issuer and audience); the emulator's own JWT
    tls.py       the self-signed certificate of `serve --tls`
    documents.py, mfe_documents.py   the stored item documents; views.py, mfe_views.py what
                 a list and a get answer for them
    server.py    the loopback ThreadingHTTPServer and socket-level faults
    adapter.py   EmulatorAdapter: a requests adapter calling the app in process
    commands.py  serve / info / embedded, called by the CLI

Requests for `https://<host>/<path>` arrive as `http://HOST:PORT/<host>/<path>`.
"""

from __future__ import annotations

from amlctl.emulator.app import EmulatorApp
from amlctl.emulator.config import Bucket, EmulatorConfig
from amlctl.emulator.database import default_db_path, open_store
from amlctl.emulator.store import Store, workspace_key

__all__ = ["Bucket", "EmulatorApp", "EmulatorConfig", "Store", "default_db_path", "open_store",
           "workspace_key"]
