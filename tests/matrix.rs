//! The conformance matrix: every client protocol × every provider format ×
//! every scenario, through the real binary over real HTTP, against fake
//! upstreams that validate like the real APIs. Writes the table to
//! `target/conformance.md` and asserts every cell.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;
mod matrix_support;

use std::fmt::Write as _;

use common::{Gateway, client};
use matrix_support::{Ask, Client, Outcome, Turn, body, read, read_stream};
use serde_json::{Value, json};
use switchyard_testkit::FakeUpstream;

/// Provider formats: (column name, model routed to it).
const PROVIDERS: [(&str, &str); 5] = [
    ("OpenAI", "gpt-m"),
    ("Anthropic", "claude-m"),
    ("Gemini", "gemini-m"),
    ("Ollama", "ollama-m"),
    ("Responses", "resp-m"),
];

const SCENARIOS: [&str; 11] = [
    "text",
    "stream",
    "tools",
    "parallel tools",
    "images",
    "thinking",
    "cache markers",
    "json mode",
    "finish: length",
    "usage",
    "errors",
];

enum Cell {
    Pass,
    Fail(String),
    NotApplicable(&'static str),
}

type Res = Result<(), String>;

fn check(ok: bool, what: impl FnOnce() -> String) -> Res {
    if ok { Ok(()) } else { Err(what()) }
}

struct Ctx<'a> {
    gw: &'a Gateway,
    client: Client,
    model: &'static str,
    provider: &'static str,
}

