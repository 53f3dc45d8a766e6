//! Emulators started by tests (Azurite, the Python emulators) run as
//! children that can never outlive the test process.
//!
//! Each runs under a tiny `sh` watchdog that holds the read end of a pipe
//! whose write end only this process has. When this process ends, in any
//! way (including `SIGKILL` or a panic that aborts), the kernel closes the
//! pipe, the watchdog's `read` returns, and it kills the server. Rust never
//! runs destructors of statics, so a drop guard alone would leave orphans.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const WATCHDOG: &str = r#""$0" "$@" </dev/null & pid=$!
read -r _
kill "$pid" 2>/dev/null
wait "$pid""#;

/// What to start, and how to tell that it is up.
pub struct ServerCommand<'a> {
    /// Shown in errors ("Azurite", "moto").
    pub name: &'a str,
    /// The program to run.
    pub program: &'a Path,
    /// Its arguments for a given port.
    pub args: &'a dyn Fn(u16) -> Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// True once the server on that port answers as itself (and not as
    /// whatever else may have grabbed the port).
    pub ready: &'a dyn Fn(u16) -> bool,
    /// How long it may take to answer.
    pub start_timeout: Duration,
}

/// A running server; its watchdog stops it when this process exits.
pub struct ServerProcess {
    /// The loopback port it listens on.
    pub port: u16,
    // Held for the life of the process: closing it is the stop signal.
    _watchdog: Child,
    _stop: ChildStdin,
}

impl std::fmt::Debug for ServerProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerProcess")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Starts the server on a free loopback port and waits until it is ready.
/// A free port can be taken by someone else before the server binds it, so
/// this tries three ports before giving up with the server's log.
pub fn start(command: &ServerCommand<'_>) -> Result<ServerProcess, String> {
    let mut last_error = String::new();
    for _ in 0..3 {
        match start_once(command) {
            Ok(p) => return Ok(p),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

fn start_once(command: &ServerCommand<'_>) -> Result<ServerProcess, String> {
    let name = command.name;
    let port = free_port()?;
    let log_path = log_path(name, port);
    let log = File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg(command.program)
        .args((command.args)(port))
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .spawn()
        .map_err(|e| format!("cannot start {} under sh: {e}", command.program.display()))?;
    let Some(stop) = child.stdin.take() else {
        return Err(format!("the {name} watchdog has no stdin pipe"));
    };
    let deadline = Instant::now() + command.start_timeout;
    while Instant::now() < deadline {
        if (command.ready)(port) {
            return Ok(ServerProcess {
                port,
                _watchdog: child,
                _stop: stop,
            });
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{name} exited ({status}) before answering: {}",
                read_log(&log_path)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Closing the pipe makes the watchdog stop the server.
    drop(stop);
    let _ = child.wait();
    Err(format!(
        "{name} did not answer on 127.0.0.1:{port} within {:?}: {}",
        command.start_timeout,
        read_log(&log_path)
    ))
}

fn log_path(name: &str, port: u16) -> PathBuf {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    std::env::temp_dir().join(format!(
        "storage-testkit-{name}-{}-{port}.log",
        std::process::id()
    ))
}

fn read_log(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        format!("(no output in {})", path.display())
    } else {
        text.chars().take(2000).collect()
    }
}
