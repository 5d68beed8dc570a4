//! Drawing `switchyard top`: status bar, feed, stats, health, chat, help.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};
use serde_json::Value;

use super::detail;
use super::state::{Agg, App, Conn, Pane};
use crate::tui::event::{Finished, cost, millis};

const DIM: Style = Style::new().fg(Color::DarkGray);
const HEAD: Style = Style::new().add_modifier(Modifier::BOLD);

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App) {
    let [status, main, chat, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(8),
        Constraint::Length(9),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let [feed, side] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(main);
    let [providers, tags, health] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Percentage(35),
        Constraint::Percentage(25),
    ])
    .areas(side);
    f.render_widget(status_bar(app), status);
    draw_feed(f, app, feed);
    f.render_widget(
        stats("Providers", "provider", &app.by_provider, app),
        providers,
    );
    f.render_widget(stats("Tags", "tag", &app.by_tag, app), tags);
    f.render_widget(health_list(app), health);
    draw_chat(f, app, chat);
    f.render_widget(help_line(app), help);
    if let Some(d) = &app.detail {
        detail::draw(f, d, main);
    }
}

fn pane(title: String, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new()
    };
    Block::bordered().title(title).border_style(style)
}

fn status_bar(app: &App) -> Paragraph<'static> {
    let (text, color) = match &app.conn {
        Conn::Connecting => ("connecting ...".to_owned(), Color::Yellow),
        Conn::Connected => ("connected".to_owned(), Color::Green),
        Conn::Retrying {
            error,
            retry_in_secs,
            attempt,
        } => (
            format!(
                "disconnected — reconnecting in {retry_in_secs:.1}s (attempt {attempt}): {error}"
            ),
            Color::Red,
        ),
    };
    let mut spans = vec![
        Span::styled(" switchyard top ", HEAD.fg(Color::Black).bg(Color::Cyan)),
        Span::raw(format!(" {}  ", app.url)),
        Span::styled(text, Style::new().fg(color).add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            "  │ {} requests, {} errors, {} since start",
            app.total.requests,
            app.total.errors,
            cost(Some(app.total.cost))
        )),
    ];
    if app.lagged > 0 {
        spans.push(Span::styled(
            format!("  │ {} events missed", app.lagged),
            Style::new().fg(Color::Yellow),
        ));
    }
    Paragraph::new(Line::from(spans))
}

fn draw_feed(f: &mut Frame, app: &App, area: Rect) {
    let mut title = format!(" Requests ({}) ", app.feed.len());
    if app.scroll > 0 {
        title = format!(
            " Requests ({}) — {} newer above, Home: back to the newest ",
            app.feed.len(),
            app.scroll
        );
    }
    if app.editing_filter || !app.filter.is_empty() {
        title = format!(
            " Requests — filter: {}{} ",
            app.filter,
            if app.editing_filter { "▏" } else { "" }
        );
    }
    let header = Row::new([
        "Time",
        "Model",
        "Provider/model",
        "Status",
        "Latency",
        "Tokens",
        "Cost",
        "Tags",
    ])
    .style(HEAD);
    let rows = app
        .visible()
        .skip(app.scroll)
        .take(area.height.saturating_sub(3) as usize)
        .enumerate()
        .map(|(i, r)| {
            let row = feed_row(r);
            // The row Enter opens.
            if i == 0 && app.focus == Pane::Feed {
                row.style(Style::new().add_modifier(Modifier::REVERSED))
            } else {
                row
            }
        });
    let widths = [
        Constraint::Length(8),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(11),
        Constraint::Length(10),
        Constraint::Fill(2),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .block(pane(title, app.focus == Pane::Feed));
    f.render_widget(table, area);
}

fn feed_row(r: &Finished) -> Row<'static> {
    let (i, o) = r.tokens();
    let status = Cell::from(r.status.to_string()).style(if r.is_error() {
        Style::new().fg(Color::Red)
    } else {
        Style::new().fg(Color::Green)
    });
    Row::new(vec![
        Cell::from(r.clock().to_owned()),
        Cell::from(r.requested_model.clone().unwrap_or_else(|| "-".into())),
        Cell::from(r.target()),
        status,
        Cell::from(millis(r.duration_ms)),
        Cell::from(format!("{i}+{o}")),
        Cell::from(cost(r.cost_usd)),
        Cell::from(r.tag_list()),
    ])
}

fn stats(
    title: &str,
    what: &'static str,
    groups: &BTreeMap<String, Agg>,
    app: &App,
) -> Table<'static> {
    let header = Row::new([what, "req", "err", "p50", "tokens", "cost"]).style(HEAD);
    let rows = groups.iter().map(|(name, a)| {
        Row::new(vec![
            Cell::from(name.clone()),
            Cell::from(a.requests.to_string()),
            Cell::from(a.errors.to_string()).style(if a.errors > 0 {
                Style::new().fg(Color::Red)
            } else {
                Style::new()
            }),
            Cell::from(a.p50().map_or_else(|| "-".into(), millis)),
            Cell::from(a.tokens.to_string()),
            Cell::from(cost(Some(a.cost))),
        ])
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(10),
    ];
    Table::new(rows, widths)
        .header(header)
        .block(pane(format!(" {title} "), app.focus == Pane::Stats))
}

