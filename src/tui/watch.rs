//! `switchyard watch`: one line per finished request, as it happens.

use std::io::Write;
use std::process::ExitCode;

use super::client::{AdminClient, ClientError, Feed};
use super::event::Finished;
use super::{ConnectArgs, backoff};

/// Exit code when the gateway cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 1;
/// Exit code when the admin API refuses the key.
pub const EXIT_REFUSED: u8 = 3;

/// Options of `switchyard watch`.
#[derive(clap::Args, Clone, Debug)]
pub struct WatchArgs {
    /// The gateway to watch.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Print each `complete` event as it comes, one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// Runs `switchyard watch` until the gateway refuses us, the first
/// connection fails, or stdout closes. A connection lost later is retried
/// with backoff (the gateway restarting is not the end of the watch).
pub async fn run(args: WatchArgs) -> ExitCode {
    let client = match AdminClient::new(&args.connect) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("switchyard watch: {e}");
            return ExitCode::from(2);
        }
    };
    let mut connected_once = false;
    let mut attempt = 0;
    loop {
        match client.feed().await {
            Ok(feed) => {
                if connected_once {
                    eprintln!("switchyard watch: reconnected");
                } else {
                    eprintln!(
                        "switchyard watch: watching {}/admin/events (Ctrl-C to stop)",
                        client.base()
                    );
                }
                connected_once = true;
                attempt = 0;
                match print_feed(feed, args.json).await {
                    Ok(()) => eprintln!("switchyard watch: the gateway closed the feed"),
                    Err(Stop::StdoutClosed) => return ExitCode::SUCCESS,
                    Err(Stop::Lost(e)) => eprintln!("switchyard watch: connection lost: {e}"),
                }
            }
            Err(ClientError::Refused(e)) => {
                eprintln!(
                    "switchyard watch: {} refused the admin key: {e} \
                     (pass --admin-key or set SWITCHYARD_ADMIN_KEY)",
                    client.base()
                );
                return ExitCode::from(EXIT_REFUSED);
            }
            Err(e) if !connected_once => {
                eprintln!("switchyard watch: {}: {e}", client.base());
                return ExitCode::from(EXIT_UNREACHABLE);
            }
            Err(e) => eprintln!("switchyard watch: {e}"),
        }
        let wait = backoff(attempt);
        attempt = attempt.saturating_add(1);
        eprintln!(
            "switchyard watch: reconnecting in {:.1}s",
            wait.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
    }
}

enum Stop {
    StdoutClosed,
    Lost(ClientError),
}

async fn print_feed(mut feed: Feed, json: bool) -> Result<(), Stop> {
    let stdout = std::io::stdout();
    while let Some(msg) = feed.next().await.map_err(Stop::Lost)? {
        let line = match msg.event.as_str() {
            "complete" if json => msg.data,
            "complete" => match Finished::parse(&msg.data) {
                Ok(f) => f.line(),
                Err(e) => {
                    eprintln!("switchyard watch: {e}");
                    continue;
                }
            },
            "lagged" => {
                eprintln!(
                    "switchyard watch: fell behind the gateway and missed events: {}",
                    msg.data
                );
                continue;
            }
            _ => continue,
        };
        let mut out = stdout.lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return Err(Stop::StdoutClosed);
        }
    }
    Ok(())
}
