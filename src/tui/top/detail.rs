//! One request in full (`/admin/records/{id}`): where it went, each attempt,
//! what it cost, its prompt and its answer, drawn over the screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use serde_json::Value;

use crate::tui::event::{cost, millis};

const LABEL: Style = Style::new().fg(Color::Cyan);
const HEAD: Style = Style::new().add_modifier(Modifier::BOLD);

/// The request shown, and its record once fetched.
#[derive(Clone, Debug, PartialEq)]
pub struct Detail {
    /// The request id.
    pub id: String,
    /// The record, or why it could not be had; `None` while it is fetched.
    pub record: Option<Result<Value, String>>,
    /// Lines scrolled past.
    pub scroll: u16,
}

impl Detail {
    /// The detail of `id`, being fetched.
    pub fn loading(id: String) -> Detail {
        Detail {
            id,
            record: None,
            scroll: 0,
        }
    }
}

/// Draws the detail over the middle of `area`.
pub fn draw(f: &mut Frame, d: &Detail, area: Rect) {
    let [area] = Layout::horizontal([Constraint::Percentage(90)])
        .flex(Flex::Center)
        .areas(area);
    let [area] = Layout::vertical([Constraint::Percentage(90)])
        .flex(Flex::Center)
        .areas(area);
    let lines = match &d.record {
        None => vec![Line::raw("fetching the record from the journal ...")],
        Some(Err(e)) => vec![Line::styled(e.clone(), Style::new().fg(Color::Red))],
        Some(Ok(r)) => lines(r),
    };
    let block = Block::bordered()
        .title(format!(" Request {} ", d.id))
        .title_bottom(" ↑ ↓ scroll · Esc close ")
        .border_style(Style::new().fg(Color::Cyan));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((d.scroll, 0))
            .block(block),
        area,
    );
}

fn field(label: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<11}"), LABEL),
        Span::raw(value),
    ])
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// The record as lines: summary fields, attempts, then prompt and answer.
pub fn lines(r: &Value) -> Vec<Line<'static>> {
    let list = |v: &Value| match v.as_array() {
        Some(a) if !a.is_empty() => a.iter().map(text).collect::<Vec<_>>().join(", "),
        _ => "-".into(),
    };
    let mut out = vec![
        field(
            "Received",
            format!(
                "{}  {} ({}){}",
                text(&r["time"]),
                text(&r["endpoint"]),
                text(&r["protocol"]),
                if r["stream"] == true {
                    ", streamed"
                } else {
                    ""
                }
            ),
        ),
        field(
            "Model",
            format!(
                "{} → {}/{} (answered as {})",
                text(&r["requested_model"]),
                text(&r["provider"]),
                text(&r["model"]),
                text(&r["response_model"])
            ),
        ),
        field(
            "Status",
            format!(
                "{} {}{}, finish {}",
                text(&r["status"]),
                text(&r["outcome"]),
                r["error_type"]
                    .as_str()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
                text(&r["finish_reason"])
            ),
        ),
        field(
            "Route",
            format!("{}  tags: {}", text(&r["route"]), list(&r["tags"])),
        ),
        field(
            "Who",
            format!(
                "key {}, team {}, project {}, source {}",
                text(&r["key_id"]),
                text(&r["team"]),
                text(&r["project"]),
                text(&r["source"])
            ),
        ),
        field("Candidates", list(&r["candidates"])),
    ];
    for (i, a) in r["attempts"].as_array().into_iter().flatten().enumerate() {
        out.push(field(
            if i == 0 { "Attempts" } else { "" },
            format!(
                "{}. {}/{}  {}  {}{}",
                i + 1,
                text(&a["provider"]),
                text(&a["model"]),
                text(&a["status"]),
                millis(a["duration_ms"].as_f64().unwrap_or(0.0)),
                a["error"]
                    .as_str()
                    .map(|e| format!("  {e}"))
                    .unwrap_or_default()
            ),
        ));
    }
    let u = &r["usage"];
    out.push(field(
        "Usage",
        format!(
            "{}+{} tokens{}, {}, {} in all, first token after {}",
            text(&u["input_tokens"]),
            text(&u["output_tokens"]),
            if u["estimated"] == true {
                " (estimated)"
            } else {
                ""
            },
            cost(r["cost_usd"].as_f64()),
            millis(r["duration_ms"].as_f64().unwrap_or(0.0)),
            r["ttft_ms"].as_f64().map_or_else(|| "-".into(), millis)
        ),
    ));
    let body = r["request_body"].as_str().unwrap_or_default();
    out.push(Line::raw(""));
    out.push(Line::styled("── Prompt (last user message) ──", HEAD));
    let prompt = prompt(body).unwrap_or_else(|| "(none found in the request body)".into());
    out.extend(prompt.lines().map(|l| Line::raw(l.to_owned())));
    out.push(Line::raw(""));
    out.push(Line::styled("── Answer ──", HEAD));
    let answer = r["answer"].as_str().unwrap_or("(no text)");
    out.extend(answer.lines().map(|l| Line::raw(l.to_owned())));
    if r["answer_truncated"] == true {
        out.push(Line::styled(
            "(cut: the journal keeps a capped copy)",
            LABEL,
        ));
    }
    out
}

