//! Turning measurements into the printed table, the target verdicts and
//! `benches/RESULTS.md`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::machine::Machine;
use crate::measure::{Op, Role, Row, Series};
use crate::rss::RssLine;

/// The rows of one section (`local`, `azure` …) and what to know about them.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// The section's name.
    pub name: String,
    /// Its rows, in the order they ran.
    pub rows: Vec<Row>,
    /// Facts about the setup, printed under the table.
    pub notes: Vec<String>,
    /// Why the section could not run, if it could not.
    pub failure: Option<String>,
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Report {
    /// Sections in the order they ran.
    pub sections: Vec<Section>,
    /// The memory measurements, and the size of their blob in MiB.
    pub rss: Option<(Vec<RssLine>, u64)>,
    /// Why the memory measurements could not run, if they could not.
    pub rss_failure: Option<String>,
    /// Notes about the memory measurements.
    pub rss_notes: Vec<String>,
    /// The machine.
    pub machine: Machine,
    /// Load averages when the run started and ended.
    pub load: (String, String),
    /// When the run started (UTC).
    pub date: String,
    /// How long the run took.
    pub took: Duration,
    /// The command, as typed.
    pub command: String,
    /// The commit measured, if known.
    pub commit: Option<String>,
    /// Rounds per row.
    pub rounds: usize,
    /// Whether this was a `--quick` run.
    pub quick: bool,
}

/// What the CPU column counts, for both reports' legends.
const CPU_LEGEND: &str = "the CPU time of this program (every thread, user and kernel) per \
     blob, key or URL in the median round. Azurite, the Vercel emulator and the JS SDK run \
     in processes of their own, so on those rows it is the client's own cost; on local rows \
     it includes the kernel's filesystem work";

/// One series reduced to what the table shows.
#[derive(Debug, Clone, Copy)]
struct Stats {
    /// The median of the rounds' durations.
    median: Duration,
    /// Units per second at the median.
    rate: f64,
    /// The slowest and fastest rounds' rates.
    min_rate: f64,
    max_rate: f64,
}

/// Units per second of one round that took `d`.
fn rate_of(row: &Row, d: Duration) -> f64 {
    let per_round = match row.op {
        Op::Put | Op::Get if row.size >= 1 << 20 => {
            (row.items * row.size) as f64 / f64::from(1 << 20)
        }
        _ => row.items as f64,
    };
    per_round / d.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// What [`rate_of`] counts.
fn unit(row: &Row) -> &'static str {
    match row.op {
        Op::Put | Op::Get if row.size >= 1 << 20 => "MiB/s",
        Op::Put | Op::Get => "ops/s",
        Op::List => "keys/s",
        Op::Sign => "URLs/s",
    }
}

fn stats(row: &Row, series: &Series) -> Option<Stats> {
    let mut samples = series.samples.clone();
    if samples.is_empty() {
        return None;
    }
    samples.sort();
    let n = samples.len();
    let median = if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    };
    Some(Stats {
        median,
        rate: rate_of(row, median),
        min_rate: rate_of(row, samples[n - 1]),
        max_rate: rate_of(row, samples[0]),
    })
}

/// This process's CPU time per blob, key or URL in the median round, when
/// it was measured.
fn cpu_per_item(row: &Row, series: &Series) -> Option<Duration> {
    let mut cpu = series.cpu.clone();
    if cpu.is_empty() {
        return None;
    }
    cpu.sort();
    let n = cpu.len();
    let median = if n % 2 == 1 {
        cpu[n / 2]
    } else {
        (cpu[n / 2 - 1] + cpu[n / 2]) / 2
    };
    Some(median / u32::try_from(row.items.max(1)).unwrap_or(u32::MAX))
}

fn number(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 10_000.0 {
        format!("{:.0}k", x / 1000.0)
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else if s >= 1e-6 {
        format!("{:.2} µs", s * 1e6)
    } else {
        format!("{:.0} ns", s * 1e9)
    }
}

/// Our series' median rate in `row`, if ours completed.
fn ours_rate(row: &Row) -> Option<f64> {
    row.series
        .iter()
        .find(|s| s.role == Role::Ours)
        .and_then(|s| stats(row, s))
        .map(|s| s.rate)
}

/// One formatted line of the table.
struct Line {
    contender: String,
    median: String,
    rate: String,
    spread: String,
    ratio: String,
    cpu: String,
    caveat: String,
}

fn lines(row: &Row) -> Vec<Line> {
    let ours = ours_rate(row);
    row.series
        .iter()
        .map(|s| {
            let caveat = s.caveat.clone().unwrap_or_default();
            match (stats(row, s), &s.error) {
                (Some(st), None) => Line {
                    contender: s.label.clone(),
                    median: if row.op == Op::Sign {
                        format!("{} / URL", duration(st.median))
                    } else {
                        duration(st.median)
                    },
                    rate: format!("{} {}", number(st.rate), unit(row)),
                    spread: format!("{}–{}", number(st.min_rate), number(st.max_rate)),
                    ratio: match (s.role, ours) {
                        (Role::Ours, _) => "—".into(),
                        (_, Some(ours)) => format!("{:.2}", ours / st.rate),
                        (_, None) => "n/a".into(),
                    },
                    cpu: cpu_per_item(row, s).map(duration).unwrap_or_default(),
                    caveat,
                },
                (_, error) => Line {
                    contender: s.label.clone(),
                    median: "FAILED".into(),
                    rate: String::new(),
                    spread: String::new(),
                    ratio: "n/a".into(),
                    cpu: String::new(),
                    caveat: error.clone().unwrap_or_else(|| "no round completed".into()),
                },
            }
        })
        .collect()
}

/// A target ours was held to in one row, and how it came out.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The row's title.
    pub row: String,
    /// The role ours was compared with.
    pub against: Role,
    /// Ours' rate divided by theirs.
    pub ratio: f64,
    /// The least acceptable ratio.
    pub target: f64,
}

