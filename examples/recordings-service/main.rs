//! The recordings service: a page that uploads files straight to blob storage.
//!
//! ```text
//! cargo run --example recordings-service            # local disk, http://127.0.0.1:3000
//! PORT=8080 BLOB_STORAGE_PROVIDER=memory cargo run --example recordings-service
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // The library reports through `tracing` (e.g. that local signed URLs use
    // a generated key); show those lines on stderr.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    let port = match std::env::var("PORT") {
        Ok(p) => match p.parse::<u16>() {
            Ok(p) => p,
            Err(_) => {
                eprintln!("error: PORT must be a port number, got `{p}`");
                return ExitCode::from(2);
            }
        },
        Err(_) => 3000,
    };
    let app = match examples::recordings_service::app_from_env() {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}; set PORT to a free port");
            return ExitCode::FAILURE;
        }
    };
    println!("recordings service on http://{addr}");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
