//! `blobctl infra`: the provisioning verbs of `storage-infra`, mounted here so
//! operators have one tool.

use std::io::{BufRead, Write};

use storage_infra::cli::{execute, InfraCommand};

use crate::exit::{CliError, CliResult};

/// Runs one provisioning verb with the process environment and terminal.
pub async fn run(command: InfraCommand) -> CliResult {
    let outcome = execute(command, &|var| std::env::var(var).ok(), &mut |prompt| {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        Some(line)
    })
    .await;
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    match outcome.code {
        0 => Ok(()),
        code => Err(CliError::already_reported(code)),
    }
}
