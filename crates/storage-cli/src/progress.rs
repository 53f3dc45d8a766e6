//! Progress bars (on stderr) for long transfers and for `sync`: shown only
//! when both stdout and stderr are terminals and `--quiet` is not given, so
//! scripts and logs never see control sequences.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Transfers smaller than this finish too fast for a bar to help.
pub const THRESHOLD: u64 = 4 << 20;

/// Makes progress bars, or hidden ones when they are off.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Bars on unless `quiet` or not on a terminal.
    pub fn new(quiet: bool) -> Self {
        Progress {
            enabled: !quiet && std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
        }
    }

    /// A byte bar with rate and ETA, for a transfer of `len` bytes (hidden
    /// below [`THRESHOLD`]; an unknown length gets a spinner-like bar).
    pub fn bytes(&self, len: Option<u64>, label: &str) -> ProgressBar {
        if !self.enabled || len.is_some_and(|l| l < THRESHOLD) {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len.unwrap_or(0));
        bar.set_style(style(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        ));
        bar.set_message(label.to_string());
        bar
    }

    /// A bar counting `count` items, with rate and ETA.
    pub fn items(&self, count: u64, label: &str) -> ProgressBar {
        if !self.enabled {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(count);
        bar.set_style(style(
            "{msg} [{bar:30}] {pos}/{len} blobs {per_sec} ETA {eta}",
        ));
        bar.set_message(label.to_string());
        bar
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}