fn health_list(app: &App) -> Paragraph<'static> {
    let mut lines = Vec::new();
    if let Some(e) = &app.health_error {
        lines.push(Line::styled(
            format!("/health: {e}"),
            Style::new().fg(Color::Red),
        ));
    }
    if let Some(h) = &app.health {
        lines.extend(health_lines(h));
    } else if app.health_error.is_none() {
        lines.push(Line::styled("waiting for /health ...", DIM));
    }
    let title = match &app.health {
        Some(h) => format!(
            " Health — switchyard {}, up {} ",
            h["version"].as_str().unwrap_or("?"),
            uptime(h["uptime_secs"].as_u64().unwrap_or(0))
        ),
        None => " Health ".into(),
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(pane(title, app.focus == Pane::Stats))
}

/// `42s`, `5m07s`, `3h05m`, `2d04h`.
fn uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn health_lines(h: &Value) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let empty = Vec::new();
    let circuits = h["circuits"].as_array().unwrap_or(&empty);
    for p in h["providers"].as_array().unwrap_or(&empty) {
        let id = p["id"].as_str().unwrap_or("?").to_owned();
        let healthy = p["healthy"].as_bool().unwrap_or(true);
        let open: Vec<String> = circuits
            .iter()
            .filter(|c| {
                c["provider"].as_str() == Some(&id) && c["state"].as_str() != Some("closed")
            })
            .map(|c| {
                format!(
                    "{} {}",
                    c["model"].as_str().unwrap_or("?"),
                    c["state"].as_str().unwrap_or("?")
                )
            })
            .collect();
        let (mark, color) = match (healthy, open.is_empty()) {
            (true, true) => ("● up", Color::Green),
            (true, false) => ("◐ degraded", Color::Yellow),
            (false, _) => ("○ down", Color::Red),
        };
        let mut spans = vec![
            Span::styled(format!("{mark:<11}"), Style::new().fg(color)),
            Span::raw(format!("{id} ({})", p["kind"].as_str().unwrap_or("?"))),
        ];
        if !open.is_empty() {
            spans.push(Span::styled(
                format!("  circuits: {}", open.join(", ")),
                DIM,
            ));
        }
        lines.push(Line::from(spans));
    }
    if lines.is_empty() {
        lines.push(Line::styled("no providers configured", DIM));
    }
    lines
}

fn draw_chat(f: &mut Frame, app: &App, area: Rect) {
    let chat = &app.chat;
    let model = match (&chat.model, &chat.model_error) {
        (Some(m), _) => m.clone(),
        (None, Some(e)) => format!("no model: {e}"),
        (None, None) => "looking up /v1/models ...".into(),
    };
    let title = if chat.models.len() > 1 && app.focus == Pane::Chat {
        format!(" Chat → {model} (↑ ↓ other models: {}) ", chat.models.len())
    } else {
        format!(" Chat → {model} ")
    };
    let block = pane(title, app.focus == Pane::Chat);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [answer_area, input_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let mut lines = Vec::new();
    if !chat.prompt.is_empty() {
        lines.push(Line::styled(format!("> {}", chat.prompt), HEAD));
    }
    lines.extend(chat.answer.lines().map(|l| Line::raw(l.to_owned())));
    if let Some(s) = &chat.status {
        let color = if s.starts_with("failed") {
            Color::Red
        } else {
            Color::DarkGray
        };
        lines.push(Line::styled(format!("[{s}]"), Style::new().fg(color)));
    }
    let width = usize::from(answer_area.width.max(1));
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(width)).sum();
    let scroll = rows.saturating_sub(usize::from(answer_area.height));
    let answer = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0));
    f.render_widget(answer, answer_area);
    const PROMPT: &str = "prompt> ";
    let room = usize::from(input_area.width).saturating_sub(PROMPT.len() + 1);
    let shown = tail(&chat.input, room);
    let prompt = if app.focus == Pane::Chat || !chat.input.is_empty() {
        Line::from(vec![
            Span::styled(PROMPT, HEAD),
            Span::raw(shown.to_owned()),
        ])
    } else {
        Line::styled("prompt> (Tab to the chat box, type, Enter to send)", DIM)
    };
    f.render_widget(Paragraph::new(prompt), input_area);
    if app.focus == Pane::Chat {
        let width = PROMPT.len() + Span::raw(shown).width();
        let x = input_area.x + u16::try_from(width).unwrap_or(u16::MAX);
        f.set_cursor_position((x.min(input_area.right().saturating_sub(1)), input_area.y));
    }
}

/// The end of `text` that fits in `width` columns.
fn tail(text: &str, width: usize) -> &str {
    let mut used = 0;
    for (i, c) in text.char_indices().rev() {
        used += Span::raw(c.to_string()).width();
        if used > width {
            return &text[i + c.len_utf8()..];
        }
    }
    text
}

fn help_line(app: &App) -> Paragraph<'static> {
    let text = if app.detail.is_some() {
        "↑ ↓ PgUp PgDn scroll · Esc close"
    } else if app.editing_filter {
        "type to filter · Enter keep · Esc clear"
    } else if app.focus == Pane::Chat {
        "type a prompt · Enter send · ↑ ↓ model · Tab next pane · Esc leave · Ctrl-C quit"
    } else {
        "q quit · Tab next pane · / filter · Esc clear filter · ↑ ↓ PgUp PgDn Home scroll · Enter open · c chat"
    };
    Paragraph::new(Line::styled(format!(" {text}"), DIM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_prompts_show_their_end_and_uptimes_read_well() {
        assert_eq!(tail("hello", 10), "hello");
        assert_eq!(tail("hello world", 5), "world");
        assert_eq!(tail("日本語", 4), "本語", "wide characters count twice");
        assert_eq!(tail("", 0), "");
        assert_eq!(uptime(42), "42s");
        assert_eq!(uptime(307), "5m07s");
        assert_eq!(uptime(11_100), "3h05m");
        assert_eq!(uptime(187_200), "2d04h");
    }
}
