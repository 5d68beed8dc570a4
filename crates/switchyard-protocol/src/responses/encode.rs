//! IR events -> a Responses event stream.

use bytes::BytesMut;
use serde_json::{Value, json};

use super::response::{item_id, response_object};
use crate::ir::{Event, Finish, Usage};
use crate::stream::{EncodeOptions, StreamEncoder, effective, sse_event};

/// The output item the encoder has open.
#[derive(Debug)]
enum Item {
    Message {
        text: String,
    },
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    Call {
        tool: usize,
        call_id: String,
        name: String,
        arguments: String,
    },
}

/// Encodes IR events as a Responses SSE stream.
#[derive(Debug)]
pub struct Encoder {
    id: String,
    model: String,
    created: u64,
    seq: u64,
    started: bool,
    open: Option<Item>,
    done: Vec<Value>,
    /// Output index of each tool ordinal.
    tools: Vec<usize>,
    usage: Option<Usage>,
    finish: Option<Finish>,
    failed: bool,
}

impl Encoder {
    /// An encoder.
    pub fn new(options: EncodeOptions) -> Self {
        Encoder {
            id: crate::util::fresh_id("resp_"),
            model: options.model,
            created: crate::util::now(),
            seq: 0,
            started: false,
            open: None,
            done: Vec::new(),
            tools: Vec::new(),
            usage: None,
            finish: None,
            failed: false,
        }
    }

    fn emit(&mut self, name: &str, mut v: Value, out: &mut BytesMut) {
        v["type"] = name.into();
        v["sequence_number"] = self.seq.into();
        self.seq += 1;
        sse_event(out, name, &v);
    }

    fn object(&self, status: &str, output: Vec<Value>) -> Value {
        response_object(
            &self.id,
            &self.model,
            self.created,
            status,
            output,
            self.usage.as_ref(),
            self.finish.as_ref(),
        )
    }

    fn start(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let r = self.object("in_progress", Vec::new());
        self.emit("response.created", json!({"response": r}), out);
        let r = self.object("in_progress", Vec::new());
        self.emit("response.in_progress", json!({"response": r}), out);
    }

    fn index(&self) -> usize {
        self.done.len()
    }

    fn open(&mut self, item: Item, out: &mut BytesMut) {
        self.close(out);
        let n = self.index();
        let added = match &item {
            Item::Message { .. } => {
                json!({"type": "message", "id": item_id("msg", &self.id, n), "status": "in_progress", "role": "assistant", "content": []})
            }
            Item::Reasoning { .. } => {
                json!({"type": "reasoning", "id": item_id("rs", &self.id, n), "summary": []})
            }
            Item::Call { call_id, name, .. } => {
                json!({"type": "function_call", "id": item_id("fc", &self.id, n), "call_id": call_id, "name": name, "arguments": "", "status": "in_progress"})
            }
        };
        self.emit(
            "response.output_item.added",
            json!({"output_index": n, "item": added}),
            out,
        );
        let id = added["id"].clone();
        match &item {
            Item::Message { .. } => self.emit("response.content_part.added", json!({"item_id": id, "output_index": n, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}), out),
            Item::Reasoning { .. } => self.emit("response.reasoning_summary_part.added", json!({"item_id": id, "output_index": n, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}), out),
            Item::Call { .. } => {}
        }
        self.open = Some(item);
    }

