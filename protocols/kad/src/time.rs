//! Wall-clock time as records carry it: RFC 3339 text, and the clock validators read.
//!
//! Two fields on the wire are RFC 3339 timestamps: `Record.timeReceived` in kad messages
//! and the `Validity` (end of life) of an IPNS record. Go writes both with its
//! `RFC3339Nano` layout, `2026-12-02T15:04:05.999999999Z`: UTC, and a fraction of a
//! second only when there is one, with trailing zeros removed. The conversion between a
//! day count and a calendar date is the proleptic Gregorian one, done here with integer
//! arithmetic rather than a date library.
//!
//! Kademlia's protocol logic runs on `Instant`s passed in by its caller; an IPNS record
//! expires at a wall-clock time, so its validator needs a [`Clock`] instead.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: i64 = 86_400;
const NANOS_PER_SECOND: u32 = 1_000_000_000;
/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const EPOCH_SHIFT_DAYS: i64 = 719_468;
/// Days in a 400-year Gregorian cycle.
const DAYS_PER_ERA: i64 = 146_097;
/// The most fraction digits we parse; longer text is not a timestamp any implementation
/// writes.
const MAX_FRACTION_DIGITS: usize = 30;
/// The longest timestamp text we parse: `YYYY-MM-DDTHH:MM:SS`, a fraction, a `+HH:MM` offset.
const MAX_TEXT_LEN: usize = 19 + 1 + MAX_FRACTION_DIGITS + 6;
/// Seconds from the epoch to 0000-01-01T00:00:00Z, the earliest time RFC 3339 can write.
const MIN_SECONDS: i64 = -62_167_219_200;
/// Seconds from the epoch to 9999-12-31T23:59:59Z, the latest whole second RFC 3339 can write.
const MAX_SECONDS: i64 = 253_402_300_799;

