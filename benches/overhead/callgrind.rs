//! `--callgrind DIR`: instructions per request, counted by valgrind's
//! callgrind, instead of timed figures.
//!
//! Timings on a shared machine drift by tens of percent; instruction counts
//! repeat to a fraction of a percent, so they are what a before/after
//! comparison of a code change should quote. Each gateway runs under
//! `valgrind --tool=callgrind`; after a warm-up (lazy initialisation done)
//! its counters are zeroed, `requests` non-streamed and then `requests / 10`
//! streamed exchanges run, and each part is dumped to
//! `DIR/<target>.callgrind.<part>` (open them with `callgrind_annotate` or
//! KCachegrind). The count covers every thread of the gateway (the journal
//! writer too), user space only: system calls are not instructions here.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;

use crate::client;
use crate::scenarios::Target;

/// The wrapper a gateway is started under.
pub fn wrapper(dir: &Path, name: &str) -> Vec<OsString> {
    vec![
        "valgrind".into(),
        "--tool=callgrind".into(),
        // Each part is dumped to its own file: without this, names are
        // defined once in the first and only referenced in the others,
        // which `callgrind_annotate` then cannot name.
        "--compress-strings=no".into(),
        format!(
            "--callgrind-out-file={}",
            dir.join(format!("{name}.callgrind")).display()
        )
        .into(),
    ]
}

/// Whether valgrind can run here.
pub fn available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The request bodies counted.
pub struct Bodies<'a> {
    /// The usual non-streamed chat body.
    pub plain: &'a Bytes,
    /// The same asking for a stream.
    pub stream: &'a Bytes,
    /// The large body (`--large-body-bytes`, 1 MiB by default).
    pub large: &'a Bytes,
}

/// Large-body requests counted per gateway.
const LARGE_REQUESTS: usize = 20;

/// Counts each gateway's instructions per request; prints a table and
/// returns one JSON object per target.
pub async fn count(
    targets: &[Target],
    dir: &Path,
    requests: usize,
    bodies: Bodies<'_>,
    chunks: usize,
) -> Result<serde_json::Value, String> {
    let mut out = serde_json::Map::new();
    let streams = (requests / 10).max(1);
    println!(
        "\ninstructions per request (callgrind, user space, all gateway threads; {requests} plain, {streams} streamed, {LARGE_REQUESTS} with the {} KiB body)",
        bodies.large.len() >> 10
    );
    println!(
        "{:<10} {:>14} {:>16} {:>16}",
        "", "plain", "streamed", "large body"
    );
    for t in targets {
        let Some(pid) = t.pid else { continue };
        // Warm-up: connections, lazy tables, the first journal batch.
        run(t, 200, bodies.plain, false, chunks).await?;
        run(t, 20, bodies.stream, true, chunks).await?;
        run(t, 2, bodies.large, false, chunks).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        control(pid, "-z")?;
        run(t, requests, bodies.plain, false, chunks).await?;
        // Let the journal writer's last batch land inside the count.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let plain = dump(pid, dir, t.name, "plain")? / requests as f64;
        run(t, streams, bodies.stream, true, chunks).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let streamed = dump(pid, dir, t.name, "streamed")? / streams as f64;
        run(t, LARGE_REQUESTS, bodies.large, false, chunks).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let large = dump(pid, dir, t.name, "large")? / LARGE_REQUESTS as f64;
        println!(
            "{:<10} {plain:>14.0} {streamed:>16.0} {large:>16.0}",
            t.name
        );
        out.insert(
            t.name.to_owned(),
            serde_json::json!({"plain": plain.round(), "streamed": streamed.round(), "large_body": large.round()}),
        );
    }
    Ok(serde_json::Value::Object(out))
}

/// `n` exchanges over 4 kept-alive connections.
pub async fn run(
    t: &Target,
    n: usize,
    body: &Bytes,
    stream: bool,
    chunks: usize,
) -> Result<(), String> {
    let conns = 4.min(n.max(1));
    let mut tasks = Vec::new();
    for k in 0..conns {
        let (addr, body) = (t.addr, body.clone());
        let share = n / conns + usize::from(k < n % conns);
        tasks.push(tokio::spawn(async move {
            let mut conn = client::connect(addr, None).await?;
            for _ in 0..share {
                if stream {
                    client::stream(&mut conn, &body, crate::upstream::now_ns(), chunks).await?;
                } else {
                    client::exchange(&mut conn, &body).await?;
                }
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

fn control(pid: u32, arg: &str) -> Result<(), String> {
    let out = Command::new("callgrind_control")
        .arg(arg)
        .arg(pid.to_string())
        .output()
        .map_err(|e| format!("callgrind_control: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "callgrind_control {arg} {pid}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Dumps the counters (which zeroes them), moves the dump to
/// `DIR/<name>.callgrind.<part>` and returns its instruction total.
fn dump(pid: u32, dir: &Path, name: &str, part: &str) -> Result<f64, String> {
    let before: Vec<_> = dumps(dir, name);
    control(pid, "-d")?;
    let file = (0..100)
        .find_map(|_| {
            let new = dumps(dir, name).into_iter().find(|f| !before.contains(f));
            if new.is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            new
        })
        .ok_or_else(|| format!("no callgrind dump for {name}"))?;
    let target = dir.join(format!("{name}.callgrind.{part}"));
    std::fs::rename(&file, &target).map_err(|e| format!("{}: {e}", file.display()))?;
    let text =
        std::fs::read_to_string(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("{}: no totals line", target.display()))
}

/// The numbered dumps callgrind wrote for `name` so far.
fn dumps(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let prefix = format!("{name}.callgrind.");
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.strip_prefix(&prefix))
                        .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
                })
                .collect()
        })
        .unwrap_or_default()
}
