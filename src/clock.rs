//! The wall clock, read in one place. The domain never reads it: times are inputs there.
//! Calendar arithmetic (days and dates) is the `time` crate's.

use std::time::{SystemTime, UNIX_EPOCH};

use time::{Date, Month};

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Milliseconds since the Unix epoch.
pub fn unix_now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The date `days` after 1970-01-01, clamped to the calendar's range (years -9999 to 9999).
fn date_of(days: i64) -> Date {
    let julian = (days + UNIX_EPOCH_JULIAN_DAY).clamp(
        i64::from(Date::MIN.to_julian_day()),
        i64::from(Date::MAX.to_julian_day()),
    );
    Date::from_julian_day(julian as i32).expect("clamped to the calendar's range")
}

/// Days since 1970-01-01 as (year, month, day), proleptic Gregorian.
pub fn civil(days: i64) -> (i64, u32, u32) {
    let date = date_of(days);
    (
        i64::from(date.year()),
        u32::from(u8::from(date.month())),
        u32::from(date.day()),
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date; None if it is no date (2026-02-30).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    Some(i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
}

/// A time's UTC date and time of day: ((year, month, day), (hour, minute, second)).
pub fn utc(unix: i64) -> ((i64, u32, u32), (i64, i64, i64)) {
    let seconds = unix.rem_euclid(86_400);
    (
        civil(unix.div_euclid(86_400)),
        (seconds / 3600, seconds / 60 % 60, seconds % 60),
    )
}

/// `2024-10-29T14:15:00Z`: RFC 3339 in UTC.
pub fn rfc3339(unix: i64) -> String {
    let ((year, month, day), (h, m, s)) = utc(unix);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

/// `2024-10-29` as the day's number since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let day = parts.next()?.parse().ok()?;
    days_from_civil(year, month, day)
}

/// Unix seconds, or an RFC 3339 date (`2024-10-29`, midnight UTC) or date-time
/// (`2024-10-29T14:15:00Z`, `…+02:00`, fractions of a second dropped).
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    if text.len() == 10 {
        return parse_date(text).map(|d| d * 86_400);
    }
    let (date, rest) = text.split_at_checked(10)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let days = parse_date(date)?;
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => return None,
    };
    let clock = clock.split('.').next()?;
    let mut hms = clock.splitn(3, ':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let s: i64 = hms.next()?.parse().ok()?;
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let offset = match offset {
        "Z" | "z" => 0,
        _ => {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (oh, om) = offset[1..].split_once(':')?;
            let (oh, om): (i64, i64) = (oh.parse().ok()?, om.parse().ok()?);
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(days * 86_400 + h * 3600 + m * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_day_numbers() {
        for days in [-800_000, -1, 0, 1, 10_957, 11_016, 20_423, 2_000_000] {
            let (y, m, d) = civil(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
        assert_eq!(days_from_civil(2026, 2, 30), None);
        assert_eq!(days_from_civil(2024, 2, 29), Some(19_782));
    }

    #[test]
    fn times_parse_as_seconds_dates_or_rfc3339() {
        assert_eq!(parse_time("1730211300"), Some(1_730_211_300));
        assert_eq!(parse_time("2024-10-29"), Some(1_730_160_000));
        assert_eq!(parse_time("2024-10-29T14:15:00Z"), Some(1_730_211_300));
        assert_eq!(parse_time("2024-10-29T16:15:00.250+02:00"), Some(1_730_211_300));
        assert_eq!(parse_time("2024-10-29T14:15:00"), None);
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(rfc3339(1_730_211_300), "2024-10-29T14:15:00Z");
    }
}
