//! The document's `components`: security schemes and the schemas of every
//! request and answer body, error shapes included.

use serde_json::{Map, Value, json};

use super::schema_ref;

/// Security schemes and schemas.
pub(super) fn components() -> Value {
    let secret = json!({"oneOf": [
        {"type": "string", "description": "Write-only: sent, never returned."},
        {"type": "object", "required": ["set"], "properties": {"set": {"const": true}},
         "description": "Shown in answers; in a PUT, keeps the stored value."},
    ]});
    let names =
        json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]});
    let target = json!({"oneOf": [
        {"type": "string", "description": "`provider/model` or a virtual model's name."},
        {"type": "object", "required": ["target"], "properties": {
            "target": {"type": "string"}, "weight": {"type": "integer"}, "profile": {"type": "string"},
            "input_price": {"type": "number"}, "output_price": {"type": "number"}, "quality": {"type": "number"}}},
    ]});
    let targets = json!({"oneOf": [target, {"type": "array", "items": target}]});
    let schemas: Vec<(&str, Value)> = vec![
        (
            "AdminError",
            json!({"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["message", "type"], "properties": {
                    "message": {"type": "string"}, "type": {"type": "string"},
                    "field": {"type": "string", "description": "The field at fault, e.g. `providers[2].base_url`."}}}}}),
        ),
        (
            "OpenAiError",
            json!({"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["message", "type"], "properties": {
                    "message": {"type": "string"}, "type": {"type": "string"},
                    "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}),
        ),
        (
            "AnthropicError",
            json!({"type": "object", "required": ["type", "error"], "properties": {
                "type": {"const": "error"},
                "error": {"type": "object", "required": ["type", "message"], "properties": {
                    "type": {"type": "string"}, "message": {"type": "string"}}}}}),
        ),
        (
            "ChatCompletionRequest",
            json!({"type": "object", "required": ["model", "messages"], "properties": {
                "model": {"type": "string"}, "messages": {"type": "array", "items": {"type": "object"}},
                "stream": {"type": "boolean"}, "max_tokens": {"type": "integer"}}}),
        ),
        (
            "CompletionRequest",
            json!({"type": "object", "required": ["model", "prompt"], "properties": {
                "model": {"type": "string"}, "prompt": {}, "stream": {"type": "boolean"}}}),
        ),
        (
            "EmbeddingRequest",
            json!({"type": "object", "required": ["model", "input"], "properties": {
                "model": {"type": "string"}, "input": {}}}),
        ),
        (
            "ResponsesRequest",
            json!({"type": "object", "required": ["model", "input"], "properties": {
                "model": {"type": "string"}, "input": {}, "stream": {"type": "boolean"}}}),
        ),
        (
            "MessagesRequest",
            json!({"type": "object", "required": ["model", "messages"], "properties": {
                "model": {"type": "string"}, "messages": {"type": "array", "items": {"type": "object"}},
                "max_tokens": {"type": "integer"}, "stream": {"type": "boolean"}}}),
        ),
        (
            "ModelList",
            json!({"type": "object", "required": ["object", "data"], "properties": {
                "object": {"const": "list"}, "data": {"type": "array", "items": {"type": "object",
                    "required": ["id", "object", "owned_by"], "properties": {
                        "id": {"type": "string"}, "object": {"const": "model"}, "owned_by": {"type": "string"}}}}}}),
        ),
        (
            "Health",
            json!({"type": "object", "required": ["status", "version", "providers", "circuits"], "properties": {
                "status": {"type": "string"}, "version": {"type": "string"}, "uptime_secs": {"type": "integer"},
                "providers": {"type": "array", "items": {"type": "object"}}, "circuits": {"type": "array", "items": {"type": "object"}}}}),
        ),
        (
            "Stats",
            json!({"type": "object", "required": ["window", "totals", "by_model", "by_provider", "by_source", "by_project", "by_key", "journal"]}),
        ),
        (
            "RecordPage",
            json!({"type": "object", "required": ["records"], "properties": {
                "records": {"type": "array", "items": {"type": "object"}}, "next": {"type": ["string", "null"]}}}),
        ),
        (
            "Projects",
            json!({"type": "object", "required": ["active_since_mins", "projects"], "properties": {
                "active_since_mins": {"type": "integer"}, "projects": {"type": "array"}}}),
        ),
        (
            "ReloadResult",
            json!({"type": "object", "required": ["applied", "dry_run", "version", "changes"], "properties": {
                "applied": {"type": "boolean"}, "dry_run": {"type": "boolean"}, "version": {"type": "string"},
                "changes": {"type": "array", "items": {"type": "string"}}}}),
        ),
        (
            "ConfigView",
            json!({"type": "object", "required": ["version", "generation", "persisted_to", "source", "config"], "properties": {
                "version": {"type": "string", "description": "As in the `x-switchyard-config-version` header."},
                "generation": {"type": "integer"},
                "persisted_to": {"type": ["string", "null"], "description": "The config file changes are written to; null: none (changes are refused)."},
                "source": {"enum": ["file", "environment"]},
                "config": {"type": "object", "description": "Every key of the config file, defaults filled in."}}}),
        ),
        (
            "WriteResult",
            json!({"type": "object", "required": ["applied", "dry_run", "version", "changes", "persisted_to"], "properties": {
                "applied": {"type": "boolean"}, "dry_run": {"type": "boolean"},
                "version": {"type": "string", "description": "The configuration serving after the call."},
                "changes": {"type": "array", "items": {"type": "string"}},
                "persisted_to": {"type": ["string", "null"]},
                "provider": {"oneOf": [schema_ref("Provider"), {"type": "null"}]},
                "route": {"oneOf": [schema_ref("Route"), {"type": "null"}]},
                "virtual_model": {"oneOf": [schema_ref("VirtualModel"), {"type": "null"}]}}}),
        ),
        (
            "Provider",
            json!({"type": "object", "required": ["id", "kind"], "description": "A `[[providers]]` entry, same field names.", "properties": {
                "id": {"type": "string"},
                "kind": {"enum": ["openai", "mock", "anthropic", "azure", "gemini", "vertex", "ollama", "openresponses"]},
                "base_url": {"type": "string"}, "api_key": secret,
                "headers": {"type": "object", "additionalProperties": secret},
                "models": {"type": "array", "items": {"type": "string"}}, "discover": {"type": "boolean"},
                "timeout_secs": {"type": "number"}, "connect_timeout_secs": {"type": "number"}, "idle_timeout_secs": {"type": "number"},
                "deployment": {"type": "string"}, "api_version": {"type": "string"}, "max_tokens": {"type": "integer"},
                "anthropic_version": {"type": "string"}, "project": {"type": "string"}, "location": {"type": "string"},
                "credentials_file": {"type": "string"}, "skip_probe": {"type": "boolean"},
                "http2_prior_knowledge": {"type": "boolean"}, "http2_max_streams": {"type": "integer", "minimum": 1}, "health_check_path": {"type": "string"},
                "health_check_interval_secs": {"type": "number"}, "chunk_delay_ms": {"type": "integer"},
                "error_status": {"type": "integer"}, "error_every": {"type": "integer"}, "embedding_dims": {"type": "integer"}}}),
        ),
        (
            "Route",
            json!({"type": "object", "required": ["name"], "description": "A `[[rules]]` entry, same field names; `position` is its place (0 = tried first).", "properties": {
                "name": {"type": "string", "description": "Unnamed rules from the file answer to `rules[i]`."},
                "position": {"type": "integer"},
                "model": names, "model_prefix": names, "model_glob": names,
                "endpoints": {"type": "array", "items": {"type": "string"}},
                "tags": {"type": "array", "items": {"type": "string"}}, "any_tags": {"type": "array", "items": {"type": "string"}},
                "not_tags": {"type": "array", "items": {"type": "string"}}, "prompt_regex": {"type": "string"},
                "min_body_bytes": {"type": "integer"}, "max_body_bytes": {"type": "integer"},
                "min_tokens": {"type": "integer"}, "max_tokens": {"type": "integer"},
                "sources": {"type": "array", "items": {"type": "string"}}, "projects": {"type": "array", "items": {"type": "string"}},
                "callers": {"type": "array", "items": {"type": "string"}},
                "headers": {"type": "object"}, "header_regex": {"type": "object"}, "header_present": {"type": "array", "items": {"type": "string"}},
                "to": targets, "discovered": names, "strategy": {"type": "string"}, "max_price": {"type": "number"},
                "quality_bias": {"type": "number"}, "sticky": {"type": "object"}, "profile": {"type": "string"}}}),
        ),
        (
            "VirtualModel",
            json!({"type": "object", "required": ["targets"], "description": "A `[virtual_models.<name>]` table; `name` is its key.", "properties": {
                "name": {"type": "string"}, "targets": targets, "strategy": {"type": "string"},
                "max_price": {"type": "number"}, "quality_bias": {"type": "number"}, "sticky": {"type": "object"},
                "profile": {"type": "string"}, "description": {"type": "string"}}}),
        ),
        (
            "RouteTest",
            json!({"type": "object", "required": ["endpoint", "body"], "properties": {
                "endpoint": {"type": "string", "description": "e.g. `/v1/chat/completions`, `/v1/messages`."},
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "body": {"type": "object"}}}),
        ),
        (
            "RouteTestResult",
            json!({"type": "object", "required": ["endpoint", "protocol", "version", "routed"], "properties": {
                "endpoint": {"type": "string"}, "protocol": {"type": "string"}, "version": {"type": "string"},
                "routed": {"type": "boolean"},
                "parse": {"type": "object", "properties": {"model": {"type": ["string", "null"]}, "stream": {"type": "boolean"}}},
                "classify": {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}},
                "route": {"type": "object", "required": ["requested_model", "rule", "tried", "candidates"], "properties": {
                    "requested_model": {"type": "string"},
                    "rule": {"type": "string", "description": "`rule:<name>`, `virtual:<name>` or the provider glob that matched."},
                    "tried": {"type": "array", "description": "The rules in order up to the one that routed (all when none did), each with whether its conditions held.",
                        "items": {"type": "object", "required": ["rule", "matched"], "properties": {"rule": {"type": "string"}, "matched": {"type": "boolean"}}}},
                    "candidates": {"type": "array", "items": {"type": "object", "required": ["provider", "model"], "properties": {
                        "provider": {"type": "string"}, "model": {"type": "string"}, "profile": {"type": ["string", "null"]}}}}}},
                "params": {"type": "object", "properties": {"provider": {"type": "string"}, "model": {"type": "string"},
                    "changed": {"type": "array", "items": {"type": "string"}}, "body": {"type": "object"}, "error": {"type": "string"}}},
                "error": {"type": "object", "required": ["layer", "status", "message"], "properties": {
                    "layer": {"type": "string"}, "status": {"type": "integer"}, "message": {"type": "string"}, "body": {}}}}}),
        ),
        (
            "Key",
            json!({"type": "object", "required": ["id", "masked", "source"], "properties": {
                "id": {"type": "string"}, "masked": {"type": "string"}, "source": {"type": "string"}}}),
        ),
        (
            "KeyWithSecret",
            json!({"type": "object", "required": ["id", "key"], "properties": {
                "id": {"type": "string"}, "key": {"type": "string", "description": "The plaintext key: shown once."}}}),
        ),
    ];
    let schemas: Map<String, Value> = schemas
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    json!({
        "securitySchemes": {
            "adminKey": {"type": "http", "scheme": "bearer", "description": "The configured `admin_key`."},
            "clientKey": {"type": "http", "scheme": "bearer", "description": "A gateway or virtual key, when `[auth]` requires one."},
            "anthropicKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
        },
        "schemas": schemas,
    })
}
