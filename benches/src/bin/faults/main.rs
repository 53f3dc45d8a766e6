//! `faults`: how often each operation succeeds through the fault-injecting
//! proxy, and how long a dead backend takes to fail, with the retry and
//! timeout policy a user gets when no `BLOB_STORAGE_*` variable is set.
//!
//! ```text
//! cargo run --release -p benches --bin faults -- [--trials N] [--only azure,vercel] [--markdown]
//! ```
//!
//! Each provider runs behind [`FaultProxy`](storage_testkit::fault_proxy)
//! with the testkit's 20% mix (`storage_testkit::data::twenty_percent_faults`:
//! resets before, during and after the request, 503/500/429 with
//! `Retry-After: 1`), on Azurite and on the Vercel emulator, both started
//! by the program. Every successful read is compared byte for byte with
//! what was written; a `Create` put that the backend saw twice counts as an
//! unsafe replay. Then every request hangs (`FaultPlan::hang_all`) and each
//! operation is timed until it fails; a refused connection is timed too.
//! `--markdown` writes `benches/FAULTS.md`.

mod dead;
#[path = "../compare/machine.rs"]
mod machine;
mod report;
mod rigs;
mod survey;

use std::process::ExitCode;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Trials per operation and size.
    pub trials: usize,
    /// Providers to run.
    pub only: Vec<String>,
    /// Write `benches/FAULTS.md`.
    pub markdown: bool,
}

const USAGE: &str = "usage: faults [--trials N] [--only azure,vercel] [--markdown]";

fn parse(argv: &[String]) -> Result<Options, String> {
    let mut options = Options {
        trials: 20,
        only: vec!["azure".into(), "vercel".into()],
        markdown: false,
    };
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--trials" => {
                options.trials = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--trials takes a positive number\n{USAGE}"))?;
            }
            "--only" => {
                let list = args
                    .next()
                    .ok_or_else(|| format!("--only takes a list\n{USAGE}"))?;
                options.only = list.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(bad) = options
                    .only
                    .iter()
                    .find(|p| !["azure", "vercel"].contains(&p.as_str()))
                {
                    return Err(format!("--only: `{bad}` is not azure or vercel\n{USAGE}"));
                }
            }
            "--markdown" => options.markdown = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&argv) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return if argv.iter().any(|a| a == "-h" || a == "--help") {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("faults: cannot build the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = if argv.is_empty() {
        "cargo run --release -p benches --bin faults".to_string()
    } else {
        format!(
            "cargo run --release -p benches --bin faults -- {}",
            argv.join(" ")
        )
    };
    let report = runtime.block_on(report::run(&options, command));
    print!("{}", report.text());
    let mut failed = !report.failures.is_empty();
    if options.markdown {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("FAULTS.md");
        match std::fs::write(&path, report.markdown()) {
            Ok(()) => println!("\nwrote {}", path.display()),
            Err(e) => {
                eprintln!("faults: cannot write {}: {e}", path.display());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
