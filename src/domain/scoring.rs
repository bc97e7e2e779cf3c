//! Points for a correct answer and ranks: exact integer arithmetic, PROTOCOL.md rules 6 and 8.

use std::cmp::Ordering;

use uuid::Uuid;

/// `round(points * (1 - (r / T) / 2))`, half rounding up, in exact integers:
/// `(points * (2T - r) + T) / (2T)` with `r` clamped to `0..=T` (rule 6).
pub fn points_for_correct(points: u32, response_ms: i64, time_limit_ms: u32) -> u32 {
    let t = i128::from(time_limit_ms.max(1));
    let r = i128::from(response_ms).clamp(0, t);
    let p = i128::from(points);
    let value = (p * (2 * t - r) + t) / (2 * t);
    // Between points/2 and points, so it always fits.
    u32::try_from(value).unwrap_or(points)
}

/// One row of a leaderboard before ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub player_id: Uuid,
    pub nickname: String,
    pub score: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub rank: u32,
    pub player_id: Uuid,
    pub nickname: String,
    pub score: i64,
}

/// The protocol's list order: score descending, then nickname in code-point order, then id.
pub fn list_order(a: &Standing, b: &Standing) -> Ordering {
    b.score
        .cmp(&a.score)
        .then_with(|| a.nickname.cmp(&b.nickname))
        .then_with(|| a.player_id.cmp(&b.player_id))
}

/// Sorts and ranks: `rank = 1 + number of players with a strictly higher score`.
pub fn rank(mut standings: Vec<Standing>) -> Vec<Ranked> {
    standings.sort_by(list_order);
    let mut ranked = Vec::with_capacity(standings.len());
    let mut rank = 1u32;
    let mut previous: Option<i64> = None;
    for (i, s) in standings.into_iter().enumerate() {
        if previous != Some(s.score) {
            rank = i as u32 + 1;
            previous = Some(s.score);
        }
        ranked.push(Ranked {
            rank,
            player_id: s.player_id,
            nickname: s.nickname,
            score: s.score,
        });
    }
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn full_points_at_zero_and_half_at_the_limit() {
        assert_eq!(points_for_correct(1000, 0, 20_000), 1000);
        assert_eq!(points_for_correct(1000, 20_000, 20_000), 500);
        assert_eq!(points_for_correct(1000, 99_999, 20_000), 500);
        assert_eq!(points_for_correct(1000, -5, 20_000), 1000);
        assert_eq!(points_for_correct(0, 100, 20_000), 0);
    }

    #[test]
    fn halves_round_up() {
        // 1 * (1 - 0.5/2) = 0.75 -> 1 ; 3 * (1 - (1/2)/2) = 2.25 -> 2 ; 1 point at T: 0.5 -> 1
        assert_eq!(points_for_correct(1, 1000, 2000), 1);
        assert_eq!(points_for_correct(3, 1000, 2000), 2);
        assert_eq!(points_for_correct(1, 2000, 2000), 1);
        // 800 * (1 - (333/2000)/2) = 733.4 -> 733
        assert_eq!(points_for_correct(800, 333, 2000), 733);
        // 5 * (1 - (500/1000)/2) = 3.75 -> 4; 10 * (1 - (100/1000)/2) = 9.5 -> 10
        assert_eq!(points_for_correct(5, 500, 1000), 4);
        assert_eq!(points_for_correct(10, 100, 1000), 10);
    }

    proptest! {
        #[test]
        fn points_match_the_exact_rational_rounding(points in 0u32..=10_000, t in 500u32..=600_000, r in -1000i64..=700_000) {
            let got = points_for_correct(points, r, t);
            let rc = r.clamp(0, i64::from(t)) as f64;
            let exact = f64::from(points) * (1.0 - (rc / f64::from(t)) / 2.0);
            // within rounding of the exact value, never above the maximum, never below half
            prop_assert!((f64::from(got) - exact).abs() <= 0.5 + 1e-9);
            prop_assert!(got <= points);
            prop_assert!(2 * got >= points);
        }

        #[test]
        fn ranks_count_strictly_higher_scores(scores in proptest::collection::vec(0i64..5, 0..30)) {
            let standings: Vec<Standing> = scores.iter().enumerate().map(|(i, s)| Standing {
                player_id: Uuid::from_u128(i as u128), nickname: format!("p{i:02}"), score: *s,
            }).collect();
            let ranked = rank(standings);
            for r in &ranked {
                let higher = scores.iter().filter(|s| **s > r.score).count() as u32;
                prop_assert_eq!(r.rank, higher + 1);
            }
            for w in ranked.windows(2) {
                prop_assert!(w[0].score > w[1].score || (w[0].score == w[1].score && w[0].nickname <= w[1].nickname));
            }
        }
    }

    #[test]
    fn ties_share_a_rank_and_list_by_nickname() {
        let s = |n: &str, score| Standing {
            player_id: Uuid::new_v4(),
            nickname: n.into(),
            score,
        };
        let ranked = rank(vec![s("bob", 0), s("zed", 900), s("amy", 0), s("cat", 0)]);
        let got: Vec<_> = ranked
            .iter()
            .map(|r| (r.rank, r.nickname.as_str()))
            .collect();
        assert_eq!(got, vec![(1, "zed"), (2, "amy"), (2, "bob"), (2, "cat")]);
    }

    #[test]
    fn nickname_order_is_code_point_order() {
        let s = |n: &str| Standing {
            player_id: Uuid::nil(),
            nickname: n.into(),
            score: 1,
        };
        let ranked = rank(vec![s("ä"), s("b"), s("B"), s("a")]);
        let names: Vec<_> = ranked.iter().map(|r| r.nickname.as_str()).collect();
        assert_eq!(names, vec!["B", "a", "b", "ä"]);
    }
}
