//! Runs the survey and the dead-backend timings, and prints them as text
//! or as `benches/FAULTS.md`.

use std::fmt::Write as _;
use std::time::Instant;

use storage::retry::RetryPolicy;
use storage_testkit::data::twenty_percent_faults;

use crate::dead::{self, Death};
use crate::machine::{self, Machine};
use crate::rigs;
use crate::survey::{self, Tally};
use crate::Options;

/// Everything one run measured.
pub struct Report {
    command: String,
    date: String,
    machine: Machine,
    commit: Option<String>,
    load: (String, String),
    minutes: f64,
    policy: RetryPolicy,
    tallies: Vec<(&'static str, Vec<Tally>)>,
    deaths: Vec<Death>,
    /// What could not be measured, or missed the target: a retryable
    /// operation below 100%, a corrupt read, an unsafe replay.
    pub failures: Vec<String>,
}

/// Runs what `options` asks for.
pub async fn run(options: &Options, command: String) -> Report {
    let started = Instant::now();
    let policy = RetryPolicy::default();
    let mut report = Report {
        command,
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        machine: Machine::describe(),
        commit: machine::commit(),
        load: (machine::load_average(), String::new()),
        minutes: 0.0,
        policy: policy.clone(),
        tallies: Vec::new(),
        deaths: Vec::new(),
        failures: Vec::new(),
    };
    for provider in &options.only {
        eprintln!("[{provider}] 20% fault mix, {} trials", options.trials);
        let rig = match provider.as_str() {
            "azure" => rigs::azure(twenty_percent_faults(0x00fa_17a2), policy.clone()).await,
            _ => rigs::vercel(|i| twenty_percent_faults(0x00fa_17e0 + i), policy.clone()).await,
        };
        match rig {
            Ok(rig) => {
                let tallies = survey::run(&rig, options.trials).await;
                for t in &tallies {
                    eprintln!("  {:<40} {}/{}", t.operation, t.succeeded, t.trials);
                }
                report.tallies.push((rig.name, tallies));
            }
            Err(why) => report.failures.push(format!("{provider}: {why}")),
        }
        eprintln!("[{provider}] dead backends");
        match dead::run(provider).await {
            Ok(deaths) => report.deaths.extend(deaths),
            Err(why) => report
                .failures
                .push(format!("{provider} dead backend: {why}")),
        }
    }
    for (provider, tallies) in &report.tallies {
        for t in tallies {
            let what = format!("{provider} {}", t.operation);
            if t.retryable && t.succeeded < t.trials {
                report.failures.push(format!(
                    "{what}: {} of {} succeeded; first failure: {}",
                    t.succeeded,
                    t.trials,
                    t.first_failure.as_deref().unwrap_or("?")
                ));
            }
            if t.corrupt > 0 {
                report
                    .failures
                    .push(format!("{what}: {} reads differed", t.corrupt));
            }
            if t.unsafe_replays > 0 {
                report
                    .failures
                    .push(format!("{what}: {} unsafe replays", t.unsafe_replays));
            }
        }
    }
    for d in &report.deaths {
        if d.kind == "succeeded" {
            report.failures.push(format!(
                "{} {} on a backend that {}: succeeded",
                d.provider, d.operation, d.backend
            ));
        }
    }
    report.load.1 = machine::load_average();
    report.minutes = started.elapsed().as_secs_f64() / 60.0;
    report
}

fn percent(t: &Tally) -> String {
    format!(
        "{:.0}%",
        100.0 * t.succeeded as f64 / t.trials.max(1) as f64
    )
}

impl Report {
    /// A plain-text summary for the terminal.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (provider, tallies) in &self.tallies {
            let _ = writeln!(out, "\n{provider}, 20% fault mix");
            for t in tallies {
                let _ = writeln!(
                    out,
                    "  {:<40} {:>3}/{:<3} {:>5}  corrupt {}  unsafe replays {}  slowest {:.1}s",
                    t.operation,
                    t.succeeded,
                    t.trials,
                    percent(t),
                    t.corrupt,
                    t.unsafe_replays,
                    t.slowest.as_secs_f64()
                );
            }
        }
        let _ = writeln!(out, "\ndead backends (default policy)");
        for d in &self.deaths {
            let _ = writeln!(
                out,
                "  {:<7} {:<21} {:<10} {:>5.1}s  {}",
                d.provider,
                d.backend,
                d.operation,
                d.elapsed.as_secs_f64(),
                d.kind
            );
        }
        for f in &self.failures {
            let _ = writeln!(out, "FAILED: {f}");
        }
        out
    }

    /// `benches/FAULTS.md`.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let p = &self.policy;
        let _ = writeln!(out, "# Fault survey\n");
        let _ = writeln!(
            out,
            "Written by `{}` on {}, commit {}, in {:.1} min.\n",
            self.command,
            self.date,
            self.commit.as_deref().unwrap_or("unknown"),
            self.minutes
        );
        let _ = writeln!(
            out,
            "Machine: {}, {} cores, {:.0} GiB, Linux {}; load {} at the start, {} at the end.\n",
            self.machine.cpu,
            self.machine.cores,
            self.machine.memory_gib,
            self.machine.kernel,
            self.load.0,
            self.load.1
        );
        let _ = writeln!(
            out,
            "Policy: the default, as `from_env()` builds it with no `BLOB_STORAGE_*` variable set: \
             {} retries from {:?} (capped at {:?}, full jitter, or `Retry-After`), connect timeout \
             {:?}, attempt timeout {:?}, deadline {:?}.\n",
            p.max_retries, p.base_delay, p.max_delay, p.connect_timeout, p.attempt_timeout, p.deadline
        );
        let _ = writeln!(
            out,
            "Faults: `storage_testkit::data::twenty_percent_faults` on every request through the \
             proxy (Azurite: one proxy; the Vercel emulator: one before the API, one before the \
             blob host): 4% reset before the answer, 4% reset in the middle of the answer, 3% reset \
             in the middle of the request, 3% each of 503, 500 and 429 with `Retry-After: 1`. A \
             read counts as a success only when its bytes equal what was written; a write only \
             when a direct read finds it.\n"
        );
        for (provider, tallies) in &self.tallies {
            let _ = writeln!(out, "## {provider}\n");
            let _ = writeln!(
                out,
                "| operation | succeeded | rate | corrupt reads | unsafe replays | slowest |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|");
            for t in tallies {
                let _ = writeln!(
                    out,
                    "| {} | {}/{} | {} | {} | {} | {:.1} s |",
                    t.operation,
                    t.succeeded,
                    t.trials,
                    percent(t),
                    t.corrupt,
                    t.unsafe_replays,
                    t.slowest.as_secs_f64()
                );
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "## Dead backends\n");
        let _ = writeln!(
            out,
            "| provider | backend | operation | failed after | kind | message |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for d in &self.deaths {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1} s | `{}` | {} |",
                d.provider,
                d.backend,
                d.operation,
                d.elapsed.as_secs_f64(),
                d.kind,
                d.message.replace('|', "\\|").replace('\n', " ")
            );
        }
        if !self.failures.is_empty() {
            let _ = writeln!(out, "\n## Misses\n");
            for f in &self.failures {
                let _ = writeln!(out, "- {f}");
            }
        }
        out
    }
}
