//! What `switchyard top` shows, and how keys and gateway messages change it.
//! No I/O here: the loop in `mod.rs` feeds [`Msg`]s in and carries out the
//! [`Action`]s that come back.

use std::collections::{BTreeMap, VecDeque};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde_json::Value;

use super::detail::Detail;
use crate::tui::event::Finished;

/// Requests kept in the feed.
const FEED_CAP: usize = 1000;
/// Latencies kept per group for the median.
const LATENCY_CAP: usize = 1024;

/// The panes Tab cycles through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    /// The live request feed.
    Feed,
    /// Stats by provider and tag, and health.
    Stats,
    /// The chat box.
    Chat,
}

/// The state of the feed connection, for the status bar.
#[derive(Clone, Debug, PartialEq)]
pub enum Conn {
    /// Connecting for the first time.
    Connecting,
    /// Receiving events.
    Connected,
    /// Lost or refused; the next try is in `retry_in_secs`.
    Retrying {
        /// Why.
        error: String,
        /// Seconds until the next try.
        retry_in_secs: f64,
        /// Tries so far.
        attempt: u32,
    },
}

/// What the loop tells the state.
#[derive(Debug)]
pub enum Msg {
    /// The feed connection changed.
    Conn(Conn),
    /// A request finished.
    Finished(Box<Finished>),
    /// The feed missed events (the reader fell behind).
    Lagged(u64),
    /// `/health`, or why it failed.
    Health(Result<Value, String>),
    /// The model `--model` named.
    Model(Result<String, String>),
    /// The models of `/v1/models`, or why there are none.
    Models(Result<Vec<String>, String>),
    /// A piece of the chat answer.
    ChatDelta(String),
    /// The chat answer ended, with where it was routed.
    ChatDone(Option<String>),
    /// The chat request failed.
    ChatFailed(String),
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal changed size.
    Resized,
    /// Stop (a signal asked for it).
    Quit,
    /// A request's record (`/admin/records/{id}`), or why there is none.
    Record(String, Result<Value, String>),
}

/// What the state asks the loop to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this prompt to this model.
    Send {
        /// The model.
        model: String,
        /// The prompt.
        prompt: String,
    },
    /// Fetch this request's record.
    Open(String),
}

/// Running figures of one provider or tag.
#[derive(Clone, Debug, Default)]
pub struct Agg {
    /// Requests seen.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Input and output tokens.
    pub tokens: u64,
    /// Cost in USD.
    pub cost: f64,
    latencies: VecDeque<f64>,
}

impl Agg {
    fn add(&mut self, f: &Finished) {
        self.requests += 1;
        self.errors += u64::from(f.is_error());
        let (i, o) = f.tokens();
        self.tokens += i + o;
        self.cost += f.cost_usd.unwrap_or(0.0);
        if self.latencies.len() == LATENCY_CAP {
            self.latencies.pop_front();
        }
        self.latencies.push_back(f.duration_ms);
    }

    /// The median latency of the last requests, in ms.
    pub fn p50(&self) -> Option<f64> {
        let mut v: Vec<f64> = self.latencies.iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(v[(v.len() - 1) / 2])
    }
}

/// The chat box.
#[derive(Clone, Debug, Default)]
pub struct Chat {
    /// The model prompts go to (`--model`, else the first of `/v1/models`).
    pub model: Option<String>,
    /// Why there is no model, if so.
    pub model_error: Option<String>,
    /// The models ↑ and ↓ choose from (`/v1/models`).
    pub models: Vec<String>,
    /// The prompt being typed.
    pub input: String,
    /// The last prompt sent.
    pub prompt: String,
    /// Its answer so far.
    pub answer: String,
    /// Whether the answer is still streaming.
    pub sending: bool,
    /// Where the answer came from, or why it failed.
    pub status: Option<String>,
}