    fn close(&mut self, out: &mut BytesMut) {
        let Some(item) = self.open.take() else { return };
        let n = self.index();
        let done = match item {
            Item::Message { text } => {
                let id = item_id("msg", &self.id, n);
                let part =
                    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
                self.emit("response.output_text.done", json!({"item_id": id, "output_index": n, "content_index": 0, "text": text, "logprobs": []}), out);
                self.emit(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": n, "content_index": 0, "part": part}),
                    out,
                );
                json!({"type": "message", "id": id, "status": "completed", "role": "assistant", "content": [part]})
            }
            Item::Reasoning { text, signature } => {
                let id = item_id("rs", &self.id, n);
                self.emit(
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": n, "summary_index": 0, "text": text}),
                    out,
                );
                self.emit("response.reasoning_summary_part.done", json!({"item_id": id, "output_index": n, "summary_index": 0, "part": {"type": "summary_text", "text": text}}), out);
                let mut item = json!({"type": "reasoning", "id": id, "summary": [{"type": "summary_text", "text": text}]});
                if let Some(s) = signature {
                    item["encrypted_content"] = s.into();
                }
                item
            }
            Item::Call {
                call_id,
                name,
                arguments,
                ..
            } => {
                let id = item_id("fc", &self.id, n);
                self.emit(
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": n, "arguments": arguments}),
                    out,
                );
                json!({"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": arguments, "status": "completed"})
            }
        };
        self.emit(
            "response.output_item.done",
            json!({"output_index": n, "item": done}),
            out,
        );
        self.done.push(done);
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &Event, out: &mut BytesMut) {
        if self.failed {
            return;
        }
        match event {
            Event::Start { id: _, model } => {
                if !self.started && !model.is_empty() {
                    self.model.clone_from(model);
                }
                self.start(out);
            }
            Event::Text(t) => {
                self.start(out);
                if !matches!(self.open, Some(Item::Message { .. })) {
                    self.open(
                        Item::Message {
                            text: String::new(),
                        },
                        out,
                    );
                }
                if let Some(Item::Message { text }) = &mut self.open {
                    text.push_str(t);
                }
                let n = self.index();
                let id = item_id("msg", &self.id, n);
                self.emit("response.output_text.delta", json!({"item_id": id, "output_index": n, "content_index": 0, "delta": t, "logprobs": []}), out);
            }
            Event::Thinking(t) => {
                self.start(out);
                if !matches!(
                    self.open,
                    Some(Item::Reasoning {
                        signature: None,
                        ..
                    })
                ) {
                    self.open(
                        Item::Reasoning {
                            text: String::new(),
                            signature: None,
                        },
                        out,
                    );
                }
                if let Some(Item::Reasoning { text, .. }) = &mut self.open {
                    text.push_str(t);
                }
                let n = self.index();
                let id = item_id("rs", &self.id, n);
                self.emit(
                    "response.reasoning_summary_text.delta",
                    json!({"item_id": id, "output_index": n, "summary_index": 0, "delta": t}),
                    out,
                );
            }
            Event::ThinkingSignature(s) => {
                self.start(out);
                if !matches!(self.open, Some(Item::Reasoning { .. })) {
                    self.open(
                        Item::Reasoning {
                            text: String::new(),
                            signature: None,
                        },
                        out,
                    );
                }
                if let Some(Item::Reasoning { signature, .. }) = &mut self.open {
                    signature.get_or_insert_with(String::new).push_str(s);
                }
            }
            Event::RedactedThinking(_) => crate::util::dropped("redacted thinking", "responses"),
            Event::ToolCallStart { index, id, name } => {
                self.start(out);
                self.open(
                    Item::Call {
                        tool: *index,
                        call_id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                    },
                    out,
                );
                if self.tools.len() <= *index {
                    self.tools.resize(*index + 1, usize::MAX);
                }
                self.tools[*index] = self.index();
            }
            Event::ToolCallDelta { index, arguments } => {
                let n = self.index();
                if let Some(Item::Call {
                    tool,
                    arguments: acc,
                    ..
                }) = &mut self.open
                    && *tool == *index
                {
                    acc.push_str(arguments);
                    let id = item_id("fc", &self.id, n);
                    self.emit(
                        "response.function_call_arguments.delta",
                        json!({"item_id": id, "output_index": n, "delta": arguments}),
                        out,
                    );
                } else if let Some(&at) = self.tools.get(*index)
                    && let Some(item) = self.done.get_mut(at)
                {
                    // A late delta for a call already closed: keep the final object right.
                    let mut acc = item["arguments"].as_str().unwrap_or_default().to_owned();
                    acc.push_str(arguments);
                    item["arguments"] = acc.into();
                }
            }
            Event::Usage(u) => self.usage = Some(*u),
            Event::Finish(f) => self.finish = Some(f.clone()),
            // An SSE comment: every client ignores it, idle timers see traffic.
            Event::Ping => {
                if self.started {
                    out.extend_from_slice(b": ping\n\n");
                }
            }
            Event::Error { kind, message } => {
                self.failed = true;
                self.emit(
                    "error",
                    json!({"code": kind, "message": message, "param": null}),
                    out,
                );
            }
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.failed {
            return;
        }
        self.start(out);
        self.close(out);
        self.finish = Some(effective(self.finish.as_ref(), !self.tools.is_empty()));
        let r = self.object("completed", self.done.clone());
        let name = if r["status"] == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        self.emit(name, json!({"response": r}), out);
    }
}
