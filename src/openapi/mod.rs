//! `GET /openapi.json`: an OpenAPI 3.1 document of the whole HTTP surface —
//! the OpenAI- and Anthropic-compatible endpoints, health, metrics and every
//! admin path — written by hand, next to the handlers it describes.
//!
//! Each admin operation with a body carries an `example` that works against
//! a gateway with a config file: the API test sends exactly those.

use axum::Router;
use axum::routing::get;
use serde_json::{Map, Value, json};

mod schemas;

use schemas::components;

/// `GET /openapi.json` (no key needed: it describes, it does not expose).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/openapi.json", get(|| async { axum::Json(document()) }))
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (path, item) in model_paths()
        .into_iter()
        .chain(service_paths())
        .chain(observe_paths())
        .chain(config_paths())
        .chain(key_paths())
    {
        paths.insert(path.to_owned(), item);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Switchyard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "An LLM gateway: OpenAI and Anthropic clients in, many providers out. \
                The admin API (`/admin/*`) needs `Authorization: Bearer <admin_key>`; with no \
                `admin_key` configured it answers clients on the same machine only.",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "models", "description": "OpenAI- and Anthropic-compatible endpoints."},
            {"name": "service", "description": "Health, metrics, this document."},
            {"name": "observe", "description": "Journal, statistics and the live feed."},
            {"name": "config", "description": "Live configuration, persisted to the config file."},
            {"name": "keys", "description": "Virtual keys for clients."},
        ],
        "paths": paths,
        "components": components(),
    })
}

/// A reference to a schema under `components.schemas`.
pub(crate) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": content(schema)})
}

/// Error answers of the admin API, by status.
fn admin_errors(codes: &[u16]) -> Vec<(String, Value)> {
    codes
        .iter()
        .map(|c| {
            let what = match c {
                400 => "The request is malformed (bad JSON, bad query).",
                401 => "The admin key is missing or wrong.",
                404 => "No such entry.",
                409 => "The entry exists already, or the gateway runs without a config file.",
                422 => "The configuration would be invalid; `error.field` names the field.",
                _ => "The gateway failed.",
            };
            (c.to_string(), response(what, schema_ref("AdminError")))
        })
        .collect()
}

/// An admin operation: summary, parameters, body, success answers, error statuses.
fn admin_op(
    summary: &str,
    tag: &str,
    params: Vec<Value>,
    body: Option<Value>,
    ok: Vec<(u16, Value)>,
    errors: &[u16],
) -> Value {
    let mut responses = Map::new();
    for (status, r) in ok {
        responses.insert(status.to_string(), r);
    }
    for (status, r) in admin_errors(errors) {
        responses.insert(status, r);
    }
    let mut op = json!({
        "summary": summary,
        "tags": [tag],
        "security": [{"adminKey": []}],
        "parameters": params,
        "responses": responses,
    });
    if let Some(b) = body {
        op["requestBody"] = b;
    }
    op
}

fn body(schema: Value, example: Value) -> Option<Value> {
    Some(json!({
        "required": true,
        "content": {"application/json": {"schema": schema, "example": example}},
    }))
}

