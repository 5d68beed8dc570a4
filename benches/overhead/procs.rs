//! The processes under test: spawning them pinned, reading their CPU time
//! and memory from `/proc`, and describing the machine.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// A gateway process, killed when dropped.
pub struct Proc {
    pub pid: u32,
    pub addr: SocketAddr,
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start one gateway.
pub struct Launch<'a> {
    pub program: &'a Path,
    pub args: Vec<OsString>,
    /// A command to run the program under (e.g. valgrind and its options).
    pub wrap: Vec<OsString>,
    pub envs: Vec<(&'static str, OsString)>,
    /// Pin to this core with `taskset` (when installed).
    pub core: Option<usize>,
    /// Where its stderr (logs) goes.
    pub log: &'a Path,
}

/// Starts a gateway and waits for its `... listening on http://ADDR` line on stdout.
pub fn spawn(launch: Launch<'_>) -> Result<Proc, String> {
    let mut cmd = match (launch.wrap.split_first(), launch.core) {
        (Some((tool, options)), _) => {
            let mut c = Command::new(tool);
            c.args(options).arg(launch.program);
            c
        }
        (None, Some(core)) if has_taskset() => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(core.to_string()).arg(launch.program);
            c
        }
        (None, _) => Command::new(launch.program),
    };
    cmd.args(&launch.args);
    // The gateway honours proxy variables; loopback traffic must not go through one.
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in &launch.envs {
        cmd.env(k, v);
    }
    let log = std::fs::File::create(launch.log)
        .map_err(|e| format!("creating {}: {e}", launch.log.display()))?;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", launch.program.display()))?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on http://").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let mut proc = Proc {
        pid,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        child,
    };
    let addr = rx.recv_timeout(Duration::from_secs(120)).map_err(|_| {
        let log = std::fs::read_to_string(launch.log).unwrap_or_default();
        format!("{} did not start:\n{log}", launch.program.display())
    })?;
    proc.addr = addr
        .parse()
        .map_err(|e| format!("bad listen address `{addr}`: {e}"))?;
    Ok(proc)
}

fn has_taskset() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Whether processes can be pinned to cores here.
pub fn can_pin() -> bool {
    has_taskset()
}

/// User + system CPU time of process `pid` so far, in microseconds
/// (`utime + stime` from `/proc/<pid>/stat`, all threads).
pub fn cpu_us(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the `(comm)`, which may itself contain spaces: state is field 3.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime is field 14, stime 15: indexes 11 and 12 counting from state.
    (ticks(11) + ticks(12)) * 1_000_000 / clock_ticks()
}

fn clock_ticks() -> u64 {
    static TCK: OnceLock<u64> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// A `/proc/<pid>/status` memory figure (`VmRSS`, `VmHWM`), in KiB.
pub fn mem_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The release `switchyard` binary: `SWITCHYARD_BIN`, else next to this
/// bench's own profile directory (`target/release/deps/overhead-*` ->
/// `target/release/switchyard`), else `$CARGO_TARGET_DIR/release/switchyard`.
pub fn gateway_binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("SWITCHYARD_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let mut tried = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile) = exe.parent().and_then(Path::parent)
    {
        tried.push(profile.join("switchyard"));
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        tried.push(PathBuf::from(dir).join("release").join("switchyard"));
    }
    tried.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/switchyard"));
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        format!(
            "no switchyard binary (looked at {}): run `cargo build --release` first, or use scripts/bench-overhead",
            tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}

/// CPU model, core count, kernel and memory of this machine.
pub fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    // Every core of the machine, not only those this (pinned) process may use.
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mem_gib = mem_total_kib() as f64 / (1024.0 * 1024.0);
    serde_json::json!({
        "cpu": model,
        "cores": cores,
        "kernel": kernel,
        "mem_gib": (mem_gib * 10.0).round() / 10.0,
        "loadavg_1m_at_start": load_average(),
    })
}

fn mem_total_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The 1-minute load average: above ~0.5 on an idle bench machine, something
/// else is competing for the cores and the figures are disturbed.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}
