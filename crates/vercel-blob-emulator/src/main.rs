//! `vercel-blob-emulator`: run the emulator from a shell.

use std::path::PathBuf;
use std::process::ExitCode;

use vercel_blob_emulator::{Emulator, StorageConfig};

const USAGE: &str = "usage: vercel-blob-emulator [--addr HOST:PORT] [--dir PATH] [--token vercel_blob_rw_<store>_<secret>]";

struct Args {
    addr: String,
    dir: Option<PathBuf>,
    token: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:3999".to_owned(),
        dir: None,
        token: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--addr" => args.addr = value("--addr")?,
            "--dir" => args.dir = Some(PathBuf::from(value("--dir")?)),
            "--token" => args.token = Some(value("--token")?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("{msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut builder = Emulator::builder().bind(args.addr);
    if let Some(token) = args.token {
        builder = builder.token(token);
    }
    if let Some(dir) = args.dir {
        builder = builder.storage(StorageConfig::Directory(dir));
    }
    let emulator = match builder.start().await {
        Ok(e) => e,
        Err(err) => {
            eprintln!("vercel-blob-emulator: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Printing the token is the point of this command: the user must export it.
    println!("export VERCEL_BLOB_API_URL={}", emulator.api_url());
    println!(
        "export BLOB_READ_WRITE_TOKEN={}",
        emulator.rw_token().expose()
    );
    println!(
        "# blobs are served under {}/<public|private>/<pathname>; Ctrl-C to stop",
        emulator.blob_host_url()
    );
    if let Err(err) = tokio::signal::ctrl_c().await {
        eprintln!("cannot wait for Ctrl-C: {err}");
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}
