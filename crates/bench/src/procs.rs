//! Child processes: the simulator and the gateway, started on free loopback
//! ports, stopped by a guard whose `Drop` sends SIGTERM (then SIGKILL), plus
//! the `/proc` readers (RSS, CPU time) the report needs.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

/// How long a child gets to exit after SIGTERM before it is SIGKILLed.
const TERM_GRACE: Duration = Duration::from_secs(5);

/// The running simulator and gateway, with their scratch directory.
///
/// Dropping it stops every child it started (SIGTERM, then SIGKILL after a
/// grace period) and removes the scratch directory.
pub struct Stack {
    children: Vec<(&'static str, Child)>,
    dir: PathBuf,
    /// Simulator address (loopback).
    pub sim_addr: SocketAddr,
    /// Gateway address (loopback).
    pub gw_addr: SocketAddr,
    /// Simulator pid.
    pub sim_pid: u32,
    /// Gateway pid.
    pub gw_pid: u32,
    /// Inference key for the gateway.
    pub key: String,
}

impl Stack {
    /// Starts the simulator and the gateway from the `switchyard` binary at
    /// `bin`, creates an inference key, and returns once both answer.
    pub async fn start(bin: &Path) -> Result<Stack> {
        if !bin.is_file() {
            bail!(
                "no switchyard binary at {} (build it with `cargo build --release -p switchyard-cli`, or pass --switchyard)",
                bin.display()
            );
        }
        let dir = scratch_dir()?;
        let mut stack = Stack {
            children: Vec::new(),
            dir: dir.clone(),
            sim_addr: free_loopback_addr()?,
            gw_addr: free_loopback_addr()?,
            sim_pid: 0,
            gw_pid: 0,
            key: String::new(),
        };
        let sim_listen = stack.sim_addr.to_string();
        stack.sim_pid = stack.spawn("sim", bin, &["sim", "--listen", &sim_listen, "--no-record"])?;

        let config = dir.join("switchyard.toml");
        fs::write(&config, config_toml(stack.gw_addr, stack.sim_addr, &dir)).context("writing the gateway config")?;
        let config_arg = config.to_string_lossy().into_owned();
        stack.key = create_key(bin, &config_arg)?;
        stack.gw_pid = stack.spawn("gateway", bin, &["serve", "--config", &config_arg])?;

        let sim_url = format!("http://{}/v1/models", stack.sim_addr);
        let gw_url = format!("http://{}/health", stack.gw_addr);
        stack.wait_ready("sim", &sim_url).await?;
        stack.wait_ready("gateway", &gw_url).await?;
        Ok(stack)
    }

    /// Spawns `bin args`, logging to `<dir>/<name>.log`; returns its pid.
    fn spawn(&mut self, name: &'static str, bin: &Path, args: &[&str]) -> Result<u32> {
        let log_path = self.dir.join(format!("{name}.log"));
        let log = fs::File::create(&log_path).context("creating a log file")?;
        let child = Command::new(bin)
            .args(args)
            .env("SWITCHYARD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {name} ({})", bin.display()))?;
        let pid = child.id();
        self.children.push((name, child));
        Ok(pid)
    }

    /// Polls `url` until it answers 200, for at most 20 s.
    async fn wait_ready(&mut self, name: &str, url: &str) -> Result<()> {
        let client = crate::load::client();
        let uri: hyper::Uri = url.parse()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = match client.get(uri.clone()).await {
                Ok(resp) => resp.status() == hyper::StatusCode::OK,
                Err(_) => false,
            };
            if ok {
                return Ok(());
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!("{name} did not answer {url} in 20 s:\n{}", self.log_tail(name));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of a child's log, for error messages.
    pub fn log_tail(&self, name: &str) -> String {
        let text = fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Whether every child is still running; names the first one that is not.
    pub fn check_alive(&mut self) -> Result<()> {
        let mut exited = None;
        for (name, child) in &mut self.children {
            if let Some(status) = child.try_wait()? {
                exited = Some((*name, status));
                break;
            }
        }
        match exited {
            Some((name, status)) => bail!("{name} exited ({status}):\n{}", self.log_tail(name)),
            None => Ok(()),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let deadline = Instant::now() + TERM_GRACE;
        for (_, child) in &mut self.children {
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The benchmark's gateway config: one simulator provider, one model.
fn config_toml(gw: SocketAddr, sim: SocketAddr, dir: &Path) -> String {
    let data = dir.join("data");
    format!(
        r#"listen = "{gw}"
data_dir = "{data}"
builtin_catalog = false

[[providers]]
id = "sim"
name = "Simulator"
base_url = "http://{sim}/v1"

[[models]]
id = "bench/tokens-16"
context_length = 8192

[[models.endpoints]]
provider = "sim"
model = "tokens=16"
prompt = "0.000001"
completion = "0.000002"

# The same answer through the Anthropic Messages protocol, to measure
# translation (OpenAI-shaped request in, Anthropic out and back).
[[providers]]
id = "sim-anthropic"
name = "Simulator (Anthropic)"
protocol = "anthropic"
base_url = "http://{sim}/v1"
api_key = "bench"

[[models]]
id = "bench/anthropic-16"
context_length = 8192

[[models.endpoints]]
provider = "sim-anthropic"
model = "tokens=16"
prompt = "0.000001"
completion = "0.000002"
"#,
        data = data.display()
    )
}

/// Runs `switchyard keys create` and returns the key it prints (last line).
fn create_key(bin: &Path, config: &str) -> Result<String> {
    let out = Command::new(bin)
        .args(["keys", "create", "--name", "bench", "--config", config])
        .env("SWITCHYARD_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .context("running `switchyard keys create`")?;
    if !out.status.success() {
        bail!("`switchyard keys create` failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().map(str::trim).rfind(|l| l.starts_with("sk-")) {
        Some(k) => Ok(k.to_string()),
        None => bail!("`switchyard keys create` printed no key: {stdout:?}"),
    }
}

/// A loopback address with a port that was free a moment ago.
fn free_loopback_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?)
}

/// A fresh directory under the system temp dir.
fn scratch_dir() -> Result<PathBuf> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let dir = std::env::temp_dir().join(format!("switchyard-bench-{}-{nanos}", std::process::id()));
    fs::create_dir_all(dir.join("data")).context("creating the scratch dir")?;
    Ok(dir)
}

/// A `kB` field (e.g. `VmHWM`, `VmRSS`) of `/proc/<pid>/status`, in bytes.
pub fn status_kb(pid: u32, field: &str) -> Result<u64> {
    let text =
        fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("reading /proc/{pid}/status"))?;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            let kb: u64 = rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .with_context(|| format!("parsing {field} of pid {pid}"))?;
            return Ok(kb * 1024);
        }
    }
    bail!("no {field} in /proc/{pid}/status")
}

/// User plus system CPU time of `pid` so far, in clock ticks
/// (fields 14 and 15 of `/proc/<pid>/stat`).
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its ')'.
    let after = text.rfind(')').map(|i| &text[i + 1..]).context("malformed /proc/pid/stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3, so field N is at index N - 3.
    let get = |n: usize| -> Result<u64> {
        let s = fields.get(n - 3).context("short /proc/pid/stat")?;
        Ok(s.parse()?)
    };
    Ok(get(14)? + get(15)?)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 if that fails).
pub fn ticks_per_sec() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}
