//! Windows of time a limit counts over, and the arithmetic both stores share.
//!
//! Rates (per minute) use a **sliding window counter**: the count of the
//! current minute plus the previous minute's count weighted by how much of it
//! still lies inside the last 60 seconds (rounded up, so a boundary never
//! lets an extra request through). Budgets use fixed UTC calendar periods:
//! the day, the month.

/// A window of time a limit counts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    /// A sliding minute.
    Minute,
    /// The UTC calendar day.
    Day,
    /// The UTC calendar month.
    Month,
}

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;

impl Period {
    /// A short name for keys and metrics: `min`, `day`, `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Minute => "min",
            Period::Day => "day",
            Period::Month => "month",
        }
    }

    /// The id of the window holding `now_ms` (milliseconds since the Unix epoch).
    pub fn window(self, now_ms: u64) -> u64 {
        match self {
            Period::Minute => now_ms / MINUTE_MS,
            Period::Day => now_ms / DAY_MS,
            Period::Month => {
                let (y, m) = year_month(now_ms / DAY_MS);
                y * 12 + (m - 1)
            }
        }
    }

    /// When window `w` starts, in milliseconds since the epoch.
    pub fn start_ms(self, w: u64) -> u64 {
        match self {
            Period::Minute => w * MINUTE_MS,
            Period::Day => w * DAY_MS,
            Period::Month => days_from_civil(w / 12, w % 12 + 1) * DAY_MS,
        }
    }

    /// Whether the previous window still counts (sliding windows only).
    pub fn slides(self) -> bool {
        self == Period::Minute
    }

    /// How long a stored window must be kept: two of its lengths.
    pub fn ttl_ms(self) -> u64 {
        match self {
            Period::Minute => 2 * MINUTE_MS + 5_000,
            Period::Day => 2 * DAY_MS,
            Period::Month => 62 * DAY_MS,
        }
    }

    /// The weight (in thousandths... exactly: `remaining / length`) of the
    /// previous window at `now_ms`, as a numerator over [`length_ms`](Self::length_ms).
    fn prev_weight(self, now_ms: u64) -> u64 {
        match self {
            Period::Minute => MINUTE_MS - now_ms % MINUTE_MS,
            _ => 0,
        }
    }

    /// The length of a sliding window (the weight's denominator).
    fn length_ms(self) -> u64 {
        MINUTE_MS
    }

    /// What counts against the limit at `now_ms`, from the current and previous windows' counts.
    pub fn used(self, prev: u64, curr: u64, now_ms: u64) -> u64 {
        if !self.slides() || prev == 0 {
            return curr;
        }
        let w = u128::from(self.prev_weight(now_ms));
        let len = u128::from(self.length_ms());
        let weighted = (u128::from(prev) * w).div_ceil(len);
        curr.saturating_add(u64::try_from(weighted).unwrap_or(u64::MAX))
    }

    /// How long until `need` more units fit under `cap`, given the counts now;
    /// `None` when they never can (`need > cap`).
    pub fn retry_after_ms(
        self,
        cap: u64,
        need: u64,
        prev: u64,
        curr: u64,
        now_ms: u64,
    ) -> Option<u64> {
        if need > cap {
            return None;
        }
        let w = self.window(now_ms);
        if !self.slides() {
            return Some(self.start_ms(w + 1).saturating_sub(now_ms).max(1));
        }
        let len = self.length_ms();
        let elapsed = now_ms % len;
        // The earliest time t (ms into a window) at which ceil(p * (len - t) / len) <= room.
        let when = |p: u64, room: u64| -> u64 {
            if p <= room {
                return 0;
            }
            // p * (len - t) <= room * len  <=>  t >= len - room * len / p
            let t = u128::from(len) - (u128::from(room) * u128::from(len)) / u128::from(p);
            u64::try_from(t).unwrap_or(len)
        };
        let wait = match cap.checked_sub(curr).and_then(|r| r.checked_sub(need)) {
            // Fits in this window once enough of the previous one has slid out.
            Some(room) => when(prev, room).saturating_sub(elapsed),
            // Only in the next window, once enough of this one has slid out.
            None => (len - elapsed) + when(curr, cap - need),
        };
        Some(wait.max(1))
    }
}

/// (year, month 1..=12) of a day count since 1970-01-01 (H. Hinnant's civil_from_days).
fn year_month(days: u64) -> (u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m)
}

/// Days since 1970-01-01 of the first day of month `m` (1..=12) of year `y`.
fn days_from_civil(y: u64, m: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-22T05:37:14Z
    const T: u64 = 1_795_153_034_000;

    #[test]
    fn calendar_windows() {
        let m = Period::Month.window(T);
        assert_eq!((m / 12, m % 12 + 1), (2026, 11));
        // Next month starts 2026-12-01T00:00:00Z.
        assert_eq!(Period::Month.start_ms(m + 1), 1_796_083_200_000);
        assert_eq!(
            Period::Day.start_ms(Period::Day.window(T) + 1),
            1_795_219_200_000
        );
        // A leap day and a year boundary.
        assert_eq!(year_month(days_from_civil(2024, 2) + 28), (2024, 2));
        assert_eq!(year_month(days_from_civil(2024, 12) + 31), (2025, 1));
        let jan = Period::Month.window(1_735_689_600_000); // 2025-01-01
        assert_eq!(Period::Month.start_ms(jan), 1_735_689_600_000);
    }

    #[test]
    fn sliding_counts_round_up() {
        let start = Period::Minute.start_ms(Period::Minute.window(T));
        // 1 ms into the window, 10 of the previous still count fully.
        assert_eq!(Period::Minute.used(10, 0, start + 1), 10);
        assert_eq!(Period::Minute.used(10, 3, start + 30_000), 8);
        assert_eq!(Period::Minute.used(10, 3, start + 59_999), 4);
        assert_eq!(Period::Day.used(10, 3, start), 3);
    }

    #[test]
    fn retry_after_is_when_the_next_unit_fits() {
        let start = Period::Minute.start_ms(Period::Minute.window(T));
        // 5 used this window, cap 5: the next one fits when 1 of them slides out.
        let now = start + 100;
        let wait = Period::Minute.retry_after_ms(5, 1, 0, 5, now).unwrap();
        // ceil(5 * (60000 - t) / 60000) <= 4 from t = 12000 on, in the next window.
        assert_eq!(wait, 60_000 - 100 + 12_000);
        let later = now + wait;
        assert!(Period::Minute.used(5, 0, later) < 5);
        assert_eq!(Period::Minute.used(5, 0, later - 1), 5);
        // Room in this window once the previous one has slid out enough.
        let wait = Period::Minute.retry_after_ms(10, 1, 10, 0, start).unwrap();
        assert!(Period::Minute.used(10, 0, start + wait) < 10);
        assert_eq!(Period::Minute.retry_after_ms(5, 6, 0, 0, now), None);
        // Budgets: the start of the next period.
        let d = Period::Day.retry_after_ms(100, 1, 0, 100, T).unwrap();
        assert_eq!(T + d, 1_795_219_200_000);
    }
}
