//! UTC calendar periods for key limits: the day, the week starting Monday and
//! the calendar month containing an instant, without a date crate.

use std::fmt;
use std::str::FromStr;

/// Milliseconds in a day (UTC has no daylight saving; leap seconds are ignored
/// as Unix time does).
const MS_PER_DAY: i64 = 86_400_000;

/// How often a key's spend limit starts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitReset {
    /// At every midnight UTC.
    Daily,
    /// At midnight UTC between Sunday and Monday.
    Weekly,
    /// At midnight UTC on the first day of each month.
    Monthly,
}

impl LimitReset {
    /// Every value, shortest period first.
    pub const ALL: [LimitReset; 3] = [LimitReset::Daily, LimitReset::Weekly, LimitReset::Monthly];

    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitReset::Daily => "daily",
            LimitReset::Weekly => "weekly",
            LimitReset::Monthly => "monthly",
        }
    }

    /// Unix milliseconds at which the period containing `now_ms` started.
    pub fn period_start(self, now_ms: i64) -> i64 {
        let day = now_ms.div_euclid(MS_PER_DAY);
        let start_day = match self {
            LimitReset::Daily => day,
            // 1970-01-01 was a Thursday: three days after a Monday.
            LimitReset::Weekly => day - (day + 3).rem_euclid(7),
            LimitReset::Monthly => {
                let (y, m, _) = civil_from_days(day);
                days_from_civil(y, m, 1)
            }
        };
        start_day * MS_PER_DAY
    }

    /// Unix milliseconds at which the period containing `now_ms` ends and
    /// usage starts over.
    pub fn next_reset(self, now_ms: i64) -> i64 {
        let start_day = self.period_start(now_ms).div_euclid(MS_PER_DAY);
        let next_day = match self {
            LimitReset::Daily => start_day + 1,
            LimitReset::Weekly => start_day + 7,
            LimitReset::Monthly => {
                let (y, m, _) = civil_from_days(start_day);
                if m == 12 { days_from_civil(y + 1, 1, 1) } else { days_from_civil(y, m + 1, 1) }
            }
        };
        next_day * MS_PER_DAY
    }

    /// `[start, end)` of the period containing `now_ms`, in Unix milliseconds.
    pub fn window(self, now_ms: i64) -> (i64, i64) {
        (self.period_start(now_ms), self.next_reset(now_ms))
    }
}

impl fmt::Display for LimitReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LimitReset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "daily" => Ok(LimitReset::Daily),
            "weekly" => Ok(LimitReset::Weekly),
            "monthly" => Ok(LimitReset::Monthly),
            other => Err(format!("limit reset must be daily, weekly or monthly, not `{other}`")),
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`). `m` is 1..=12, `d` 1..=31.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days in a month of a year.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::LimitReset::{Daily, Monthly, Weekly};
    use super::*;

    /// Unix ms of a UTC date and time.
    fn at(y: i64, m: u32, d: u32, h: i64, min: i64, s: i64, ms: i64) -> i64 {
        days_from_civil(y, m, d) * MS_PER_DAY + ((h * 60 + min) * 60 + s) * 1000 + ms
    }

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2, "2000 is a leap year");
        assert_eq!(days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28), 1, "1900 is not");
        for day in -800_000..800_000 {
            let (y, m, d) = civil_from_days(day);
            assert!((1..=days_in_month(y, m)).contains(&d));
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn sunday_to_monday_starts_a_week_but_not_a_month() {
        // 2024-03-03 is a Sunday; 2024-03-04 a Monday.
        let sunday_late = at(2024, 3, 3, 23, 59, 59, 999);
        let monday = at(2024, 3, 4, 0, 0, 0, 0);
        assert_eq!(Weekly.period_start(sunday_late), at(2024, 2, 26, 0, 0, 0, 0));
        assert_eq!(Weekly.next_reset(sunday_late), monday);
        assert_eq!(Weekly.period_start(monday), monday);
        assert_eq!(Weekly.next_reset(monday), at(2024, 3, 11, 0, 0, 0, 0));
        assert_eq!(Daily.period_start(sunday_late), at(2024, 3, 3, 0, 0, 0, 0));
        assert_eq!(Daily.next_reset(sunday_late), monday);
        assert_eq!(Monthly.period_start(sunday_late), at(2024, 3, 1, 0, 0, 0, 0));
        assert_eq!(Monthly.period_start(monday), at(2024, 3, 1, 0, 0, 0, 0));
    }

    #[test]
    fn new_year_starts_a_day_and_a_month_inside_a_week() {
        let last = at(2024, 12, 31, 23, 59, 59, 999);
        let first = at(2025, 1, 1, 0, 0, 0, 0);
        assert_eq!(Daily.next_reset(last), first);
        assert_eq!(Monthly.period_start(last), at(2024, 12, 1, 0, 0, 0, 0));
        assert_eq!(Monthly.next_reset(last), first);
        assert_eq!(Monthly.period_start(first), first);
        assert_eq!(Monthly.next_reset(first), at(2025, 2, 1, 0, 0, 0, 0));
        // 2024-12-30 is a Monday: the week spans the new year.
        assert_eq!(Weekly.period_start(last), at(2024, 12, 30, 0, 0, 0, 0));
        assert_eq!(Weekly.period_start(first), at(2024, 12, 30, 0, 0, 0, 0));
        assert_eq!(Weekly.next_reset(first), at(2025, 1, 6, 0, 0, 0, 0));
    }

    #[test]
    fn leap_day_belongs_to_february() {
        let leap = at(2024, 2, 29, 12, 0, 0, 0);
        assert_eq!(Daily.window(leap), (at(2024, 2, 29, 0, 0, 0, 0), at(2024, 3, 1, 0, 0, 0, 0)));
        assert_eq!(Monthly.window(leap), (at(2024, 2, 1, 0, 0, 0, 0), at(2024, 3, 1, 0, 0, 0, 0)));
        // 2024-02-29 is a Thursday.
        assert_eq!(Weekly.window(leap), (at(2024, 2, 26, 0, 0, 0, 0), at(2024, 3, 4, 0, 0, 0, 0)));
        // Not a leap year: February has 28 days.
        assert_eq!(Monthly.next_reset(at(2023, 2, 28, 23, 0, 0, 0)), at(2023, 3, 1, 0, 0, 0, 0));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
    }

    #[test]
    fn boundaries_belong_to_the_new_period_and_before_1970_works() {
        for r in LimitReset::ALL {
            let start = r.period_start(at(2025, 6, 15, 10, 0, 0, 0));
            assert_eq!(r.period_start(start), start);
            assert_eq!(r.period_start(start - 1), r.period_start(start - 1));
            assert!(r.period_start(start - 1) < start);
            assert_eq!(r.next_reset(start - 1), start);
            assert_eq!(r.as_str().parse::<LimitReset>(), Ok(r));
        }
        // 1969-12-31 was a Wednesday; its week began Monday 1969-12-29.
        assert_eq!(Weekly.period_start(-1), at(1969, 12, 29, 0, 0, 0, 0));
        assert_eq!(Monthly.period_start(-1), at(1969, 12, 1, 0, 0, 0, 0));
        assert!("yearly".parse::<LimitReset>().is_err());
    }
}
