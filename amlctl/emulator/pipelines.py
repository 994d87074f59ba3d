"""Pipelines (Aether, `{region}.aether.ms/api/v1.0{WS}/...`): five entity kinds, GET by id only."""

from __future__ import annotations

from amlctl.emulator.context import Context, Params
from amlctl.emulator.wire import Response, json_response

# URL segment (PascalCase in the article) -> store kind
KINDS = {
    "Experiments": "pipeline_experiment",
    "Graphs": "pipeline_graph",
    "Modules": "pipeline_module",
    "Templates": "pipeline_template",
    "DataSources": "pipeline_datasource",
}
_BY_LOWER = {segment.lower(): kind for segment, kind in KINDS.items()}


def get_entity(ctx: Context, params: Params) -> Response:
    """GET one pipeline entity; 404 (data-plane envelope) for an unknown id."""
    segment = params["pkind"]
    kind = _BY_LOWER.get(segment.lower())
    if kind is None:
        raise ctx.fail(404, "NotFound", f"No resource '{segment}' in pipelines")
    ws = ctx.workspace(params)
    item = ctx.store.get(ws.key, kind, params["id"])
    if item is None:
        raise ctx.fail(404, "EntityNotFound", f"{segment} entity {params['id']} was not found")
    return json_response(200, item.raw)
