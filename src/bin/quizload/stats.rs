//! Distributions: nearest-rank percentiles and peak rates over sliding windows.

use serde::Serialize;

/// A summary of one distribution, in the unit of its samples (milliseconds here).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dist {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub min: f64,
    pub mean: f64,
}

/// The nearest-rank percentile of sorted samples: the smallest sample such that at least `p`
/// percent of the samples are at most it (rank `ceil(p / 100 * n)`, at least 1).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // `p * n` is exact for whole percents, so a whole rank stays whole.
    let rank = (p * n as f64 / 100.0).ceil();
    let rank = if rank.is_nan() || rank < 1.0 {
        1
    } else {
        (rank as usize).min(n)
    };
    sorted.get(rank - 1).copied()
}

/// Sorts the samples and summarizes them; `None` when there are none.
pub fn summarize(mut samples: Vec<f64>) -> Option<Dist> {
    samples.retain(|v| v.is_finite());
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    Some(Dist {
        count: n,
        p50: percentile(&samples, 50.0)?,
        p90: percentile(&samples, 90.0)?,
        p99: percentile(&samples, 99.0)?,
        max: *samples.last()?,
        min: *samples.first()?,
        mean: samples.iter().sum::<f64>() / n as f64,
    })
}

/// The most events in any window `[t, t + window)`, given sorted event times.
pub fn peak_in_window(sorted: &[i64], window: i64) -> usize {
    let mut best = 0;
    let mut start = 0;
    for (end, &t) in sorted.iter().enumerate() {
        while sorted[start] <= t - window {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_one_to_a_hundred() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 90.0), Some(90.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 99.5), Some(100.0));
    }

    #[test]
    fn nearest_rank_on_small_sets() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 50.0), Some(7.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        // Ten samples: p50 is the 5th, p90 the 9th, p99 the 10th.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 90.0), Some(9.0));
        assert_eq!(percentile(&v, 99.0), Some(10.0));
        // Three samples: p50 is ceil(1.5) = the 2nd.
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 50.0), Some(2.0));
        // 1,000 samples: p99 is the 990th.
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(percentile(&v, 99.0), Some(990.0));
        assert_eq!(percentile(&v, 90.0), Some(900.0));
    }

    #[test]
    fn summarize_sorts_and_drops_non_finite() {
        assert_eq!(summarize(vec![]), None);
        let d = summarize(vec![3.0, f64::NAN, 1.0, 2.0, 4.0]).unwrap();
        assert_eq!(
            d,
            Dist {
                count: 4,
                p50: 2.0,
                p90: 4.0,
                p99: 4.0,
                max: 4.0,
                min: 1.0,
                mean: 2.5
            }
        );
        let d = summarize(vec![-2.0, 5.0]).unwrap();
        assert_eq!((d.min, d.p50, d.max), (-2.0, -2.0, 5.0));
    }

    #[test]
    fn peak_window() {
        assert_eq!(peak_in_window(&[], 1000), 0);
        assert_eq!(peak_in_window(&[5], 1000), 1);
        // Windows are (t - 1000, t]: {0, 999}, {999, 1000}, {1000, 1999}; never three.
        assert_eq!(peak_in_window(&[0, 999, 1000, 1999], 1000), 2);
        assert_eq!(peak_in_window(&[0, 999, 1000, 1998], 1000), 3);
        assert_eq!(peak_in_window(&[0, 10, 20, 30, 5000], 100), 4);
        assert_eq!(peak_in_window(&[1, 1, 1], 1), 3);
    }
}
