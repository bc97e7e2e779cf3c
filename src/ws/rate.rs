//! A token bucket per socket: refilled at a steady rate, with a burst allowance (rule 17).

use std::time::Instant;

pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(per_second: f64, burst: f64, now: Instant) -> Self {
        TokenBucket {
            per_second,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_the_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(20.0, 40.0, t0);
        assert!((0..40).all(|_| b.take(t0)));
        assert!(!b.take(t0));
        // 100 ms later, two more.
        let t1 = t0 + Duration::from_millis(100);
        assert!(b.take(t1));
        assert!(b.take(t1));
        assert!(!b.take(t1));
    }

    #[test]
    fn a_steady_twenty_per_second_never_runs_dry() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(20.0, 40.0, t0);
        for i in 0..1000u64 {
            assert!(b.take(t0 + Duration::from_millis(50 * i)), "message {i}");
        }
    }
}
