//! `blobctl`: put, get, list, copy, sync, sign and serve blobs on any store
//! the `storage` library supports. This file only wires the parsed command
//! line to a verb and the verb's outcome to an exit code (see [`exit`]).

mod cli;
mod exit;
mod location;
mod logging;
mod output;
mod progress;
mod transfer;
mod verbs;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap exits by itself: 0 for --help/--version, 2 for usage errors.
    let cli = cli::Cli::parse();
    logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return exit::CliError::failed(format!("cannot start the runtime: {e}")).report(),
    };
    match runtime.block_on(verbs::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => err.report(),
    }
}
