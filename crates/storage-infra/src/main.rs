//! `storage-infra`: the provisioning verbs on their own; the same code is
//! mounted as `blobctl infra` (see [`storage_infra::cli`]).

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cmd = match storage_infra::cli::InfraCommand::try_parse() {
        Ok(cmd) => cmd,
        Err(e) => {
            let _ = e.print();
            // clap exits 0 for --help/--version and 2 for usage errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    storage_infra::cli::run(cmd).await
}
