//! The command line.

/// The sections a run can be limited to with `--only`.
pub const SECTIONS: [&str; 5] = ["local", "azure", "vercel", "sign", "rss"];

/// How to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Rounds per row (`--rounds`, default 5).
    pub rounds: usize,
    /// The sections to run (`--only`, default all), in [`SECTIONS`] order.
    pub only: Vec<&'static str>,
    /// Fewer, smaller blobs for a smoke run (`--quick`).
    pub quick: bool,
    /// Write `benches/RESULTS.md` too (`--markdown`).
    pub markdown: bool,
    /// Run only the contenders whose label holds this text, ignoring case
    /// (`--contender`), to profile one alone.
    pub contender: Option<String>,
}

/// The help text.
pub const USAGE: &str = "\
usage: cargo run --release -p benches --bin compare -- [options]

  --rounds N      rounds per row (default 5); each round runs every contender once
  --only LIST     comma-separated sections: local,azure,vercel,sign,rss (default all)
  --quick         fewer and smaller blobs, for a smoke run
  --markdown      also write benches/RESULTS.md
  --contender S   only the contenders whose name contains S (any case), e.g. ours,
                  OpenDAL: to run one alone under perf, strace or callgrind
  -h, --help      this text";

impl Options {
    /// Whether `section` is to run.
    pub fn runs(&self, section: &str) -> bool {
        self.only.contains(&section)
    }
}

/// Parses the arguments after the program name; `Err` holds what to print
/// (the usage, with the problem first when there is one).
pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        rounds: 5,
        only: SECTIONS.to_vec(),
        quick: false,
        markdown: false,
        contender: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--rounds" => {
                let v = value("--rounds")?;
                options.rounds = v.parse().ok().filter(|&n| n >= 1).ok_or_else(|| {
                    format!("--rounds wants a whole number ≥ 1, not {v:?}\n\n{USAGE}")
                })?;
            }
            "--only" => {
                let v = value("--only")?;
                let wanted: Vec<&str> = v.split(',').map(str::trim).collect();
                if let Some(bad) = wanted.iter().find(|w| !SECTIONS.contains(w)) {
                    return Err(format!(
                        "--only: unknown section {bad:?}; the sections are {}\n\n{USAGE}",
                        SECTIONS.join(",")
                    ));
                }
                options.only = SECTIONS
                    .iter()
                    .copied()
                    .filter(|s| wanted.contains(s))
                    .collect();
            }
            "--contender" => options.contender = Some(value("--contender")?.to_lowercase()),
            "--quick" => options.quick = true,
            "--markdown" => options.markdown = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    Ok(options)
}