impl Verdict {
    /// Whether ours reached the target.
    pub fn met(&self) -> bool {
        self.ratio >= self.target
    }
}

/// The targets: ≥ 0.9× the ceiling for 1 KiB blobs and ≥ 0.95× for 1 MiB
/// and 16 MiB, and ≥ 1.0× object_store and OpenDAL in every row they are in.
fn target(row: &Row, against: Role) -> Option<f64> {
    match (row.op, against) {
        (Op::Put | Op::Get, Role::Ceiling) if row.size < 1 << 20 => Some(0.9),
        (Op::Put | Op::Get, Role::Ceiling) => Some(0.95),
        (_, Role::ObjectStore | Role::OpenDal) => Some(1.0),
        _ => None,
    }
}

/// Every target verdict of `sections`.
pub fn verdicts(sections: &[Section]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for row in sections.iter().flat_map(|s| &s.rows) {
        let Some(ours) = ours_rate(row) else { continue };
        for s in &row.series {
            let (Some(target), Some(st)) = (target(row, s.role), stats(row, s)) else {
                continue;
            };
            out.push(Verdict {
                row: row.title.clone(),
                against: s.role,
                ratio: ours / st.rate,
                target,
            });
        }
    }
    out
}

/// The report as plain text, for the terminal.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nResults: median over {} rounds; spread is the slowest–fastest round; \
         \"ours ÷\" is our median rate divided by the contender's (above 1: ours is faster); \
         CPU/item is {CPU_LEGEND}.",
        report.rounds
    );
    for section in &report.sections {
        let _ = writeln!(out, "\n== {} ==", section.name);
        if let Some(why) = &section.failure {
            let _ = writeln!(out, "  FAILED: {why}");
        }
        for row in &section.rows {
            let _ = writeln!(out, "\n  {}", row.title);
            let _ = writeln!(
                out,
                "    {:<52} {:>16} {:>16} {:>19} {:>7} {:>10}  note",
                "contender", "median", "rate", "spread (min–max)", "ours ÷", "CPU/item"
            );
            for l in lines(row) {
                let _ = writeln!(
                    out,
                    "    {:<52} {:>16} {:>16} {:>19} {:>7} {:>10}  {}",
                    l.contender, l.median, l.rate, l.spread, l.ratio, l.cpu, l.caveat
                );
            }
        }
        for note in &section.notes {
            let _ = writeln!(out, "  note: {note}");
        }
    }
    if let Some(why) = &report.rss_failure {
        let _ = writeln!(out, "\n== peak RSS ==\n  FAILED: {why}");
    }
    if let Some((rss, mib)) = &report.rss {
        let _ = writeln!(out, "\n== peak RSS, {mib} MiB streamed ==");
        let _ = writeln!(
            out,
            "    {:<8} {:<4} {:>16} {:>16} {:>10} {:>12}",
            "adapter", "op", "peak (VmHWM)", "before op", "time", "MiB/s"
        );
        for l in rss {
            match &l.error {
                None => {
                    let _ = writeln!(
                        out,
                        "    {:<8} {:<4} {:>12.1} MiB {:>12.1} MiB {:>10} {:>12}",
                        l.adapter,
                        l.op,
                        l.peak_kib as f64 / 1024.0,
                        l.before_kib as f64 / 1024.0,
                        duration(l.took),
                        number(l.bytes as f64 / f64::from(1 << 20) / l.took.as_secs_f64())
                    );
                }
                Some(why) => {
                    let _ = writeln!(out, "    {:<8} {:<4} FAILED: {why}", l.adapter, l.op);
                }
            }
        }
        for note in &report.rss_notes {
            let _ = writeln!(out, "  note: {note}");
        }
    }
    let verdicts = verdicts(&report.sections);
    let missed: Vec<&Verdict> = verdicts.iter().filter(|v| !v.met()).collect();
    let _ = writeln!(
        out,
        "\n== targets: {} met, {} missed ==",
        verdicts.len() - missed.len(),
        missed.len()
    );
    for v in &missed {
        let _ = writeln!(
            out,
            "  MISS  {}: ours ÷ {} = {:.3} (target ≥ {:.2})",
            v.row,
            v.against.short(),
            v.ratio,
            v.target
        );
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The report as `benches/RESULTS.md`.
pub fn markdown(report: &Report) -> String {
    let m = &report.machine;
    let mut out = String::new();
    let _ = writeln!(out, "# Comparison results\n");
    let _ = writeln!(
        out,
        "Written by `benches/src/bin/compare` (see its module docs for what each contender \
         does). Regenerate with the command below; numbers from a shared, loaded machine are \
         only comparable within one run, which is why every round runs every contender.\n"
    );
    let _ = writeln!(out, "- Command: `{}`", report.command);
    let _ = writeln!(
        out,
        "- Date: {} (took {:.0} min)",
        report.date,
        report.took.as_secs_f64() / 60.0
    );
    if let Some(commit) = &report.commit {
        let _ = writeln!(out, "- Commit measured: `{commit}`");
    }
    let _ = writeln!(
        out,
        "- Machine: {}, {} logical CPUs, {:.1} GiB memory, Linux {}",
        m.cpu, m.cores, m.memory_gib, m.kernel
    );
    let _ = writeln!(
        out,
        "- Load average (1/5/15 min): {} at start, {} at end",
        report.load.0, report.load.1
    );
    let _ = writeln!(
        out,
        "- Rounds: {}{}; each value is the median round, the spread the slowest–fastest round. \
         \"Ours ÷\" is our median rate divided by the contender's: above 1, ours is faster. \
         CPU / item is {CPU_LEGEND}.\n",
        report.rounds,
        if report.quick {
            " (--quick: fewer, smaller blobs)"
        } else {
            ""
        }
    );
    for section in &report.sections {
        let _ = writeln!(out, "## {}\n", section.name);
        if let Some(why) = &section.failure {
            let _ = writeln!(out, "**FAILED:** {}\n", cell(why));
        }
        if !section.rows.is_empty() {
            let _ = writeln!(
                out,
                "| Row | Contender | Median | Rate | Spread (min–max rate) | Ours ÷ | CPU / item | Note |"
            );
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---|");
            for row in &section.rows {
                for (i, l) in lines(row).into_iter().enumerate() {
                    let title = if i == 0 {
                        cell(&row.title)
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        out,
                        "| {title} | {} | {} | {} | {} | {} | {} | {} |",
                        cell(&l.contender),
                        l.median,
                        l.rate,
                        l.spread,
                        l.ratio,
                        l.cpu,
                        cell(&l.caveat)
                    );
                }
            }
            let _ = writeln!(out);
        }
        for note in &section.notes {
            let _ = writeln!(out, "- {note}");
        }
        let _ = writeln!(out);
    }
    if let Some(why) = &report.rss_failure {
        let _ = writeln!(out, "## Peak RSS\n\n**FAILED:** {}\n", cell(why));
    }
    if let Some((rss, mib)) = &report.rss {
        let _ = writeln!(out, "## Peak RSS, {mib} MiB streamed\n");
        let _ = writeln!(
            out,
            "| Adapter | Op | Peak RSS (VmHWM) | Before the op | Time | MiB/s |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
        for l in rss {
            match &l.error {
                None => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {:.1} MiB | {:.1} MiB | {} | {} |",
                        l.adapter,
                        l.op,
                        l.peak_kib as f64 / 1024.0,
                        l.before_kib as f64 / 1024.0,
                        duration(l.took),
                        number(l.bytes as f64 / f64::from(1 << 20) / l.took.as_secs_f64())
                    );
                }
                Some(why) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | FAILED: {} | | | |",
                        l.adapter,
                        l.op,
                        cell(why)
                    );
                }
            }
        }
        let _ = writeln!(out);
        for note in &report.rss_notes {
            let _ = writeln!(out, "- {note}");
        }
        let _ = writeln!(out);
    }
    let verdicts = verdicts(&report.sections);
    let missed: Vec<&Verdict> = verdicts.iter().filter(|v| !v.met()).collect();
    let _ = writeln!(
        out,
        "## Targets\n\nOurs ≥ 0.9× the raw ceiling at 1 KiB and ≥ 0.95× at 1 MiB and 16 MiB; \
         ≥ 1.0× object_store and OpenDAL wherever they run. {} met, {} missed{}\n",
        verdicts.len() - missed.len(),
        missed.len(),
        if missed.is_empty() { "." } else { ":" }
    );
    for v in &missed {
        let _ = writeln!(
            out,
            "- {}: ours ÷ {} = {:.3} (target ≥ {:.2})",
            cell(&v.row),
            v.against.short(),
            v.ratio,
            v.target
        );
    }
    out
}