impl Chat {
    /// The model `step` places after (or before) the current one in the list.
    fn pick(&mut self, step: isize) {
        let n = self.models.len();
        if n == 0 {
            return;
        }
        let at = self
            .model
            .as_ref()
            .and_then(|m| self.models.iter().position(|x| x == m));
        let next = match at {
            Some(i) => (i as isize + step).rem_euclid(n as isize) as usize,
            None => 0,
        };
        self.model = Some(self.models[next].clone());
        self.model_error = None;
    }
}

/// Everything `switchyard top` shows.
#[derive(Debug)]
pub struct App {
    /// The gateway's URL.
    pub url: String,
    /// The feed connection.
    pub conn: Conn,
    /// Finished requests, newest first.
    pub feed: VecDeque<Finished>,
    /// All requests seen since start.
    pub total: Agg,
    /// By provider.
    pub by_provider: BTreeMap<String, Agg>,
    /// By tag (`-` for untagged requests).
    pub by_tag: BTreeMap<String, Agg>,
    /// The last `/health` answer.
    pub health: Option<Value>,
    /// Why the last `/health` failed.
    pub health_error: Option<String>,
    /// Events the feed missed.
    pub lagged: u64,
    /// The focused pane.
    pub focus: Pane,
    /// The feed filter (lower case).
    pub filter: String,
    /// Whether `/` is being typed into.
    pub editing_filter: bool,
    /// Rows of the (filtered) feed scrolled past, from the newest; 0 follows
    /// new requests.
    pub scroll: usize,
    /// The chat box.
    pub chat: Chat,
    /// The request opened with Enter, shown over the rest.
    pub detail: Option<Detail>,
    /// Set when the user asked to quit.
    pub quit: bool,
}

impl App {
    /// A fresh view of the gateway at `url`.
    pub fn new(url: &str) -> App {
        App {
            url: url.to_owned(),
            conn: Conn::Connecting,
            feed: VecDeque::new(),
            total: Agg::default(),
            by_provider: BTreeMap::new(),
            by_tag: BTreeMap::new(),
            health: None,
            health_error: None,
            lagged: 0,
            focus: Pane::Feed,
            filter: String::new(),
            editing_filter: false,
            scroll: 0,
            chat: Chat::default(),
            detail: None,
            quit: false,
        }
    }

    /// Applies one message; returns what the loop must do.
    pub fn apply(&mut self, msg: Msg) -> Option<Action> {
        match msg {
            Msg::Conn(c) => self.conn = c,
            Msg::Finished(f) => self.record(*f),
            Msg::Lagged(n) => self.lagged += n,
            Msg::Health(Ok(v)) => {
                self.health = Some(v);
                self.health_error = None;
            }
            Msg::Health(Err(e)) => {
                self.health = None;
                self.health_error = Some(e);
            }
            Msg::Model(Ok(m)) => {
                self.chat.model = Some(m);
                self.chat.model_error = None;
            }
            Msg::Model(Err(e)) => self.chat.model_error = Some(e),
            Msg::Models(Ok(list)) => {
                if self.chat.model.is_none() {
                    self.chat.model = list.first().cloned();
                }
                if self.chat.model.is_none() {
                    self.chat.model_error =
                        Some("the gateway lists no models (pass --model)".into());
                }
                self.chat.models = list;
            }
            Msg::Models(Err(e)) => {
                if self.chat.model.is_none() {
                    self.chat.model_error = Some(e);
                }
            }
            Msg::ChatDelta(d) => self.chat.answer.push_str(&d),
            Msg::ChatDone(routed) => {
                self.chat.sending = false;
                self.chat.status = Some(match routed {
                    Some(r) => format!("answered by {r}"),
                    None => "done".into(),
                });
            }
            Msg::ChatFailed(e) => {
                self.chat.sending = false;
                self.chat.status = Some(format!("failed: {e}"));
            }
            Msg::Key(k) => return self.key(k),
            Msg::Resized => {}
            Msg::Quit => self.quit = true,
            Msg::Record(id, r) => {
                if let Some(d) = self.detail.as_mut().filter(|d| d.id == id) {
                    d.record = Some(r);
                }
            }
        }
        None
    }