impl Ctx<'_> {
    fn ask(&self) -> Ask {
        Ask {
            model: self.model.into(),
            ..Ask::default()
        }
    }

    async fn raw(&self, ask: &Ask) -> (u16, http::HeaderMap, String) {
        let res = client()
            .post(self.gw.at(self.client.path()))
            .header("anthropic-version", "2023-06-01")
            .json(&body(self.client, ask))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.text().await.unwrap())
    }

    async fn run(&self, ask: &Ask) -> Result<Outcome, String> {
        let (status, _, text) = self.raw(ask).await;
        if status != 200 {
            return Err(format!(
                "HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
        if ask.stream {
            read_stream(self.client, &text)
        } else {
            let v: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
            Ok(read(self.client, &v))
        }
    }
}

async fn text(c: &Ctx<'_>, stream: bool) -> Res {
    let mut ask = c.ask();
    ask.turns = vec![Turn::User("hello matrix world".into())];
    ask.stream = stream;
    let o = c.run(&ask).await?;
    check(o.text == "echo: hello matrix world", || {
        format!("text {:?}", o.text)
    })?;
    check(o.finish == "stop", || format!("finish {:?}", o.finish))?;
    check(o.input_tokens == 3 && o.output_tokens == 4, || {
        format!("usage {}/{}", o.input_tokens, o.output_tokens)
    })
}

async fn tools(c: &Ctx<'_>) -> Res {
    let mut ask = c.ask();
    ask.tools = true;
    ask.turns = vec![Turn::User("what is the weather in Paris".into())];
    let o = c.run(&ask).await?;
    check(o.finish == "tool_calls", || {
        format!("finish {:?}", o.finish)
    })?;
    check(o.calls.len() == 1 && o.calls[0].1 == "get_weather", || {
        format!("calls {:?}", o.calls)
    })?;
    check(
        o.calls[0].2 == json!({"city": "Paris", "unit": "celsius"}),
        || format!("arguments {}", o.calls[0].2),
    )?;
    // Second turn, streamed: the assistant turn as received, then the result.
    ask.turns.push(Turn::Replay(o.replay.clone()));
    ask.turns
        .push(Turn::Results(vec![(o.calls[0].0.clone(), "18C".into())]));
    ask.stream = true;
    let o = c.run(&ask).await?;
    check(o.text == "tool said: 18C", || {
        format!("after the result: {:?}", o.text)
    })?;
    check(o.finish == "stop", || format!("finish {:?}", o.finish))
}

async fn parallel(c: &Ctx<'_>) -> Res {
    let mut ask = c.ask();
    ask.tools = true;
    ask.stream = true;
    ask.turns = vec![Turn::User("weather in Paris and Rome, parallel".into())];
    let o = c.run(&ask).await?;
    let cities: Vec<&str> = o
        .calls
        .iter()
        .map(|c| c.2["city"].as_str().unwrap_or_default())
        .collect();
    check(cities == ["Paris", "Rome"], || {
        format!("calls {:?}", o.calls)
    })?;
    check(o.calls[0].0 != o.calls[1].0, || "call ids collide".into())?;
    check(o.finish == "tool_calls", || {
        format!("finish {:?}", o.finish)
    })
}

async fn images(c: &Ctx<'_>) -> Res {
    let mut ask = c.ask();
    ask.turns = vec![Turn::UserImage("describe this".into())];
    let o = c.run(&ask).await?;
    check(o.text == "echo: describe this [images: 1]", || {
        format!("text {:?}", o.text)
    })
}

async fn thinking(c: &Ctx<'_>) -> Res {
    let mut ask = c.ask();
    ask.tools = true;
    ask.thinking = true;
    ask.stream = true;
    ask.turns = vec![Turn::User("weather in Paris".into())];
    let o = c.run(&ask).await?;
    check(o.thinking == "thinking about: weather in Paris", || {
        format!("thinking {:?}", o.thinking)
    })?;
    let signs = matches!(c.provider, "Anthropic" | "Gemini" | "Responses");
    check(o.signed == signs, || {
        format!("signed: {} (expected {signs})", o.signed)
    })?;
    check(o.calls.len() == 1, || format!("calls {:?}", o.calls))?;
    // The thinking (with its signature) goes back with the tool result; the upstream verifies it.
    ask.turns.push(Turn::Replay(o.replay.clone()));
    ask.turns
        .push(Turn::Results(vec![(o.calls[0].0.clone(), "18C".into())]));
    ask.stream = false;
    let o = c.run(&ask).await?;
    check(o.text == "tool said: 18C", || {
        format!("after the result: {:?}", o.text)
    })
}

async fn cache(c: &Ctx<'_>) -> Result<Cell, String> {
    let expressible = c.client != Client::Responses
        && (c.provider == "Anthropic" || (c.provider == "OpenAI" && c.client == Client::OpenAi));
    if !expressible {
        return Ok(Cell::NotApplicable(if c.client == Client::Responses {
            "the Responses API has no cache markers"
        } else {
            "the provider format has no cache markers (dropped, logged)"
        }));
    }
    let mut ask = c.ask();
    ask.system = Some(("You are a cached system prompt".into(), true));
    ask.turns = vec![Turn::User("hello matrix world".into())];
    let o = c.run(&ask).await?;
    let write = if c.provider == "Anthropic" { 3 } else { 0 };
    check(o.cache_read == 7 && o.cache_write == write, || {
        format!("cache read/write {}/{}", o.cache_read, o.cache_write)
    })?;
    Ok(Cell::Pass)
}

async fn json_mode(c: &Ctx<'_>) -> Res {
    let mut ask = c.ask();
    ask.json = true;
    ask.turns = vec![Turn::User("hello matrix world".into())];
    let o = c.run(&ask).await?;
    let v: Value =
        serde_json::from_str(&o.text).map_err(|e| format!("not JSON: {:?} ({e})", o.text))?;
    check(v == json!({"echo": "hello matrix world"}), || {
        format!("answer {v}")
    })
}

async fn length(c: &Ctx<'_>) -> Res {
    let mut ask = c.ask();
    ask.max_tokens = Some(2);
    ask.turns = vec![Turn::User("one two three four".into())];
    let o = c.run(&ask).await?;
    check(o.text == "echo: one", || format!("text {:?}", o.text))?;
    check(o.finish == "length", || format!("finish {:?}", o.finish))
}

async fn errors(c: &Ctx<'_>) -> Res {
    let mut ask = c.ask();
    ask.turns = vec![Turn::User("[fake-error:429]".into())];
    let (status, headers, text) = c.raw(&ask).await;
    check(status == 429, || format!("status {status}"))?;
    check(headers.get("retry-after").is_some_and(|v| v == "7"), || {
        "Retry-After lost".into()
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("error body not JSON: {e}"))?;
    match c.client {
        Client::Anthropic => check(
            v["type"] == "error" && v["error"]["type"] == "rate_limit_error",
            || format!("body {v}"),
        ),
        _ => check(
            v["error"]["type"] == "rate_limit_exceeded" && v["error"]["message"].is_string(),
            || format!("body {v}"),
        ),
    }
}

async fn cell(c: &Ctx<'_>, scenario: &str) -> Cell {
    let r = match scenario {
        "text" => text(c, false).await,
        "stream" => text(c, true).await,
        "tools" => tools(c).await,
        "parallel tools" => parallel(c).await,
        "images" => images(c).await,
        "thinking" => thinking(c).await,
        "cache markers" => return cache(c).await.unwrap_or_else(Cell::Fail),
        "json mode" => json_mode(c).await,
        "finish: length" => length(c).await,
        "usage" => text(c, true).await,
        _ => errors(c).await,
    };
    match r {
        Ok(()) => Cell::Pass,
        Err(e) => Cell::Fail(e),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_matrix() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&common::every_format(&up.base_url()));
    let mut table = String::from("| Client | Provider format |");
    for s in SCENARIOS {
        write!(table, " {s} |").unwrap();
    }
    table.push_str("\n|---|---|");
    table.push_str(&"---|".repeat(SCENARIOS.len()));
    table.push('\n');
    let (mut failures, mut notes) = (Vec::new(), Vec::<&str>::new());
    let mut passed = 0;
    for client in Client::ALL {
        for (provider, model) in PROVIDERS {
            let c = Ctx {
                gw: &gw,
                client,
                model,
                provider,
            };
            write!(table, "| {} | {provider} |", client.name()).unwrap();
            for s in SCENARIOS {
                let mark = match cell(&c, s).await {
                    Cell::Pass => {
                        passed += 1;
                        "✅".to_owned()
                    }
                    Cell::Fail(e) => {
                        failures.push(format!("{} × {provider} × {s}: {e}", client.name()));
                        "❌".to_owned()
                    }
                    Cell::NotApplicable(why) => {
                        let n = notes.iter().position(|w| *w == why).unwrap_or_else(|| {
                            notes.push(why);
                            notes.len() - 1
                        });
                        format!("n/a[^{}]", n + 1)
                    }
                };
                write!(table, " {mark} |").unwrap();
            }
            table.push('\n');
        }
    }
    table.push('\n');
    for (i, n) in notes.iter().enumerate() {
        writeln!(table, "[^{}]: {n}", i + 1).unwrap();
    }
    let doc = format!(
        "# Conformance matrix\n\nGenerated by `tests/matrix.rs`: each cell is a real request through the gateway binary to a fake upstream that validates like the provider's API. {passed} cells pass.\n\n{table}"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/conformance.md");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &doc).unwrap();
    println!("{doc}");
    assert!(
        failures.is_empty(),
        "{} failing cells:\n{}\n\ngateway log:\n{}",
        failures.len(),
        failures.join("\n"),
        gw.logs()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        passed + 12,
        Client::ALL.len() * PROVIDERS.len() * SCENARIOS.len(),
        "unexpected n/a cells:\n{table}"
    );
}