fn path_param(name: &str, description: &str, example: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string"}, "example": example})
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn dry_run() -> Value {
    query(
        "dry_run",
        "Validate and build the change, answer what it would do, change nothing.",
        json!({"type": "boolean", "default": false}),
    )
}

fn position() -> Value {
    query(
        "position",
        "Routes and providers: where to put the entry, 0 = first (rules are tried in order; the first provider whose `models` match serves). Default: last. Also accepted as `position` in the body.",
        json!({"type": "integer", "minimum": 0}),
    )
}

fn model_paths() -> Vec<(&'static str, Value)> {
    let openai = |summary: &str, request: &str| {
        json!({"post": {
            "summary": summary,
            "tags": ["models"],
            "security": [{}, {"clientKey": []}],
            "requestBody": {"required": true, "content": content(schema_ref(request))},
            "responses": {
                "200": {"description": "The provider's answer in the OpenAI format; `text/event-stream` when `stream` is true.",
                        "content": {"application/json": {"schema": {"type": "object"}},
                                    "text/event-stream": {"schema": {"type": "string"}}}},
                "400": response("Malformed request.", schema_ref("OpenAiError")),
                "401": response("Missing or unknown client key (when `[auth]` requires one).", schema_ref("OpenAiError")),
                "404": response("No provider or rule serves the model.", schema_ref("OpenAiError")),
                "413": response("The body is larger than `body_limit_bytes`.", schema_ref("OpenAiError")),
                "429": response("A rate limit or budget was reached.", schema_ref("OpenAiError")),
                "502": response("Every candidate provider failed.", schema_ref("OpenAiError")),
                "504": response("No first byte within the timeout.", schema_ref("OpenAiError")),
            },
        }})
    };
    let anthropic = |summary: &str| {
        json!({"post": {
            "summary": summary,
            "tags": ["models"],
            "security": [{}, {"clientKey": []}, {"anthropicKey": []}],
            "requestBody": {"required": true, "content": content(schema_ref("MessagesRequest"))},
            "responses": {
                "200": {"description": "The answer in the Anthropic format; `text/event-stream` when `stream` is true.",
                        "content": {"application/json": {"schema": {"type": "object"}},
                                    "text/event-stream": {"schema": {"type": "string"}}}},
                "400": response("Malformed request.", schema_ref("AnthropicError")),
                "401": response("Missing or unknown client key.", schema_ref("AnthropicError")),
                "404": response("No provider or rule serves the model.", schema_ref("AnthropicError")),
                "429": response("A rate limit or budget was reached.", schema_ref("AnthropicError")),
                "502": response("Every candidate provider failed.", schema_ref("AnthropicError")),
            },
        }})
    };
    vec![
        (
            "/v1/chat/completions",
            openai("Chat completion (OpenAI).", "ChatCompletionRequest"),
        ),
        (
            "/v1/completions",
            openai("Text completion (OpenAI, legacy).", "CompletionRequest"),
        ),
        (
            "/v1/embeddings",
            openai("Embeddings (OpenAI).", "EmbeddingRequest"),
        ),
        (
            "/v1/responses",
            openai("Responses API (OpenAI).", "ResponsesRequest"),
        ),
        ("/v1/messages", anthropic("Messages (Anthropic).")),
        (
            "/v1/messages/count_tokens",
            anthropic("Count a prompt's tokens (Anthropic)."),
        ),
        (
            "/v1/models",
            json!({"get": {
                "summary": "Models the gateway routes: providers' models and virtual models.",
                "tags": ["models"],
                "security": [{}, {"clientKey": []}],
                "responses": {
                    "200": response("The model list, OpenAI format.", schema_ref("ModelList")),
                    "401": response("Missing or unknown client key.", schema_ref("OpenAiError")),
                },
            }}),
        ),
    ]
}

fn service_paths() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/health",
            json!({"get": {
                "summary": "Liveness, providers and circuit breakers.",
                "tags": ["service"],
                "responses": {"200": response("Healthy.", schema_ref("Health"))},
            }}),
        ),
        (
            "/metrics",
            json!({"get": {
                "summary": "Prometheus metrics (here unless `[metrics] listen` moves them to their own port).",
                "tags": ["service"],
                "responses": {
                    "200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "404": response("Metrics are disabled.", schema_ref("AdminError")),
                },
            }}),
        ),
        (
            "/console/",
            json!({"get": {
                "summary": "The web console (it asks for the admin key and calls the admin API with it).",
                "tags": ["service"],
                "responses": {"200": {"description": "The console's page.", "content": {"text/html": {"schema": {"type": "string"}}}}},
            }}),
        ),
        (
            "/console/{path}",
            json!({"get": {
                "summary": "The console's assets (compiled into the binary).",
                "tags": ["service"],
                "parameters": [{"name": "path", "in": "path", "required": true, "schema": {"type": "string"}, "example": "app.js"}],
                "responses": {
                    "200": {"description": "The asset.", "content": {"*/*": {"schema": {"type": "string"}}}},
                    "404": {"description": "No such asset.", "content": {"text/plain": {"schema": {"type": "string"}}}},
                },
            }}),
        ),
        (
            "/openapi.json",
            json!({"get": {
                "summary": "This document.",
                "tags": ["service"],
                "responses": {"200": response("OpenAPI 3.1.", json!({"type": "object"}))},
            }}),
        ),
    ]
}