/// The text of the last user turn of an OpenAI, Anthropic or Responses
/// request body, or a completion's prompt.
pub fn prompt(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    if let Some(messages) = v["messages"].as_array() {
        let last = messages.iter().rev().find(|m| m["role"] == "user")?;
        return content_text(&last["content"]);
    }
    match &v["input"] {
        Value::String(s) => return Some(s.clone()),
        Value::Array(items) => {
            let last = items.iter().rev().find(|m| m["role"] == "user")?;
            return content_text(&last["content"]);
        }
        _ => {}
    }
    v["prompt"].as_str().map(str::to_owned)
}

/// A content string, or the text parts of a content array joined.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_prompt_of_every_request_shape() {
        let openai = json!({"model": "m", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "here"}]}
        ]});
        assert_eq!(prompt(&openai.to_string()).as_deref(), Some("look\nhere"));
        let anthropic = json!({"system": "s", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]});
        assert_eq!(prompt(&anthropic.to_string()).as_deref(), Some("hi"));
        let responses =
            json!({"input": [{"role": "user", "content": [{"type": "input_text", "text": "q"}]}]});
        assert_eq!(prompt(&responses.to_string()).as_deref(), Some("q"));
        assert_eq!(prompt(r#"{"input":"plain"}"#).as_deref(), Some("plain"));
        assert_eq!(prompt(r#"{"prompt":"legacy"}"#).as_deref(), Some("legacy"));
        assert_eq!(
            prompt(r#"{"messages":[{"role":"assistant","content":"x"}]}"#),
            None
        );
        assert_eq!(
            prompt(r#"{"messages": [{"role":"user","con"#),
            None,
            "a cut body"
        );
    }

    #[test]
    fn a_record_becomes_lines() {
        let r = json!({"id": "r1", "time": "t", "endpoint": "chat_completions", "protocol": "openai",
            "stream": true, "requested_model": "smart", "provider": "p", "model": "m", "response_model": null,
            "status": 200, "outcome": "completed", "finish_reason": "stop", "route": "rule:r", "tags": ["code"],
            "candidates": ["p/m", "q/m"], "attempts": [
                {"provider": "q", "model": "m", "status": 500, "error": "boom", "duration_ms": 12.0},
                {"provider": "p", "model": "m", "status": 200, "error": null, "duration_ms": 30.0}],
            "usage": {"input_tokens": 3, "output_tokens": 4, "estimated": false}, "cost_usd": 0.5,
            "duration_ms": 1500.0, "ttft_ms": 40.0,
            "request_body": "{\"messages\":[{\"role\":\"user\",\"content\":\"what is 2+2\"}]}",
            "answer": "four\nsurely"});
        let text: Vec<String> = lines(&r).iter().map(ToString::to_string).collect();
        let all = text.join("\n");
        for want in [
            "smart → p/m (answered as -)",
            "200 completed, finish stop",
            "rule:r  tags: code",
            "p/m, q/m",
            "1. q/m  500  12ms  boom",
            "2. p/m  200  30ms",
            "3+4 tokens, $0.500000, 1.50s in all, first token after 40ms",
            "what is 2+2",
            "four\nsurely",
        ] {
            assert!(all.contains(want), "{want} not in\n{all}");
        }
    }
}
