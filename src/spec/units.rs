//! Durations and sizes as a spec writes them: `2.5` or `"2.5s"`, `"500ms"`, `"1m"`; `1048576` or `"256MiB"`, `"1GB"`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, de};

/// A duration in seconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

impl Seconds {
    #[must_use]
    pub fn duration(self) -> Duration {
        Duration::from_secs_f64(self.0.max(0.0))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 1.0 {
            write!(f, "{} ms", (self.0 * 1000.0).round())
        } else {
            write!(f, "{} s", (self.0 * 100.0).round() / 100.0)
        }
    }
}

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
        let mut value = self.0 as f64;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        if unit == 0 || value.fract() == 0.0 {
            write!(f, "{value} {}", UNITS[unit])
        } else {
            write!(f, "{value:.1} {}", UNITS[unit])
        }
    }
}

/// Parses `"500ms"`, `"2s"`, `"2.5 s"`, `"1m"`; a bare number is seconds.
pub fn parse_seconds(text: &str) -> Result<Seconds, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration: expected a number then ms, s or m, e.g. \"500ms\" or \"2s\"")
    })?;
    let factor = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        other => return Err(format!("unknown time unit `{other}` in `{text}`: expected ms, s or m")),
    };
    Ok(Seconds(value * factor))
}

/// Parses `"256MiB"`, `"1 GB"`, `"64k"`; a bare number is bytes.
pub fn parse_bytes(text: &str) -> Result<Bytes, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size: expected a number then B, KiB, MiB or GiB, e.g. \"256MiB\""))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!("unknown size unit `{other}` in `{text}`: expected B, KiB, MiB, GiB, KB, MB or GB"));
        }
    };
    Ok(Bytes((value * factor).round() as u64))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Integer(i64),
    Float(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let seconds = match NumberOrText::deserialize(deserializer)? {
            NumberOrText::Integer(n) => Seconds(n as f64),
            NumberOrText::Float(x) => Seconds(x),
            NumberOrText::Text(text) => parse_seconds(&text).map_err(de::Error::custom)?,
        };
        if seconds.0.is_nan() || seconds.0 <= 0.0 {
            return Err(de::Error::custom("a duration must be greater than zero"));
        }
        Ok(seconds)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = match NumberOrText::deserialize(deserializer)? {
            NumberOrText::Integer(n) if n > 0 => Bytes(n as u64),
            NumberOrText::Integer(_) => return Err(de::Error::custom("a size must be greater than zero")),
            NumberOrText::Float(_) => {
                return Err(de::Error::custom("a size in bytes must be a whole number or a string such as \"256MiB\""));
            }
            NumberOrText::Text(text) => parse_bytes(&text).map_err(de::Error::custom)?,
        };
        if bytes.0 == 0 {
            return Err(de::Error::custom("a size must be greater than zero"));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units_and_bare_seconds() {
        assert_eq!(parse_seconds("500ms").unwrap(), Seconds(0.5));
        assert_eq!(parse_seconds("2s").unwrap(), Seconds(2.0));
        assert_eq!(parse_seconds("1.5 s").unwrap(), Seconds(1.5));
        assert_eq!(parse_seconds("2m").unwrap(), Seconds(120.0));
        assert_eq!(parse_seconds("3").unwrap(), Seconds(3.0));
        assert!(parse_seconds("2h").unwrap_err().contains("unknown time unit `h`"));
        assert!(parse_seconds("fast").unwrap_err().contains("not a duration"));
    }

    #[test]
    fn sizes_accept_binary_and_decimal_units() {
        assert_eq!(parse_bytes("256MiB").unwrap(), Bytes(256 * 1024 * 1024));
        assert_eq!(parse_bytes("1 GB").unwrap(), Bytes(1_000_000_000));
        assert_eq!(parse_bytes("64k").unwrap(), Bytes(64_000));
        assert_eq!(parse_bytes("100").unwrap(), Bytes(100));
        assert!(parse_bytes("5 parsecs").unwrap_err().contains("unknown size unit"));
    }

    #[test]
    fn sizes_display_in_binary_units() {
        assert_eq!(Bytes(512 * 1024 * 1024).to_string(), "512 MiB");
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Bytes(12).to_string(), "12 B");
    }
}
