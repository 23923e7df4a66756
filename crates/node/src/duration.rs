//! Durations in configuration, read by [`humantime`]: `"500ms"`, `"10s"`,
//! `"2m"`, `"1h"`, or a sum of such parts (`"1m30s"`, `"1h 30m"`). Longer unit
//! names (`"10sec"`, `"2min"`), fractions (`"1.5s"`) and days or weeks
//! (`"2d"`) work too. Units are case-sensitive: `m` is minutes, `M` months.
//!
//! A unit is required, right after its number: `"10"` is never guessed at, and
//! `"5 s"` (which humantime would take) is refused like before, so a value is
//! written the one way the configuration documents.

use std::time::Duration;

use serde::Deserializer;

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (write e.g. \"500ms\", \"10s\", \"2m\", \"1h\", \"1h 30m\")")]
pub struct DurationError {
    pub input: String,
    pub reason: String,
}

/// Parses a duration with [`humantime::parse_duration`]: `<number><unit>`
/// parts, added up.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason: String| DurationError {
        input: input.to_string(),
        reason,
    };
    // Every space-separated part ends with its unit ("1h 30m", not "5 s").
    if input
        .split_whitespace()
        .any(|part| part.ends_with(|c: char| c.is_ascii_digit()))
    {
        return Err(err("missing unit (write it right after the number)".into()));
    }
    humantime::parse_duration(input.trim()).map_err(|e| err(e.to_string()))
}

/// Formats a duration the way [`parse_duration`] reads it (for messages and
/// defaults), with [`humantime::format_duration`]: `"1500ms"` is `"1s 500ms"`.
pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// `#[serde(deserialize_with = "...")]` for a duration string.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Duration;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a duration with a unit, such as \"30s\" or \"1500ms\"")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Duration, E> {
            parse_duration(s).map_err(E::custom)
        }
    }
    d.deserialize_str(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1s500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_missing_or_unknown_units() {
        for bad in [
            "", " ", "10", "s", "10 s", "2 hours", "-1s", "10s5", "5x", "1,5s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        for no_unit in ["10", "10 s", "1h 30"] {
            let e = parse_duration(no_unit).unwrap_err();
            assert!(e.to_string().contains("missing unit"), "{e}");
        }
        let e = parse_duration("5x").unwrap_err();
        assert!(e.to_string().contains("unknown time unit"), "{e}");
        assert!(e.to_string().contains("\"5x\""), "{e}");
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(parse_duration("18446744073709551615h").is_err());
    }

    #[test]
    fn reads_humantime_forms() {
        let secs = Duration::from_secs;
        assert_eq!(parse_duration("1h 30m"), Ok(secs(5400)));
        assert_eq!(parse_duration("2min 5sec"), Ok(secs(125)));
        assert_eq!(parse_duration(" 1m  30s "), Ok(secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1d"), Ok(secs(86_400)));
        assert_eq!(parse_duration("1w"), Ok(secs(7 * 86_400)));
    }

    #[test]
    fn formats_back() {
        for s in ["1500ms", "10s", "2m", "1h", "90s", "1h 30m", "0s"] {
            let d = parse_duration(s).unwrap();
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{s}");
        }
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m 30s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s 500ms");
    }
}
