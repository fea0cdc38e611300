//! The one text form of a timestamp in Dozor's output.

use jiff::Timestamp;

/// Formats `t` as RFC 3339 UTC with milliseconds, e.g. `2017-12-21T10:53:01.382Z`.
pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_are_always_printed() {
        let t: Timestamp = "2017-12-21T10:53:01Z".parse().expect("valid");
        assert_eq!(format_time(t), "2017-12-21T10:53:01.000Z");
        let t: Timestamp = "2020-02-10T15:58:31.668472500Z".parse().expect("valid");
        assert_eq!(format_time(t), "2020-02-10T15:58:31.668Z");
    }
}