    fn record(&mut self, f: Finished) {
        self.total.add(&f);
        let provider = f.provider.clone().unwrap_or_else(|| "-".into());
        self.by_provider.entry(provider).or_default().add(&f);
        if f.tags.is_empty() {
            self.by_tag.entry("-".into()).or_default().add(&f);
        }
        for t in &f.tags {
            self.by_tag.entry(t.clone()).or_default().add(&f);
        }
        if self.feed.len() == FEED_CAP {
            self.feed.pop_back();
        }
        // Scrolled back, the rows in view stay in view.
        if self.scroll > 0 && f.matches(&self.filter) {
            self.scroll += 1;
        }
        self.feed.push_front(f);
    }

    fn scroll_by(&mut self, rows: isize) {
        let max = self.visible().count().saturating_sub(1);
        self.scroll = self.scroll.saturating_add_signed(rows).min(max);
    }

    /// The feed rows the filter lets through, newest first.
    pub fn visible(&self) -> impl Iterator<Item = &Finished> {
        self.feed.iter().filter(|f| f.matches(&self.filter))
    }

    fn key(&mut self, k: KeyEvent) -> Option<Action> {
        if k.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(k.code, KeyCode::Char('c') | KeyCode::Char('d')) {
            self.quit = true;
            return None;
        }
        if let Some(d) = &mut self.detail {
            match k.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => self.detail = None,
                KeyCode::Down => d.scroll = d.scroll.saturating_add(1),
                KeyCode::Up => d.scroll = d.scroll.saturating_sub(1),
                KeyCode::PageDown => d.scroll = d.scroll.saturating_add(10),
                KeyCode::PageUp => d.scroll = d.scroll.saturating_sub(10),
                _ => {}
            }
            return None;
        }
        if self.editing_filter {
            match k.code {
                KeyCode::Enter => self.editing_filter = false,
                KeyCode::Esc => {
                    self.editing_filter = false;
                    self.filter.clear();
                    self.scroll = 0;
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !ctrl => self.filter.extend(c.to_lowercase()),
                _ => {}
            }
            return None;
        }
        match (self.focus, k.code) {
            (_, KeyCode::Tab) => self.focus = next(self.focus),
            (_, KeyCode::BackTab) => self.focus = next(next(self.focus)),
            (Pane::Chat, KeyCode::Esc) => self.focus = Pane::Feed,
            (Pane::Chat, KeyCode::Enter) => return self.send(),
            (Pane::Chat, KeyCode::Backspace) => {
                self.chat.input.pop();
            }
            (Pane::Chat, KeyCode::Char(c)) if !ctrl => self.chat.input.push(c),
            (Pane::Chat, KeyCode::Down) => self.chat.pick(1),
            (Pane::Chat, KeyCode::Up) => self.chat.pick(-1),
            (_, KeyCode::Char('q')) => self.quit = true,
            (_, KeyCode::Esc) => {
                self.filter.clear();
                self.scroll = 0;
            }
            (_, KeyCode::Char('/')) => {
                self.focus = Pane::Feed;
                self.editing_filter = true;
                self.filter.clear();
                self.scroll = 0;
            }
            (Pane::Feed, KeyCode::Down) => self.scroll_by(1),
            (Pane::Feed, KeyCode::Up) => self.scroll_by(-1),
            (Pane::Feed, KeyCode::PageDown) => self.scroll_by(20),
            (Pane::Feed, KeyCode::PageUp) => self.scroll_by(-20),
            (Pane::Feed, KeyCode::Home) => self.scroll = 0,
            (Pane::Feed, KeyCode::Enter) => {
                let id = self.visible().nth(self.scroll)?.id.clone();
                self.detail = Some(Detail::loading(id.clone()));
                return Some(Action::Open(id));
            }
            (_, KeyCode::Char('c')) => self.focus = Pane::Chat,
            _ => {}
        }
        None
    }

