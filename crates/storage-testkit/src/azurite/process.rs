//! Starting `azurite-blob` on a free loopback port so that it can never
//! outlive the test process.
//!
//! Azurite runs under a tiny `sh` watchdog that holds the read end of a
//! pipe whose write end only this process has. When this process ends, in
//! any way (including `SIGKILL` or a panic that aborts), the kernel closes
//! the pipe, the watchdog's `read` returns, and it kills Azurite. Rust never
//! runs destructors of statics, so a drop guard alone would leave orphans.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Azurite may take to answer after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(60);

const WATCHDOG: &str = r#""$0" "$@" </dev/null & pid=$!
read -r _
kill "$pid" 2>/dev/null
wait "$pid""#;

/// A running Azurite; its watchdog stops it when this process exits.
pub(crate) struct Process {
    pub port: u16,
    // Held for the life of the process: closing it is the stop signal.
    _watchdog: Child,
    _stop: ChildStdin,
}

/// Starts `bin` (`azurite-blob`) and waits until it answers as Azurite.
pub(crate) fn start(bin: &Path) -> Result<Process, String> {
    let mut last_error = String::new();
    // A free port can be taken by someone else before Azurite binds it; try a few.
    for _ in 0..3 {
        match start_once(bin) {
            Ok(p) => return Ok(p),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

fn start_once(bin: &Path) -> Result<Process, String> {
    let port = free_port()?;
    let log_path = std::env::temp_dir().join(format!(
        "storage-testkit-azurite-{}-{port}.log",
        std::process::id()
    ));
    let log = File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let port_text = port.to_string();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg(bin)
        .args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port_text,
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ])
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .spawn()
        .map_err(|e| format!("cannot start {} under sh: {e}", bin.display()))?;
    let Some(stop) = child.stdin.take() else {
        return Err("the Azurite watchdog has no stdin pipe".into());
    };
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if is_azurite(port) {
            return Ok(Process {
                port,
                _watchdog: child,
                _stop: stop,
            });
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "Azurite exited ({status}) before answering: {}",
                read_log(&log_path)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Closing the pipe makes the watchdog stop Azurite.
    drop(stop);
    let _ = child.wait();
    Err(format!(
        "Azurite did not answer on 127.0.0.1:{port} within {START_TIMEOUT:?}: {}",
        read_log(&log_path)
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

/// Whether the server on `port` is Azurite (and not whatever else may have
/// grabbed the port): it names itself in the `Server` header.
pub(crate) fn is_azurite(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut conn) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /devstoreaccount1?comp=list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if conn.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = conn.take(64 * 1024).read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .to_ascii_lowercase()
        .contains("server: azurite")
}
