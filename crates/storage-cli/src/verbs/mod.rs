//! One file per verb; [`run`] dispatches the parsed command line.

mod cp;
mod get;
mod infra;
mod ls;
mod put;
mod rm;
mod serve;
mod sign;
mod stat;
mod sync;

use crate::cli::{Cli, Command};
use crate::exit::CliResult;
use crate::output::Output;
use crate::progress::Progress;

/// What every verb needs besides its own arguments.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Human or JSON output.
    pub out: Output,
    /// Progress bars, or hidden ones.
    pub progress: Progress,
}

/// Runs the verb `cli` names.
pub async fn run(cli: Cli) -> CliResult {
    let ctx = Ctx {
        out: Output::new(cli.json),
        // JSON output is for scripts: no bars even on a terminal.
        progress: Progress::new(cli.quiet || cli.json),
    };
    match cli.command {
        Command::Put(args) => put::run(ctx, args).await,
        Command::Get(args) => get::run(ctx, args).await,
        Command::Stat(args) => stat::run(ctx, args).await,
        Command::Ls(args) => ls::run(ctx, args).await,
        Command::Rm(args) => rm::run(ctx, args).await,
        Command::Sign(args) => sign::run(ctx, args).await,
        Command::Cp(args) => cp::run(ctx, args).await,
        Command::Sync(args) => sync::run(ctx, args).await,
        Command::Serve(target) => serve::run(ctx, target).await,
        Command::Infra(mut command) => {
            command.json |= cli.json;
            infra::run(command).await
        }
    }
}