    fn send(&mut self) -> Option<Action> {
        let prompt = self.chat.input.trim().to_owned();
        if prompt.is_empty() || self.chat.sending {
            return None;
        }
        let Some(model) = self.chat.model.clone() else {
            self.chat.status = Some("no model to send to (pass --model)".into());
            return None;
        };
        self.chat.input.clear();
        self.chat.prompt = prompt.clone();
        self.chat.answer.clear();
        self.chat.sending = true;
        self.chat.status = Some(format!("sending to {model} ..."));
        Some(Action::Send { model, prompt })
    }
}

fn next(p: Pane) -> Pane {
    match p {
        Pane::Feed => Pane::Stats,
        Pane::Stats => Pane::Chat,
        Pane::Chat => Pane::Feed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            assert_eq!(app.apply(key(KeyCode::Char(c))), None);
        }
    }

    fn finished(provider: &str, tags: &[&str], status: u16, ms: f64) -> Msg {
        Msg::Finished(Box::new(Finished {
            id: format!("req_{ms}"),
            provider: Some(provider.into()),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            status,
            outcome: "completed".into(),
            duration_ms: ms,
            cost_usd: Some(0.5),
            ..Finished::default()
        }))
    }

    #[test]
    fn stats_by_provider_and_tag() {
        let mut app = App::new("http://x");
        app.apply(finished("a", &["code"], 200, 10.0));
        app.apply(finished("a", &[], 500, 30.0));
        app.apply(finished("b", &["code", "long"], 200, 20.0));
        let a = &app.by_provider["a"];
        assert_eq!((a.requests, a.errors, a.p50()), (2, 1, Some(10.0)));
        assert_eq!(app.by_tag["code"].requests, 2);
        assert_eq!(app.by_tag["-"].errors, 1);
        assert_eq!(app.total.p50(), Some(20.0));
        assert!((app.total.cost - 1.5).abs() < 1e-9);
        assert_eq!(app.feed[0].provider.as_deref(), Some("b"), "newest first");
    }

    #[test]
    fn the_feed_scrolls_back_and_keeps_its_rows_in_view() {
        let mut app = App::new("http://x");
        for ms in 1..=5 {
            app.apply(finished("a", &[], 200, f64::from(ms)));
        }
        app.apply(key(KeyCode::Down));
        app.apply(key(KeyCode::Down));
        assert_eq!(app.scroll, 2);
        let top = |app: &App| app.visible().nth(app.scroll).map(|f| f.duration_ms);
        assert_eq!(top(&app), Some(3.0));
        app.apply(finished("a", &[], 200, 6.0));
        assert_eq!(top(&app), Some(3.0), "a new request does not move the view");
        app.apply(key(KeyCode::PageDown));
        assert_eq!(top(&app), Some(1.0), "stops at the oldest");
        app.apply(key(KeyCode::Up));
        assert_eq!(top(&app), Some(2.0));
        app.apply(key(KeyCode::Home));
        assert_eq!((app.scroll, top(&app)), (0, Some(6.0)));
        app.apply(key(KeyCode::PageUp));
        assert_eq!(app.scroll, 0);
    }

    #[test]
    fn enter_opens_the_selected_request_and_esc_closes_it() {
        let mut app = App::new("http://x");
        assert_eq!(app.apply(key(KeyCode::Enter)), None, "nothing to open");
        app.apply(finished("a", &[], 200, 1.0));
        app.apply(finished("a", &[], 200, 2.0));
        app.apply(key(KeyCode::Down));
        assert_eq!(
            app.apply(key(KeyCode::Enter)),
            Some(Action::Open("req_1".into()))
        );
        app.apply(Msg::Record("req_2".into(), Ok(Value::Null)));
        assert_eq!(
            app.detail.as_ref().unwrap().record,
            None,
            "not the one open"
        );
        app.apply(Msg::Record("req_1".into(), Err("gone".into())));
        assert_eq!(
            app.detail.as_ref().unwrap().record,
            Some(Err("gone".into()))
        );
        app.apply(key(KeyCode::Char('q')));
        assert!(
            app.detail.is_none() && !app.quit,
            "q closes the detail first"
        );
    }

    #[test]
    fn the_chat_model_is_picked_from_the_list() {
        let mut app = App::new("http://x");
        app.apply(Msg::Models(Err("down".into())));
        assert_eq!(app.chat.model_error.as_deref(), Some("down"));
        app.apply(Msg::Models(Ok(vec![])));
        assert!(app.chat.model_error.unwrap().contains("--model"));
        let mut app = App::new("http://x");
        app.apply(Msg::Models(Ok(vec!["a".into(), "b".into(), "c".into()])));
        assert_eq!(app.chat.model.as_deref(), Some("a"), "the first by default");
        app.focus = Pane::Chat;
        app.apply(key(KeyCode::Up));
        assert_eq!(app.chat.model.as_deref(), Some("c"), "wraps around");
        app.apply(key(KeyCode::Down));
        app.apply(key(KeyCode::Down));
        assert_eq!(app.chat.model.as_deref(), Some("b"));
        // --model wins over the list, and stays until changed.
        let mut app = App::new("http://x");
        app.apply(Msg::Model(Ok("flag".into())));
        app.apply(Msg::Models(Ok(vec!["a".into(), "b".into()])));
        assert_eq!(app.chat.model.as_deref(), Some("flag"));
        app.apply(Msg::Models(Err("later failure".into())));
        assert_eq!(app.chat.model_error, None);
        app.focus = Pane::Chat;
        app.apply(key(KeyCode::Down));
        assert_eq!(app.chat.model.as_deref(), Some("a"));
    }

    #[test]
    fn keys_filter_switch_panes_send_and_quit() {
        let mut app = App::new("http://x");
        app.apply(finished("alpha", &[], 200, 1.0));
        app.apply(finished("beta", &[], 200, 2.0));
        app.apply(key(KeyCode::Char('/')));
        typed(&mut app, "ALP");
        app.apply(key(KeyCode::Enter));
        assert_eq!(app.filter, "alp");
        assert_eq!(app.visible().count(), 1);
        app.apply(key(KeyCode::Tab));
        assert_eq!(app.focus, Pane::Stats);
        app.apply(key(KeyCode::Tab));
        assert_eq!(app.focus, Pane::Chat);
        typed(&mut app, "quiet");
        assert!(!app.quit, "q types in the chat box");
        assert_eq!(app.apply(key(KeyCode::Enter)), None, "no model yet");
        app.apply(Msg::Model(Ok("m1".into())));
        assert_eq!(
            app.apply(key(KeyCode::Enter)),
            Some(Action::Send {
                model: "m1".into(),
                prompt: "quiet".into()
            })
        );
        assert_eq!(app.apply(key(KeyCode::Enter)), None, "empty prompt");
        app.apply(Msg::ChatDelta("hel".into()));
        app.apply(Msg::ChatDelta("lo".into()));
        app.apply(Msg::ChatDone(Some("p/m".into())));
        assert_eq!(app.chat.answer, "hello");
        assert!(!app.chat.sending);
        app.apply(key(KeyCode::Tab));
        app.apply(key(KeyCode::Char('q')));
        assert!(app.quit);
        let mut app = App::new("http://x");
        app.apply(key(KeyCode::Tab));
        app.apply(key(KeyCode::Tab));
        app.apply(Msg::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        )));
        assert!(app.quit, "Ctrl-C quits from any pane");
    }
}
