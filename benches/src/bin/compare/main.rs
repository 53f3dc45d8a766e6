//! `compare`: each of our adapters against its raw ceiling and its peers,
//! in one run.
//!
//! ```text
//! cargo run --release -p benches --bin compare -- [--rounds N] [--only local,azure,vercel,sign,rss] [--contender NAME] [--quick] [--markdown]
//! ```
//!
//! - **local**: `LocalStore` against `std::fs` in `spawn_blocking` (temp
//!   file + rename), object_store's `LocalFileSystem` and OpenDAL's `fs`,
//!   with fsync on for all, then off for all.
//! - **azure**: `AzureStore` against reqwest with an account SAS,
//!   object_store's `MicrosoftAzure` and OpenDAL's `azblob`, on an Azurite
//!   started for the run.
//! - **vercel**: `VercelStore` against the official `@vercel/blob` SDK
//!   (`benches/js/`), on one emulator in a child process.
//! - **sign**: signed URLs per second per core.
//! - **rss**: peak memory of a 1 GiB streamed put and get per adapter.
//!
//! Rows are put and get of 1 KiB (×500, 16 at once), 1 MiB (×100, 8 at
//! once) and 16 MiB (×8, 4 at once), and a listing of 10,000 keys. Each
//! round runs every contender once, in an order rotated every round, so
//! whatever else loads the machine falls on all of them alike; the table
//! gives the median round, the spread and ours divided by each other.
//! A contender whose durability or protocol differs from ours says so in
//! its note. `--markdown` also writes `benches/RESULTS.md`.

mod args;
mod azure;
mod js_sdk;
mod local;
mod machine;
mod measure;
mod report;
mod rss;
mod signing;
mod vercel;

use std::future::Future;
use std::process::ExitCode;
use std::time::Instant;

use crate::measure::{Fallible, Row};
use crate::report::{Report, Section};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match argv.first().map(String::as_str) {
        Some(rss::SUBCOMMAND) => return rss::child_main(&argv[1..]),
        Some(vercel::EMULATOR_SUBCOMMAND) => return vercel::emulator_main(),
        _ => {}
    }
    let options = match args::parse(&argv) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            let asked_for_help = argv.iter().any(|a| a == "-h" || a == "--help");
            return if asked_for_help {
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
            eprintln!("compare: cannot build the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = format!(
        "cargo run --release -p benches --bin compare{}",
        if argv.is_empty() {
            String::new()
        } else {
            format!(" -- {}", argv.join(" "))
        }
    );
    let report = runtime.block_on(run(&options, command));
    print!("{}", report::text(&report));
    let mut failed = report.sections.iter().any(|s| s.failure.is_some())
        || report.rss_failure.is_some()
        || report
            .rss
            .as_ref()
            .is_some_and(|(lines, _)| lines.iter().any(|l| l.error.is_some()));
    if options.markdown {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md");
        match std::fs::write(&path, report::markdown(&report)) {
            Ok(()) => println!("\nwrote {}", path.display()),
            Err(e) => {
                eprintln!("compare: cannot write {}: {e}", path.display());
                failed = true;
            }
        }
    }
    if failed {
        eprintln!("compare: some measurements failed; see FAILED above");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs one section, turning its failure into the section's verdict rather
/// than ending the run.
async fn section<F>(name: &str, work: F) -> Section
where
    F: Future<Output = Fallible<(Vec<Row>, Vec<String>)>>,
{
    eprintln!("\n[{name}]");
    match work.await {
        Ok((rows, notes)) => Section {
            name: name.to_string(),
            rows,
            notes,
            failure: None,
        },
        Err(why) => {
            eprintln!("  {name} FAILED: {why}");
            Section {
                name: name.to_string(),
                failure: Some(why),
                ..Section::default()
            }
        }
    }
}

async fn run(options: &args::Options, command: String) -> Report {
    let started = Instant::now();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let load_start = machine::load_average();
    // OpenDAL's HTTP services find their transport here; its own default
    // transport is a feature that would pull in TLS via aws-lc.
    opendal::HttpTransporter::install_default(
        opendal_http_transport_reqwest::ReqwestTransport::default(),
    );
    if let Some(text) = &options.contender {
        measure::only_contenders(text.clone());
    }
    let (rounds, quick) = (options.rounds, options.quick);
    let mut sections = Vec::new();
    if options.runs("local") {
        sections.push(section("local", local::run(rounds, quick)).await);
    }
    if options.runs("azure") {
        sections.push(section("azure (Azurite)", azure::run(rounds, quick)).await);
    }
    if options.runs("vercel") {
        sections.push(section("vercel (emulator)", vercel::run(rounds, quick)).await);
    }
    if options.runs("sign") {
        sections.push(section("signing", signing::run(rounds)).await);
    }
    let (mut rss, mut rss_failure, mut rss_notes) = (None, None, Vec::new());
    if options.runs("rss") {
        eprintln!("\n[rss]");
        match rss::run(quick).await {
            Ok((lines, mib, notes)) => {
                rss = Some((lines, mib));
                rss_notes = notes;
            }
            Err(why) => rss_failure = Some(why),
        }
    }
    Report {
        sections,
        rss,
        rss_failure,
        rss_notes,
        machine: machine::Machine::describe(),
        load: (load_start, machine::load_average()),
        date,
        took: started.elapsed(),
        command,
        commit: machine::commit(),
        rounds,
        quick,
    }
}
