//! `blobctl infra`: the provisioning verbs of `storage-infra`, mounted here so
//! operators have one tool.

use storage_infra::cli::{run_in_terminal, InfraCommand};

use crate::exit::{CliError, CliResult};

/// Runs one provisioning verb with the process environment and terminal;
/// storage-infra prints its own report, which can span lines.
pub async fn run(command: InfraCommand) -> CliResult {
    match run_in_terminal(command).await {
        0 => Ok(()),
        code => Err(CliError::already_reported(code)),
    }
}
