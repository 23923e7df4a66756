//! Latency figures for `tessera bench`: percentiles and a histogram with fixed
//! bucket bounds (so runs can be compared line by line).

use std::io::Write;
use std::time::Duration;

/// Upper bounds of the histogram's buckets, in milliseconds; a last bucket
/// holds everything slower.
const BOUNDS_MS: [u64; 13] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
];

/// The sample at quantile `p` (0..=1) of `sorted` (nearest rank). `sorted` is
/// not empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// How many samples fall in each bucket: `(upper bound in ms, count)`, the
/// last with `None` (slower than every bound).
pub fn histogram(samples: &[Duration]) -> Vec<(Option<u64>, usize)> {
    let mut counts = vec![0usize; BOUNDS_MS.len() + 1];
    for s in samples {
        let ms = s.as_secs_f64() * 1000.0;
        let i = BOUNDS_MS
            .iter()
            .position(|&b| ms <= b as f64)
            .unwrap_or(BOUNDS_MS.len());
        counts[i] += 1;
    }
    BOUNDS_MS
        .iter()
        .map(|&b| Some(b))
        .chain(std::iter::once(None))
        .zip(counts)
        .collect()
}

/// Prints the histogram from its first to its last non-empty bucket, one line
/// each: `  <=   100 ms |    42  42.0% ########`.
pub fn print_histogram(samples: &[Duration], out: &mut impl Write) -> std::io::Result<()> {
    let buckets = histogram(samples);
    let first = buckets.iter().position(|(_, n)| *n > 0);
    let last = buckets.iter().rposition(|(_, n)| *n > 0);
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(());
    };
    writeln!(out, "latency histogram ({} samples):", samples.len())?;
    let total = samples.len() as f64;
    for (bound, n) in &buckets[first..=last] {
        let label = match bound {
            Some(b) => format!("<= {b:>6} ms"),
            None => format!(" > {:>6} ms", BOUNDS_MS[BOUNDS_MS.len() - 1]),
        };
        let share = *n as f64 / total;
        let bar = "#".repeat((share * 40.0).round() as usize);
        writeln!(out, "  {label} | {n:>6} {:>5.1}% {bar}", share * 100.0)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_samples() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&v[..1], 0.99), Duration::from_millis(1));
    }

    #[test]
    fn histogram_counts_each_sample_once_in_its_bucket() {
        let ms = |v: u64| Duration::from_millis(v);
        let samples = [ms(3), ms(5), ms(6), ms(120), ms(120), ms(90_000)];
        let h = histogram(&samples);
        assert_eq!(h.iter().map(|(_, n)| n).sum::<usize>(), samples.len());
        assert_eq!(h[0], (Some(5), 2), "bounds are inclusive");
        assert_eq!(h[1], (Some(10), 1));
        assert_eq!(h[5], (Some(250), 2));
        assert_eq!(h[h.len() - 1], (None, 1));

        let mut out = Vec::new();
        print_histogram(&[ms(7), ms(40)], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "latency histogram (2 samples):");
        // From the first to the last non-empty bucket: 10, 25 and 50 ms.
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].contains("<=     10 ms |      1  50.0%"), "{text}");
        assert!(lines[2].contains("<=     25 ms |      0   0.0%"), "{text}");
        assert!(print_histogram(&[], &mut Vec::new()).is_ok());
    }
}
