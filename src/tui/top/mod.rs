//! `switchyard top`: a full-screen view of a running gateway.
//!
//! Tasks feed one channel of messages: the live feed (reconnecting with
//! backoff), `/health` every two seconds, a thread reading the keyboard,
//! and the chat request. The loop applies each message to the state and
//! redraws (at most 25 times a second, and only when something changed).
//! The terminal is restored on exit and on panic.

mod detail;
mod state;
mod ui;

use std::process::ExitCode;
use std::time::Duration;

use crossterm::event::{self, Event};
use tokio::sync::mpsc;

use super::client::{AdminClient, ClientError, Feed};
use super::event::Finished;
use super::{ConnectArgs, backoff};
use state::{Action, App, Conn, Msg};

/// The shortest time between two frames.
const FRAME: Duration = Duration::from_millis(40);

/// Options of `switchyard top`.
#[derive(clap::Args, Clone, Debug)]
pub struct TopArgs {
    /// The gateway to show.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// A client key for the chat box, when the gateway needs one.
    #[arg(long, env = "SWITCHYARD_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The chat box's model (default: the first one of `/v1/models`).
    #[arg(long)]
    pub model: Option<String>,
}

/// Leaves the alternate screen and raw mode when dropped.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs `switchyard top` until q or Ctrl-C.
pub async fn run(args: TopArgs) -> ExitCode {
    let client = match AdminClient::new(&args.connect) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("switchyard top: {e}");
            return ExitCode::from(2);
        }
    };
    let api_key = args.api_key.filter(|k| !k.is_empty());
    // A refused key is a mistake to fix, not a state to wait out: say so
    // before taking the screen. An unreachable gateway is waited for.
    let first = match client.feed().await {
        Ok(feed) => Some(feed),
        Err(ClientError::Refused(e)) => {
            eprintln!(
                "switchyard top: {} refused the admin key: {e} \
                 (pass --admin-key or set SWITCHYARD_ADMIN_KEY)",
                client.base()
            );
            return ExitCode::from(super::watch::EXIT_REFUSED);
        }
        Err(_) => None,
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let mut tasks = vec![
        tokio::spawn(feed(client.clone(), first, tx.clone())),
        tokio::spawn(health(client.clone(), tx.clone())),
        tokio::spawn(model(
            client.clone(),
            api_key.clone(),
            args.model,
            tx.clone(),
        )),
    ];
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            eprintln!("switchyard top: cannot open the terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    let restore = Restore;
    keyboard(tx.clone());
    tasks.push(tokio::spawn(signals(tx.clone())));
    let mut app = App::new(client.base());
    let result = loop {
        if let Err(e) = terminal.draw(|f| ui::draw(f, &app)) {
            break Err(e);
        }
        let drawn = tokio::time::Instant::now();
        // Redraw only when something changed: idle, top costs nothing.
        let next = rx.recv().await;
        // At most 25 frames a second, however busy the gateway.
        tokio::time::sleep_until(drawn + FRAME).await;
        for msg in next
            .into_iter()
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
        {
            let task = match app.apply(msg) {
                Some(Action::Send { model, prompt }) => tokio::spawn(chat(
                    client.clone(),
                    api_key.clone(),
                    model,
                    prompt,
                    tx.clone(),
                )),
                Some(Action::Open(id)) => tokio::spawn(record(client.clone(), id, tx.clone())),
                None => continue,
            };
            tasks.retain(|t| !t.is_finished());
            tasks.push(task);
        }
        if app.quit {
            break Ok(());
        }
    };
    for t in tasks {
        t.abort();
    }
    drop(restore);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchyard top: terminal error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Quits cleanly (restoring the terminal) on SIGTERM and SIGHUP; in raw
/// mode Ctrl-C is a key, not SIGINT.
async fn signals(tx: mpsc::Sender<Msg>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Msg::Quit).await;
    }
    #[cfg(not(unix))]
    drop(tx);
}

