//! The terminal clients of a running gateway: `switchyard top` (a full-screen
//! view of its live feed, stats and health, with a chat box) and
//! `switchyard watch` (one line per finished request).
//!
//! Both read the admin API (`/admin/events`, `/health`) over HTTP, so they
//! work against any gateway the admin key opens, local or remote.

pub mod client;
pub mod event;
pub mod top;
pub mod watch;

use std::process::ExitCode;
use std::time::Duration;

/// The terminal subcommands of the `switchyard` binary.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Command {
    /// A live full-screen view of a running gateway: requests, stats by
    /// provider and tag, provider health, and a chat box.
    Top(top::TopArgs),
    /// Print one line per finished request of a running gateway.
    Watch(watch::WatchArgs),
}

/// Runs a terminal subcommand to its end.
pub fn run(command: Command) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("switchyard: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        match command {
            Command::Top(args) => top::run(args).await,
            Command::Watch(args) => watch::run(args).await,
        }
    });
    // The keyboard thread and an unanswered request must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

/// Where the gateway is and how to open its admin API.
#[derive(clap::Args, Clone, Debug)]
pub struct ConnectArgs {
    /// The gateway's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The admin key (`admin_key` of the gateway's config); none for a
    /// gateway on this machine that has no key configured.
    #[arg(long, env = "SWITCHYARD_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
}

/// Backoff before reconnect attempt `n` (0-based): 0.5 s doubling to 8 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(8));
    }
}
