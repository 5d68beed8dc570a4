//! `--massif DIR`: where each gateway's heap goes per open stream, by
//! allocation site, from valgrind's massif instead of RSS.
//!
//! Each gateway runs under `valgrind --tool=massif`; after a warm-up a
//! detailed snapshot of its heap is taken (`DIR/<target>.idle.massif`), then
//! `--massif-streams` streams are held open and a second one is taken
//! (`DIR/<target>.streams.massif`; read them with `ms_print`). The report
//! gives the heap per open stream and the allocation sites that grew most.
//! massif sees `malloc`, so the gateway must be built without jemalloc:
//! `cargo build --release --no-default-features`, then point
//! `SWITCHYARD_BIN` at a copy of that binary (`cargo bench` rebuilds
//! `target/release/switchyard` with the default features).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;

use crate::callgrind;
use crate::load;
use crate::scenarios::Target;
use crate::upstream::Upstream;

/// The wrapper a gateway is started under.
pub fn wrapper(dir: &Path, name: &str) -> Vec<OsString> {
    vec![
        "valgrind".into(),
        "--tool=massif".into(),
        // Sites down to 0.1 % of the heap are named, not lumped together.
        "--threshold=0.1".into(),
        format!(
            "--massif-out-file={}",
            dir.join(format!("{name}.exit.massif")).display()
        )
        .into(),
    ]
}

