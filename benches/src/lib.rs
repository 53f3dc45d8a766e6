//! A small measuring kit for the benchmarks in `benches/`.
//!
//! Absolute times on a shared 2-core machine are noise; what the benchmarks
//! report is the ratio of an operation's rate to a baseline measured in the
//! same run, over several rounds, with the median kept.

use std::time::{Duration, Instant};

/// How long each round runs.
pub const ROUND: Duration = Duration::from_millis(300);
/// Rounds per measurement; the median is reported.
pub const ROUNDS: usize = 7;

/// Operations per second of `op`, the median over [`ROUNDS`] rounds.
///
/// ```
/// let rate = benches::rate(|| { std::hint::black_box(1 + 1); });
/// assert!(rate > 0.0);
/// ```
pub fn rate(mut op: impl FnMut()) -> f64 {
    for _ in 0..100 {
        op();
    }
    let mut rates: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < ROUND {
                for _ in 0..64 {
                    op();
                }
                n += 64;
            }
            n as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[ROUNDS / 2]
}

/// Prints one result line: the rate and its ratio to the baseline's.
pub fn report(name: &str, rate: f64, baseline: f64) {
    println!(
        "{name:<48} {:>12.0} ops/s   {:>6.2}x baseline",
        rate,
        rate / baseline
    );
}
