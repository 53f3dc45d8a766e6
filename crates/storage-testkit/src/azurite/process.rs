//! Starting `azurite-blob` on a free loopback port, under the watchdog of
//! [`server_process`](crate::server_process) so that it can never outlive
//! the test process.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use crate::server_process::{ServerCommand, ServerProcess};

/// Starts `bin` (`azurite-blob`) and waits until it answers as Azurite.
pub(crate) fn start(bin: &Path) -> Result<ServerProcess, String> {
    let args = |port: u16| {
        [
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ]
        .map(String::from)
        .to_vec()
    };
    crate::server_process::start(&ServerCommand {
        name: "Azurite",
        program: bin,
        args: &args,
        env: Vec::new(),
        ready: &is_azurite,
        start_timeout: Duration::from_secs(60),
    })
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