/// Whether valgrind and its `vgdb` (which asks for the snapshots) can run here.
pub fn available() -> bool {
    [("valgrind", "--version"), ("vgdb", "--help")]
        .iter()
        .all(|(p, arg)| {
            Command::new(p)
                .arg(arg)
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// One detailed snapshot: the heap in total and by allocation site (see [`parse`]).
struct Snapshot {
    heap: u64,
    sites: HashMap<String, u64>,
}

/// Takes a detailed snapshot of the massif-run process `pid` into `path`.
fn snapshot(pid: u32, path: &Path) -> Result<Snapshot, String> {
    let out = Command::new("vgdb")
        .arg(format!("--pid={pid}"))
        .arg("detailed_snapshot")
        .arg(path)
        .output()
        .map_err(|e| format!("vgdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "vgdb detailed_snapshot {pid}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).ok_or_else(|| format!("{}: not a massif snapshot", path.display()))
}

/// Reads a massif file holding one detailed snapshot: `mem_heap_B` plus
/// `mem_heap_extra_B` (the allocator's own overhead), and the tree
/// (`n<children>: <bytes> <address>: <function> (in <file>)`, one space of
/// indent per level), with each allocation's bytes put on the first frame
/// that is not a generic allocation helper (`RawVec` growth, `BytesMut`
/// reserve, hash-table rehash): that frame says what the memory is for.
fn parse(text: &str) -> Option<Snapshot> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.parse::<u64>().ok())
    };
    let heap = field("mem_heap_B=")? + field("mem_heap_extra_B=").unwrap_or(0);
    let nodes: Vec<(usize, u64, String)> = text
        .lines()
        .filter_map(|line| {
            let depth = line.len() - line.trim_start().len();
            let rest = line.trim_start().strip_prefix('n')?;
            let (_, rest) = rest.split_once(": ")?;
            let (bytes, what) = rest.split_once(' ')?;
            let name = match what.split_once(": ") {
                Some((addr, f)) if addr.starts_with("0x") => {
                    f.rsplit_once(" (in ").map_or(f, |(f, _)| f).to_owned()
                }
                _ => "(sites below the threshold)".to_owned(),
            };
            Some((depth, bytes.parse().ok()?, name))
        })
        .collect();
    let mut sites = HashMap::new();
    // Children of the root (depth 0) are depth 1.
    attribute(&nodes, 1, 1, &mut sites);
    Some(Snapshot { heap, sites })
}

/// Whether a frame only grows or allocates a container for its caller.
fn generic(name: &str) -> bool {
    ["alloc::", "<alloc::", "bytes::", "hashbrown::", "core::"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Adds the nodes from `from` at `depth` (up to the first shallower one) to
/// `sites`, descending through generic frames. Returns where it stopped.
fn attribute(
    nodes: &[(usize, u64, String)],
    from: usize,
    depth: usize,
    sites: &mut HashMap<String, u64>,
) -> usize {
    let mut i = from;
    while let Some((d, bytes, name)) = nodes.get(i) {
        if *d < depth {
            break;
        }
        let has_children = nodes.get(i + 1).is_some_and(|n| n.0 > *d);
        if generic(name) && has_children {
            let mut inner = HashMap::new();
            i = attribute(nodes, i + 1, d + 1, &mut inner);
            let below: u64 = inner.values().sum();
            for (k, v) in inner {
                *sites.entry(k).or_insert(0) += v;
            }
            if *bytes > below {
                *sites.entry(name.clone()).or_insert(0) += bytes - below;
            }
        } else {
            *sites.entry(name.clone()).or_insert(0) += bytes;
            i += 1;
            while nodes.get(i).is_some_and(|n| n.0 > *d) {
                i += 1;
            }
        }
    }
    i
}

/// Heap per stream for each gateway; prints a table and returns one JSON
/// object per target.
pub async fn measure(
    targets: &[Target],
    dir: &Path,
    streams: usize,
    upstream: &Upstream,
    bodies: (&Bytes, &Bytes),
) -> Result<serde_json::Value, String> {
    let (plain, stream) = bodies;
    let mut out = serde_json::Map::new();
    println!("\nheap per open stream (massif; {streams} streams held open, after a warm-up)");
    for t in targets {
        let Some(pid) = t.pid else { continue };
        // Warm-up: connections, lazy tables, the first journal batch.
        callgrind::run(t, 200, plain, false, 0).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle_path = dir.join(format!("{}.idle.massif", t.name));
        let idle = snapshot(pid, &idle_path)?;
        let held_path = dir.join(format!("{}.streams.massif", t.name));
        let mut held = None;
        let h = load::hold_streams(t.addr, streams, stream, upstream, pid, 10, || {
            held = Some(snapshot(pid, &held_path));
        })
        .await?;
        let held = held.ok_or("no snapshot with the streams open")??;
        if h.opened == 0 {
            return Err(format!("{}: no stream opened", t.name));
        }
        let per = |a: u64, b: u64| (b as f64 - a as f64) / h.opened as f64;
        let per_stream = per(idle.heap, held.heap);
        if per_stream < 1000.0 {
            return Err(format!(
                "{}: massif saw {per_stream:.0} bytes of heap per open stream: the gateway allocates through jemalloc, which massif cannot see; build it with `cargo build --release --no-default-features` and set SWITCHYARD_BIN to a copy of that binary",
                t.name
            ));
        }
        println!(
            "{}: heap {:.1} MB idle, {:.1} MB with {} streams open: {:.1} KB per stream",
            t.name,
            idle.heap as f64 / 1e6,
            held.heap as f64 / 1e6,
            h.opened,
            per_stream / 1e3
        );
        let mut growth: Vec<(f64, &String)> = held
            .sites
            .iter()
            .map(|(site, &b)| (per(idle.sites.get(site).copied().unwrap_or(0), b), site))
            .filter(|(g, _)| *g >= 100.0)
            .collect();
        growth.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (g, site) in growth.iter().take(10) {
            println!("  {:>8.0} B  {}", g, shorten(site));
        }
        println!(
            "  (trees: ms_print {} and {})",
            idle_path.display(),
            held_path.display()
        );
        out.insert(
            t.name.to_owned(),
            serde_json::json!({
                "streams": h.opened,
                "heap_idle_bytes": idle.heap,
                "heap_streams_bytes": held.heap,
                "heap_per_stream_bytes": per_stream.round(),
                "sites_per_stream_bytes": growth
                    .iter()
                    .take(10)
                    .map(|(g, s)| serde_json::json!({"site": s, "bytes": g.round()}))
                    .collect::<Vec<_>>(),
            }),
        );
    }
    Ok(serde_json::Value::Object(out))
}

/// A site's name cut to fit the table (the JSON line has it whole).
fn shorten(site: &str) -> String {
    const MAX: usize = 110;
    if site.len() <= MAX {
        return site.to_owned();
    }
    let mut end = MAX;
    while !site.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &site[..end])
}