/// Reads the keyboard on its own thread (crossterm's reads block) until the
/// loop stops listening.
fn keyboard(tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        while !tx.is_closed() {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(Event::Key(k)) => {
                        if tx.blocking_send(Msg::Key(k)).is_err() {
                            return;
                        }
                    }
                    Ok(Event::Resize(..)) => {
                        if tx.blocking_send(Msg::Resized).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
}

/// The live feed: connects, forwards finished requests, and reconnects with
/// backoff, reporting each state.
async fn feed(client: AdminClient, mut first: Option<Feed>, tx: mpsc::Sender<Msg>) {
    let mut attempt = 0;
    loop {
        let opened = match first.take() {
            Some(feed) => Ok(feed),
            None => client.feed().await,
        };
        let error = match opened {
            Ok(mut feed) => {
                attempt = 0;
                if tx.send(Msg::Conn(Conn::Connected)).await.is_err() {
                    return;
                }
                loop {
                    let msg = match feed.next().await {
                        Ok(Some(m)) => m,
                        Ok(None) => {
                            break ClientError::Unreachable("the gateway closed the feed".into());
                        }
                        Err(e) => break e,
                    };
                    let out = match msg.event.as_str() {
                        "complete" => match Finished::parse(&msg.data) {
                            Ok(f) => Msg::Finished(Box::new(f)),
                            Err(_) => continue,
                        },
                        "lagged" => Msg::Lagged(
                            serde_json::from_str::<serde_json::Value>(&msg.data)
                                .ok()
                                .and_then(|v| v["missed"].as_u64())
                                .unwrap_or(1),
                        ),
                        _ => continue,
                    };
                    if tx.send(out).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => e,
        };
        attempt += 1;
        let wait = backoff(attempt - 1);
        let state = Conn::Retrying {
            error: error.to_string(),
            retry_in_secs: wait.as_secs_f64(),
            attempt,
        };
        if tx.send(Msg::Conn(state)).await.is_err() {
            return;
        }
        tokio::time::sleep(wait).await;
    }
}

/// `/health` every two seconds.
async fn health(client: AdminClient, tx: mpsc::Sender<Msg>) {
    loop {
        let h = client.health().await.map_err(|e| e.to_string());
        if tx.send(Msg::Health(h)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The chat box's models: `--model`, and the list of `/v1/models` to pick
/// from (the first is the default without `--model`), retried until the
/// gateway answers.
async fn model(
    client: AdminClient,
    api_key: Option<String>,
    model: Option<String>,
    tx: mpsc::Sender<Msg>,
) {
    if let Some(m) = model
        && tx.send(Msg::Model(Ok(m))).await.is_err()
    {
        return;
    }
    let mut attempt = 0;
    loop {
        let found = client
            .models(api_key.as_deref())
            .await
            .map_err(|e| e.to_string());
        let done = found.is_ok();
        if tx.send(Msg::Models(found)).await.is_err() || done {
            return;
        }
        tokio::time::sleep(backoff(attempt)).await;
        attempt += 1;
    }
}

/// Fetches a request's record; retried for a moment while it is 404, as
/// the journal writes in batches and the feed can be ahead of it.
async fn record(client: AdminClient, id: String, tx: mpsc::Sender<Msg>) {
    let mut found = client.record(&id).await;
    for _ in 0..15 {
        if !matches!(found, Err(ClientError::Status(404, _))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        found = client.record(&id).await;
    }
    let _ = tx
        .send(Msg::Record(id, found.map_err(|e| e.to_string())))
        .await;
}

/// Sends one prompt and streams its answer into the chat box.
async fn chat(
    client: AdminClient,
    api_key: Option<String>,
    model: String,
    prompt: String,
    tx: mpsc::Sender<Msg>,
) {
    let (dtx, mut drx) = mpsc::unbounded_channel::<String>();
    let request = client.chat(api_key.as_deref(), &model, &prompt, move |d| {
        let _ = dtx.send(d.to_owned());
    });
    tokio::pin!(request);
    let done = loop {
        tokio::select! {
            Some(d) = drx.recv() => {
                if tx.send(Msg::ChatDelta(d)).await.is_err() {
                    return;
                }
            }
            r = &mut request => break r,
        }
    };
    while let Ok(d) = drx.try_recv() {
        let _ = tx.send(Msg::ChatDelta(d)).await;
    }
    let _ = tx
        .send(match done {
            Ok(d) => Msg::ChatDone(d.routed_to),
            Err(e) => Msg::ChatFailed(e.to_string()),
        })
        .await;
}