fn observe_paths() -> Vec<(&'static str, Value)> {
    let window = vec![
        query(
            "window",
            "A duration back from `until`: `15m`, `24h`, `7d` (default 24h).",
            json!({"type": "string"}),
        ),
        query(
            "since",
            "Start: milliseconds since the epoch or RFC 3339.",
            json!({"type": "string"}),
        ),
        query(
            "until",
            "End: milliseconds since the epoch or RFC 3339 (default now).",
            json!({"type": "string"}),
        ),
    ];
    let mut filters: Vec<Value> = [
        "project",
        "source",
        "model",
        "provider",
        "key",
        "status",
        "error_type",
        "since",
        "until",
        "before",
    ]
    .iter()
    .map(|f| {
        query(
            f,
            &format!("Only records with this `{f}` (`before`: the `next` of the previous page)."),
            json!({"type": "string"}),
        )
    })
    .collect();
    filters.push(query(
        "limit",
        "Records per page.",
        json!({"type": "integer", "minimum": 1}),
    ));
    vec![
        (
            "/admin/stats",
            json!({"get": admin_op("Totals and breakdowns (model, provider, source, project, key) over a window.", "observe", window,
            None, vec![(200, response("Statistics.", schema_ref("Stats")))], &[400, 401])}),
        ),
        (
            "/admin/records",
            json!({"get": admin_op("Journal records, newest first, without bodies.", "observe", filters,
            None, vec![(200, response("A page of records.", schema_ref("RecordPage")))], &[400, 401])}),
        ),
        (
            "/admin/records/{id}",
            json!({"get": admin_op("One journal record with its request and response bodies.", "observe",
            vec![path_param("id", "The request id (`x-request-id`).", "req-unknown")],
            None, vec![(200, response("The record.", json!({"type": "object"})))], &[401, 404])}),
        ),
        (
            "/admin/projects",
            json!({"get": admin_op("Projects seen recently.", "observe",
            vec![query("active_since_mins", "Window in minutes (default 60).", json!({"type": "integer", "minimum": 0}))],
            None, vec![(200, response("Projects.", schema_ref("Projects")))], &[400, 401])}),
        ),
        (
            "/admin/events",
            json!({"get": admin_op("The live feed: one server-sent event per request start and end (`lagged` when a slow reader missed some).", "observe", vec![],
            None, vec![(200, json!({"description": "An endless `text/event-stream`.", "content": {"text/event-stream": {"schema": {"type": "string"}}}}))], &[401])}),
        ),
    ]
}

