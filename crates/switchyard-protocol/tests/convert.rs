//! Request and answer conversion between formats, and client encoders.
#![expect(clippy::unwrap_used, reason = "test helpers")]

use bytes::BytesMut;
use serde_json::{Value, json};
use switchyard_protocol::ir::{Event, Finish, FinishReason, Usage};
use switchyard_protocol::{EncodeOptions, Format, split};

fn openai_tools_request() -> Value {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris and Rome?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
            ]},
            {"role": "assistant", "content": null,
             "thinking_blocks": [{"type": "thinking", "thinking": "Two cities.", "signature": "sig-1"}],
             "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_b", "content": "24C"},
            {"role": "user", "content": "Thanks. Which is warmer?"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"z": {"type": "string"}, "city": {"type": "string"}}, "required": ["city"]}}}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "temperature": 0.2, "top_p": 0.9, "max_tokens": 300, "stop": ["END"],
        "response_format": {"type": "json_object"}
    })
}

#[test]
fn openai_to_anthropic_request() {
    let ir = Format::OpenAiChat
        .decode_request(&openai_tools_request())
        .unwrap();
    let a = Format::Anthropic.encode_request(&ir, "claude-x");
    assert_eq!(a["model"], "claude-x");
    assert_eq!(a["max_tokens"], 300);
    assert_eq!(a["system"][0]["text"], "You are terse.");
    assert_eq!(
        a["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert!(a["system"][1]["text"].as_str().unwrap().contains("JSON"));
    let m = a["messages"].as_array().unwrap();
    assert_eq!(
        m.len(),
        3,
        "user, assistant, user (tool results + text merged): {m:?}"
    );
    assert_eq!(
        m[0]["content"][1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="})
    );
    assert_eq!(
        m[0]["content"][2]["source"],
        json!({"type": "url", "url": "https://example.com/cat.jpg"})
    );
    assert_eq!(
        m[1]["content"][0],
        json!({"type": "thinking", "thinking": "Two cities.", "signature": "sig-1"})
    );
    assert_eq!(m[1]["content"][1]["input"], json!({"city": "Paris"}));
    assert_eq!(m[1]["content"][2]["id"], "call_b");
    assert_eq!(
        m[2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "call_a", "content": [{"type": "text", "text": "18C"}]})
    );
    assert_eq!(m[2]["content"][1]["tool_use_id"], "call_b");
    assert_eq!(m[2]["content"][2]["text"], "Thanks. Which is warmer?");
    // schema key order kept
    let keys: Vec<&String> = a["tools"][0]["input_schema"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["z", "city"]);
    assert_eq!(
        a["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    assert_eq!(a["stop_sequences"], json!(["END"]));
    assert_eq!(a["temperature"], 0.2);
}

#[test]
fn anthropic_to_openai_request_and_back() {
    let body = json!({
        "model": "claude", "max_tokens": 100,
        "system": [{"type": "text", "text": "Sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hm", "signature": "s1"},
                {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok", "is_error": true}]}
        ],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "f"},
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "stop_sequences": ["x"], "top_k": 5
    });
    let ir = Format::Anthropic.decode_request(&body).unwrap();
    let o = Format::OpenAiChat.encode_request(&ir, "gpt");
    assert_eq!(
        o["messages"][0],
        json!({"role": "system", "content": "Sys"})
    );
    assert_eq!(o["messages"][1], json!({"role": "user", "content": "Hi"}));
    assert_eq!(
        o["messages"][2]["tool_calls"][0]["function"]["arguments"],
        "{\"a\":1}"
    );
    assert_eq!(o["messages"][3]["role"], "tool");
    assert_eq!(o["messages"][3]["content"], "Error: ok");
    assert_eq!(
        o["tool_choice"],
        json!({"type": "function", "function": {"name": "f"}})
    );
    assert_eq!(o["reasoning_effort"], "low");
    assert_eq!(o["max_completion_tokens"], 100);
    assert!(o.get("top_k").is_none());
    // Anthropic -> Anthropic through the IR keeps signatures and cache markers exactly.
    let back = Format::Anthropic.encode_request(&ir, "claude");
    assert_eq!(
        back["messages"][1]["content"][0],
        json!({"type": "thinking", "thinking": "hm", "signature": "s1"})
    );
    assert_eq!(
        back["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        back["thinking"],
        json!({"type": "enabled", "budget_tokens": 2000})
    );
    assert_eq!(back["max_tokens"], 3024, "room after the thinking budget");
}

#[test]
fn gemini_request_shape() {
    let ir = Format::OpenAiChat
        .decode_request(&openai_tools_request())
        .unwrap();
    let g = Format::Gemini.encode_request(&ir, "gemini-2.5-flash");
    assert!(g.get("model").is_none());
    assert_eq!(g["systemInstruction"]["parts"][0]["text"], "You are terse.");
    let c = g["contents"].as_array().unwrap();
    assert_eq!(
        c.iter()
            .map(|c| c["role"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["user", "model", "user"]
    );
    assert_eq!(c[0]["parts"][1]["inlineData"]["mimeType"], "image/png");
    assert_eq!(
        c[1]["parts"][0]["functionCall"],
        json!({"name": "get_weather", "args": {"city": "Paris"}})
    );
    assert_eq!(c[1]["parts"][0]["thoughtSignature"], "sig-1");
    assert_eq!(
        c[2]["parts"][0]["functionResponse"],
        json!({"name": "get_weather", "response": {"result": "18C"}})
    );
    assert_eq!(g["toolConfig"]["functionCallingConfig"]["mode"], "ANY");
    assert_eq!(g["generationConfig"]["maxOutputTokens"], 300);
    assert_eq!(g["generationConfig"]["stopSequences"], json!(["END"]));
    assert_eq!(
        g["generationConfig"]["responseMimeType"],
        "application/json"
    );
}

#[test]
fn ollama_and_responses_request_shape() {
    let ir = Format::OpenAiChat
        .decode_request(&openai_tools_request())
        .unwrap();
    let o = Format::Ollama.encode_request(&ir, "qwen3");
    assert_eq!(o["stream"], false);
    assert_eq!(o["options"]["num_predict"], 300);
    assert_eq!(o["messages"][1]["images"], json!(["iVBORw0KGgo="]));
    assert_eq!(
        o["messages"][2]["tool_calls"][1]["function"]["arguments"],
        json!({"city": "Rome"})
    );
    assert_eq!(
        o["messages"][3],
        json!({"role": "tool", "content": "18C", "tool_name": "get_weather"})
    );
    assert_eq!(o["format"], "json");
    let r = Format::Responses.encode_request(&ir, "gpt-5");
    assert_eq!(r["instructions"], "You are terse.");
    assert_eq!(r["max_output_tokens"], 300);
    let input = r["input"].as_array().unwrap();
    assert_eq!(
        input[0]["content"][0],
        json!({"type": "input_text", "text": "Weather in Paris and Rome?"})
    );
    assert_eq!(input[1]["type"], "reasoning");
    assert_eq!(input[1]["encrypted_content"], "sig-1");
    assert_eq!(
        input[2],
        json!({"type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"})
    );
    assert_eq!(
        input[4],
        json!({"type": "function_call_output", "call_id": "call_a", "output": "18C"})
    );
    assert_eq!(r["store"], false);
}

#[test]
fn finish_reasons_and_usage_map() {
    let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "max_tokens", "stop_sequence": null,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0, "output_tokens": 5}});
    let r = Format::Anthropic.decode_response(&body).unwrap();
    let o = Format::OpenAiChat.encode_response(&r).unwrap();
    assert_eq!(o["choices"][0]["finish_reason"], "length");
    assert_eq!(o["usage"]["prompt_tokens"], 100);
    assert_eq!(o["usage"]["prompt_tokens_details"]["cached_tokens"], 90);
    let back = Format::Anthropic
        .encode_response(&Format::OpenAiChat.decode_response(&o).unwrap())
        .unwrap();
    assert_eq!(back["stop_reason"], "max_tokens");
    assert_eq!(back["usage"]["input_tokens"], 10);
    assert_eq!(back["usage"]["cache_read_input_tokens"], 90);
    let resp = Format::Responses.encode_response(&r).unwrap();
    assert_eq!(resp["status"], "incomplete");
    assert_eq!(resp["incomplete_details"]["reason"], "max_output_tokens");
}

fn encode(format: Format, events: &[Event], include_usage: bool) -> String {
    let mut e = format
        .encoder(EncodeOptions {
            model: "m".into(),
            include_usage,
        })
        .unwrap();
    let mut out = BytesMut::new();
    for ev in events {
        e.encode(ev, &mut out);
    }
    e.finish(&mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

fn data(sse: &str) -> Vec<Value> {
    sse.split("\n\n")
        .filter_map(|ev| ev.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn tool_events() -> Vec<Event> {
    vec![
        Event::Start {
            id: "x1".into(),
            model: "up-model".into(),
        },
        Event::Text("Let me ".into()),
        Event::Text("check.".into()),
        Event::ToolCallStart {
            index: 0,
            id: "c1".into(),
            name: "f".into(),
        },
        Event::ToolCallDelta {
            index: 0,
            arguments: "{\"a\":".into(),
        },
        Event::ToolCallDelta {
            index: 0,
            arguments: "1}".into(),
        },
        Event::ToolCallStart {
            index: 1,
            id: "c2".into(),
            name: "g".into(),
        },
        Event::ToolCallDelta {
            index: 1,
            arguments: "{}".into(),
        },
        Event::Finish(Finish::new(FinishReason::Stop)),
        Event::Usage(Usage {
            input_tokens: 7,
            output_tokens: 9,
            ..Usage::default()
        }),
    ]
}

#[test]
fn openai_encoder_is_strict_client_friendly() {
    let out = encode(Format::OpenAiChat, &tool_events(), true);
    assert!(out.ends_with("data: [DONE]\n\n"));
    let chunks = data(&out);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(
        chunks
            .iter()
            .filter(|c| c["choices"][0]["delta"]["role"] == "assistant")
            .count(),
        1
    );
    let finish: Vec<_> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .collect();
    assert_eq!(
        finish,
        ["tool_calls"],
        "a turn ending in tool calls says so"
    );
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 9);
    assert_eq!(chunks.last().unwrap()["choices"], json!([]));
    assert!(!encode(Format::OpenAiChat, &tool_events(), false).contains("\"usage\""));
}

#[test]
fn anthropic_encoder_blocks() {
    let out = encode(Format::Anthropic, &tool_events(), false);
    let names: Vec<&str> = out
        .split("\n\n")
        .filter_map(|ev| ev.strip_prefix("event: "))
        .map(|l| l.lines().next().unwrap())
        .collect();
    assert_eq!(names.iter().filter(|n| **n == "message_start").count(), 1);
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    let events = data(&out);
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(delta["usage"]["output_tokens"], 9);
    let starts: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["content_block"]["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        starts,
        [
            (0, "text".into()),
            (1, "tool_use".into()),
            (2, "tool_use".into())
        ]
    );
}

#[test]
fn responses_encoder_emits_every_function_call_event() {
    let out = encode(Format::Responses, &tool_events(), false);
    let events = data(&out);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "response.created");
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "response.function_call_arguments.done")
            .count(),
        2
    );
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "response.output_item.done")
            .count(),
        3
    );
    let done = events.last().unwrap();
    assert_eq!(done["type"], "response.completed");
    assert_eq!(done["response"]["output"][1]["arguments"], "{\"a\":1}");
    assert_eq!(
        done["response"]["output"][0]["content"][0]["text"],
        "Let me check."
    );
    assert_eq!(done["response"]["usage"]["output_tokens"], 9);
    let seq: Vec<u64> = events
        .iter()
        .map(|e| e["sequence_number"].as_u64().unwrap())
        .collect();
    assert!(seq.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn split_then_encode_matches_streamed_answer() {
    let body = json!({"id": "chatcmpl-9", "object": "chat.completion", "model": "gpt", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
    let r = Format::OpenAiChat.decode_response(&body).unwrap();
    let out = encode(Format::Anthropic, &split(&r), false);
    assert!(out.contains("\"text\":\"hello\""));
    assert!(out.contains("\"stop_reason\":\"end_turn\""));
}

#[test]
fn mid_stream_errors_reach_the_client_in_its_format() {
    let upstream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let mut d = Format::Anthropic.decoder();
    let mut events = Vec::new();
    d.feed(upstream.as_bytes(), &mut events).unwrap();
    let out = encode(Format::OpenAiChat, &events, false);
    let chunks = data(&out);
    let err = chunks.iter().find(|c| c.get("error").is_some()).unwrap();
    assert_eq!(err["error"]["type"], "overloaded_error");
    assert_eq!(err["error"]["message"], "Overloaded");
    assert!(
        !out.contains("finish_reason\":\"stop"),
        "no fake success after an error"
    );
    let out = encode(Format::Responses, &events, false);
    assert!(out.contains("event: error\n"));
    assert!(!out.contains("response.completed"));
    // And the other way: an OpenAI error chunk becomes an Anthropic `error` event.
    let mut d = Format::OpenAiChat.decoder();
    let mut events = Vec::new();
    d.feed(
        b"data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n",
        &mut events,
    )
    .unwrap();
    let out = encode(Format::Anthropic, &events, false);
    assert!(out.contains("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}"), "{out}");
    assert!(!out.contains("message_stop"));
}

#[test]
fn content_filter_maps_across_formats() {
    let gemini = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "partial"}]}, "finishReason": "SAFETY"}],
        "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 1}});
    let r = Format::Gemini.decode_response(&gemini).unwrap();
    assert_eq!(
        r.finish.as_ref().unwrap().reason,
        FinishReason::ContentFilter
    );
    assert_eq!(
        Format::OpenAiChat.encode_response(&r).unwrap()["choices"][0]["finish_reason"],
        "content_filter"
    );
    assert_eq!(
        Format::Anthropic.encode_response(&r).unwrap()["stop_reason"],
        "refusal"
    );
    let resp = Format::Responses.encode_response(&r).unwrap();
    assert_eq!(resp["status"], "incomplete");
    assert_eq!(resp["incomplete_details"]["reason"], "content_filter");
    let openai = json!({"id": "c", "object": "chat.completion", "model": "m", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": ""}, "finish_reason": "content_filter"}]});
    let r = Format::OpenAiChat.decode_response(&openai).unwrap();
    assert_eq!(
        Format::Anthropic.encode_response(&r).unwrap()["stop_reason"],
        "refusal"
    );
    // Stop sequences keep their name where the target has one.
    let anthropic = json!({"id": "m", "type": "message", "role": "assistant", "model": "c",
        "content": [{"type": "text", "text": "x"}], "stop_reason": "stop_sequence", "stop_sequence": "END",
        "usage": {"input_tokens": 1, "output_tokens": 1}});
    let r = Format::Anthropic.decode_response(&anthropic).unwrap();
    assert_eq!(
        Format::OpenAiChat.encode_response(&r).unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    let back = Format::Anthropic.encode_response(&r).unwrap();
    assert_eq!(
        (back["stop_reason"].as_str(), back["stop_sequence"].as_str()),
        (Some("stop_sequence"), Some("END"))
    );
}

#[test]
fn several_choices_are_refused_not_silently_dropped() {
    let e = Format::OpenAiChat
        .decode_request(
            &json!({"model": "m", "n": 3, "messages": [{"role": "user", "content": "x"}]}),
        )
        .unwrap_err();
    assert_eq!(e.param(), Some("n"));
    assert!(
        Format::OpenAiChat
            .decode_request(
                &json!({"model": "m", "n": 1, "messages": [{"role": "user", "content": "x"}]})
            )
            .is_ok()
    );
}
