//! `blobctl serve local` (the local store's signed-URL router) and
//! `blobctl serve vercel-emulator` (the project's Vercel Blob emulator).
//! Both print where they listen (the real address, so `--addr :0` works in
//! scripts) and run until Ctrl-C.

use serde_json::json;
use storage_local::{http, LocalConfig, LocalStore};
use vercel_blob_emulator::{Emulator, StorageConfig};

use crate::cli::ServeCommand;
use crate::exit::{CliError, CliResult};

use super::Ctx;

/// Runs `serve`.
pub async fn run(ctx: Ctx, target: ServeCommand) -> CliResult {
    match target {
        ServeCommand::Local { addr, dir } => local(ctx, &addr, dir).await,
        ServeCommand::VercelEmulator { addr, dir, token } => {
            vercel_emulator(ctx, addr, dir, token).await
        }
    }
}

async fn local(ctx: Ctx, addr: &str, dir: Option<std::path::PathBuf>) -> CliResult {
    let mut config = LocalConfig::from_env()?;
    if let Some(dir) = dir {
        config.root = dir;
    }
    let mount = mount_path(&config.base_url);
    let store = LocalStore::new(config)?;
    let root = store.root().display().to_string();
    let router = http::router_with(store, http::RouterOptions::new());
    // axum cannot nest at `/`; an empty mount path serves at the root.
    let app = if mount.is_empty() {
        router
    } else {
        axum::Router::new().nest(&mount, router)
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::failed(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError::failed(format!("cannot read the bound address: {e}")))?;
    let url = format!("http://{bound}{mount}");
    ctx.out.emit(
        json!({ "addr": bound.to_string(), "url": url, "root": root }),
        || format!("serving local store {root} at {url} (Ctrl-C to stop)"),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| CliError::failed(format!("the server stopped: {e}")))
}

/// The path part of `LOCAL_STORAGE_BASE_URL` (`https://app/blobs` → `/blobs`).
fn mount_path(base_url: &str) -> String {
    let path = match base_url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => base_url,
    };
    path.trim_end_matches('/').to_string()
}

async fn vercel_emulator(
    ctx: Ctx,
    addr: String,
    dir: Option<std::path::PathBuf>,
    token: Option<String>,
) -> CliResult {
    let mut builder = Emulator::builder().bind(addr);
    if let Some(token) = token {
        builder = builder.token(token);
    }
    if let Some(dir) = dir {
        builder = builder.storage(StorageConfig::Directory(dir));
    }
    let emulator = builder
        .start()
        .await
        .map_err(|e| CliError::failed(format!("cannot start the emulator: {e}")))?;
    // Printing the emulator's token is the point: it is a local test token
    // the user must export, not a secret of a real store.
    let token = emulator.rw_token().expose().to_string();
    // The adapter reads blobs under `<host>/<access>`; private is its default.
    let host = format!("{}/private", emulator.blob_host_url());
    ctx.out.emit(
        json!({
            "addr": emulator.addr().to_string(),
            "VERCEL_BLOB_API_URL": emulator.api_url(),
            "VERCEL_BLOB_HOST_URL": host,
            "BLOB_READ_WRITE_TOKEN": token,
        }),
        || {
            format!(
                "export BLOB_STORAGE_PROVIDER=vercel\nexport VERCEL_BLOB_API_URL={}\n\
                 export VERCEL_BLOB_HOST_URL={host}\nexport BLOB_READ_WRITE_TOKEN={token}\n\
                 # Ctrl-C to stop",
                emulator.api_url(),
            )
        },
    );
    let _ = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::mount_path;

    #[test]
    fn mount_path_is_the_path_of_the_base_url() {
        assert_eq!(mount_path("/blobs"), "/blobs");
        assert_eq!(
            mount_path("https://app.example/files/blobs"),
            "/files/blobs"
        );
        assert_eq!(mount_path("http://127.0.0.1:8787"), "");
    }
}