/// Formats `time` in UTC as Go's `RFC3339Nano` layout does: `2026-12-02T15:04:05.5Z`, with
/// the fraction omitted when it is zero and trailing zeros removed.
///
/// RFC 3339 years have four digits, so a time before year 0 or after year 9999 is written
/// as the nearest instant that can be written.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use hyphae_kad::format_rfc3339;
///
/// let time = UNIX_EPOCH + Duration::new(1_000_000_000, 250_000_000);
/// assert_eq!(format_rfc3339(time), "2001-09-09T01:46:40.25Z");
/// ```
pub fn format_rfc3339(time: SystemTime) -> String {
    let (mut seconds, mut nanos) = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (
            i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            after.subsec_nanos(),
        ),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            match before.subsec_nanos() {
                0 => (-whole, 0),
                fraction => (-whole - 1, NANOS_PER_SECOND - fraction),
            }
        }
    };
    if seconds < MIN_SECONDS {
        (seconds, nanos) = (MIN_SECONDS, 0);
    } else if seconds > MAX_SECONDS {
        (seconds, nanos) = (MAX_SECONDS, NANOS_PER_SECOND - 1);
    }
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let mut text = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// Parses an RFC 3339 timestamp (`2026-12-02T15:04:05Z`, `2026-12-02T17:04:05.25+02:00`).
///
/// Accepts `Z` or a numeric offset, upper- or lower-case `T` and `Z`, and a fraction of any
/// length up to 30 digits (digits past nanoseconds are dropped, as Go drops them). Returns
/// `None` for anything else, including leap seconds (`:60`) and dates that do not exist.
///
/// ```
/// use hyphae_kad::{format_rfc3339, parse_rfc3339};
///
/// let time = parse_rfc3339("2026-12-02T17:04:05.5+02:00").unwrap();
/// assert_eq!(format_rfc3339(time), "2026-12-02T15:04:05.5Z");
/// ```
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes.len() > MAX_TEXT_LEN {
        return None;
    }
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, byte)| bytes[at] != byte) || !matches!(bytes[10], b'T' | b't') {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let hour = digits(&bytes[11..13])?;
    let minute = digits(&bytes[14..16])?;
    let second = digits(&bytes[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let mut rest = &bytes[19..];
    let mut nanos: u32 = 0;
    if let [b'.', after @ ..] = rest {
        let count = after
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if count == 0 || count > MAX_FRACTION_DIGITS {
            return None;
        }
        for position in 0..9 {
            let digit = after.get(position).filter(|_| position < count);
            nanos = nanos * 10 + digit.map_or(0, |byte| u32::from(byte - b'0'));
        }
        rest = &after[count..];
    }
    let offset_seconds = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), hours_and_minutes @ ..] if hours_and_minutes.len() == 5 => {
            if hours_and_minutes[2] != b':' {
                return None;
            }
            let hours = digits(&hours_and_minutes[0..2])?;
            let minutes = digits(&hours_and_minutes[3..5])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };

    let seconds = days_from_civil(i64::from(year), month, day) * SECONDS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_seconds;
    let since_epoch = Duration::from_secs(seconds.unsigned_abs());
    let whole = if seconds >= 0 {
        UNIX_EPOCH.checked_add(since_epoch)?
    } else {
        UNIX_EPOCH.checked_sub(since_epoch)?
    };
    whole.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// Reads a fixed-width run of ASCII digits.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

fn is_leap_year(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date. Counting years from March makes February, with
/// its leap day, the last month, so a month's first day of the year is a linear formula.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT_DAYS
}

/// The date `days` after 1970-01-01: the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + EPOCH_SHIFT_DAYS;
    let era = days.div_euclid(DAYS_PER_ERA);
    let day_of_era = days - era * DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    // Both values are small and non-negative by construction.
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The wall clock a validator compares expiry times against.
///
/// A node uses [`Clock::system`]; the simulator passes a clock that follows its virtual
/// time, and tests a [`Clock::fixed`] one, so that validating a record that expires is
/// deterministic.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl Clock {
    /// The operating system's clock.
    pub fn system() -> Clock {
        Clock::from_fn(SystemTime::now)
    }

    /// A clock that always reads `at`.
    pub fn fixed(at: SystemTime) -> Clock {
        Clock::from_fn(move || at)
    }

    /// A clock that reads `now()`, e.g. a virtual clock shared with a simulator.
    pub fn from_fn(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    /// The current time by this clock.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

impl Default for Clock {
    /// The operating system's clock.
    fn default() -> Clock {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", format_rfc3339(self.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64, nanos: u32) -> SystemTime {
        let whole = if seconds >= 0 {
            UNIX_EPOCH + Duration::from_secs(seconds as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
        };
        whole + Duration::from_nanos(u64::from(nanos))
    }

    #[test]
    fn formats_known_instants_as_go_does() {
        let cases = [
            (at(0, 0), "1970-01-01T00:00:00Z"),
            (at(1_000_000_000, 0), "2001-09-09T01:46:40Z"),
            (at(951_782_400, 0), "2000-02-29T00:00:00Z"),
            (
                at(1_796_223_845, 999_999_999),
                "2026-12-02T15:04:05.999999999Z",
            ),
            (
                at(4_847_689_023, 694_052_000),
                "2123-08-14T12:17:03.694052Z",
            ),
            (at(-1, 500_000_000), "1969-12-31T23:59:59.5Z"),
            (at(-2_208_988_800, 0), "1900-01-01T00:00:00Z"),
            (at(MIN_SECONDS, 0), "0000-01-01T00:00:00Z"),
        ];
        for (time, text) in cases {
            assert_eq!(format_rfc3339(time), text);
            assert_eq!(parse_rfc3339(text), Some(time), "parsing {text}");
        }
    }

    #[test]
    fn times_outside_four_digit_years_are_written_as_the_nearest_writable_instant() {
        assert_eq!(
            format_rfc3339(at(MIN_SECONDS - 1, 0)),
            "0000-01-01T00:00:00Z"
        );
        assert_eq!(
            format_rfc3339(at(MAX_SECONDS + 10, 0)),
            "9999-12-31T23:59:59.999999999Z"
        );
    }

    #[test]
    fn parses_offsets_lower_case_and_long_fractions() {
        let utc = parse_rfc3339("2026-12-02T15:04:05Z");
        assert_eq!(utc, Some(at(1_796_223_845, 0)));
        assert_eq!(parse_rfc3339("2026-12-02T17:04:05+02:00"), utc);
        assert_eq!(parse_rfc3339("2026-12-02T10:34:05-04:30"), utc);
        assert_eq!(parse_rfc3339("2026-12-02t15:04:05z"), utc);
        assert_eq!(parse_rfc3339("2026-12-02T15:04:05+00:00"), utc);
        assert_eq!(
            parse_rfc3339("2026-12-02T15:04:05.123456789987Z"),
            Some(at(1_796_223_845, 123_456_789))
        );
        assert_eq!(
            parse_rfc3339("2026-12-02T15:04:05.1Z"),
            Some(at(1_796_223_845, 100_000_000))
        );
    }

    #[test]
    fn rejects_what_is_not_an_rfc3339_timestamp() {
        for text in [
            "",
            "2026-12-02",
            "2026-12-02T15:04:05",
            "2026-12-02 15:04:05Z",
            "2026-13-02T15:04:05Z",
            "2026-00-02T15:04:05Z",
            "2026-02-29T15:04:05Z",
            "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-12-02T24:00:00Z",
            "2026-12-02T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "2026-12-02T15:04:05.Z",
            "2026-12-02T15:04:05+0200",
            "2026-12-02T15:04:05+24:00",
            "2026-12-02T15:04:05Zjunk",
            "+026-12-02T15:04:05Z",
            "2026-12-02T15:04:05.1234567890123456789012345678901Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text:?} should be rejected");
        }
        assert!(parse_rfc3339("2000-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn a_fixed_clock_reads_its_time() {
        let clock = Clock::fixed(at(42, 0));
        assert_eq!(clock.now(), at(42, 0));
        assert_eq!(format!("{clock:?}"), "Clock(1970-01-01T00:00:42Z)");
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_gives_the_same_instant(
            seconds in MIN_SECONDS..=MAX_SECONDS,
            nanos in 0..NANOS_PER_SECOND,
        ) {
            let time = at(seconds, nanos);
            prop_assert_eq!(parse_rfc3339(&format_rfc3339(time)), Some(time));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,64}") {
            let _ = parse_rfc3339(&text);
        }

        #[test]
        fn parsing_timestamp_shaped_text_never_panics(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
        ) {
            let _ = parse_rfc3339(&text);
        }
    }
}