fn config_paths() -> Vec<(&'static str, Value)> {
    let write_ok = |what: &str| {
        response(
            &format!("{what}: applied and persisted, or (with `dry_run`) checked only."),
            schema_ref("WriteResult"),
        )
    };
    let provider =
        json!({"id": "openapi-mock", "kind": "mock", "models": ["openapi-*"], "chunk_delay_ms": 1});
    let provider_put = json!({"id": "openapi-mock", "kind": "mock", "models": ["openapi-*", "docs-*"], "chunk_delay_ms": 1});
    let route =
        json!({"name": "openapi-rule", "model_prefix": "openapi-", "to": "openapi-mock/openapi-1"});
    let route_put = json!({"name": "openapi-rule", "model_prefix": ["openapi-", "docs-"], "to": "openapi-mock/openapi-2"});
    let model = json!({"name": "openapi-fast", "targets": ["openapi-mock/openapi-1"], "description": "Example"});
    let model_put = json!({"name": "openapi-fast", "targets": ["openapi-mock/openapi-2", "openapi-mock/openapi-1"]});
    let collection = |what: &str, plural: &str, entry: &str, example: Value, extra: Vec<Value>| {
        let mut params = vec![dry_run()];
        params.extend(extra);
        json!({
            "get": admin_op(&format!("List the {plural} (secrets shown as {{\"set\": true}})."), "config", vec![],
                None, vec![(200, response(&format!("The {plural}."), json!({"type": "object", "required": [plural_key(plural), "version"],
                    "properties": {plural_key(plural): {"type": "array", "items": schema_ref(entry)}, "version": {"type": "string"}}})))], &[401]),
            "post": admin_op(&format!("Add a {what}."), "config", params,
                body(schema_ref(entry), example), vec![(201, write_ok("Added")), (200, write_ok("Dry run"))], &[400, 401, 409, 422, 500]),
        })
    };
    let item = |what: &str,
                name: &str,
                entry: &str,
                ex_id: &str,
                example: Value,
                extra: Vec<Value>| {
        let id = path_param(name, &format!("The {what}'s {name}."), ex_id);
        let mut put_params = vec![id.clone(), dry_run()];
        put_params.extend(extra);
        json!({
            "get": admin_op(&format!("One {what}."), "config", vec![id.clone()], None,
                vec![(200, response(&format!("The {what}."), schema_ref(entry)))], &[401, 404]),
            "put": admin_op(&format!("Replace a {what}."), "config", put_params, body(schema_ref(entry), example),
                vec![(200, write_ok("Replaced"))], &[400, 401, 404, 409, 422, 500]),
            "delete": admin_op(&format!("Remove a {what}."), "config", vec![id, dry_run()], None,
                vec![(200, write_ok("Removed"))], &[400, 401, 404, 409, 422, 500]),
        })
    };
    vec![
        (
            "/admin/config",
            json!({"get": admin_op("The effective configuration (secrets shown as {\"set\": true}), its version and where it is persisted.", "config", vec![],
            None, vec![(200, response("The configuration.", schema_ref("ConfigView")))], &[401])}),
        ),
        (
            "/admin/reload",
            json!({"post": admin_op("Re-read the config file and swap it in (as SIGHUP does).", "config", vec![dry_run()],
            None, vec![(200, response("Reloaded, or checked.", schema_ref("ReloadResult")))], &[401, 422])}),
        ),
        (
            "/admin/providers",
            collection(
                "provider",
                "providers",
                "Provider",
                provider,
                vec![position()],
            ),
        ),
        (
            "/admin/providers/{id}",
            item(
                "provider",
                "id",
                "Provider",
                "openapi-mock",
                provider_put,
                vec![position()],
            ),
        ),
        (
            "/admin/routes",
            collection("routing rule", "routes", "Route", route, vec![position()]),
        ),
        (
            "/admin/routes/{name}",
            item(
                "routing rule",
                "name",
                "Route",
                "openapi-rule",
                route_put,
                vec![position()],
            ),
        ),
        (
            "/admin/models",
            collection(
                "virtual model",
                "virtual models",
                "VirtualModel",
                model,
                vec![],
            ),
        ),
        (
            "/admin/models/{name}",
            item(
                "virtual model",
                "name",
                "VirtualModel",
                "openapi-fast",
                model_put,
                vec![],
            ),
        ),
        (
            "/admin/route/test",
            json!({"post": admin_op("What the gateway would do with a request, layer by layer, without sending it.", "config", vec![],
            body(schema_ref("RouteTest"), json!({"endpoint": "/v1/chat/completions", "headers": {"x-source": "docs"},
                "body": {"model": "openapi-1", "messages": [{"role": "user", "content": "hi"}]}})),
            vec![(200, response("The layers' verdicts; `error` when the request would be refused.", schema_ref("RouteTestResult")))], &[400, 401, 422])}),
        ),
    ]
}

fn plural_key(plural: &str) -> &str {
    match plural {
        "virtual models" => "models",
        "routing rules" => "routes",
        other => other,
    }
}

fn key_paths() -> Vec<(&'static str, Value)> {
    let id = || path_param("id", "The key's id.", "openapi-key");
    vec![
        (
            "/admin/keys",
            json!({
                "get": admin_op("List the virtual keys (masked).", "keys", vec![], None,
                    vec![(200, response("The keys.", json!({"type": "object", "required": ["keys"],
                        "properties": {"keys": {"type": "array", "items": schema_ref("Key")}, "mode": {"type": "string"}, "persistent": {"type": "boolean"}}})))], &[401]),
                "post": admin_op("Create a virtual key; its secret is in this answer only.", "keys", vec![],
                    body(json!({"type": "object"}), json!({"id": "openapi-key", "label": "docs", "models": ["openapi-*"], "rpm": 60})),
                    vec![(201, response("Created.", schema_ref("KeyWithSecret")))], &[400, 401, 409, 500]),
            }),
        ),
        (
            "/admin/keys/{id}",
            json!({
                "get": admin_op("One key (masked).", "keys", vec![id()], None,
                    vec![(200, response("The key.", schema_ref("Key")))], &[401, 404]),
                "delete": admin_op("Revoke a key (keys from the config file are read-only: 409).", "keys", vec![id()], None,
                    vec![(200, response("Revoked.", json!({"type": "object", "required": ["id", "revoked"]})))], &[401, 404, 409, 500]),
            }),
        ),
        (
            "/admin/keys/{id}/rotate",
            json!({
                "post": admin_op("Replace a key's secret; the new one is in this answer only.", "keys", vec![id()], None,
                    vec![(200, response("Rotated.", schema_ref("KeyWithSecret")))], &[401, 404, 409, 500]),
            }),
        ),
    ]
}
