//! Value matchers: a Sigma value with its modifiers, compiled once into something that
//! answers "does this event value match" without re-reading the rule.
//!
//! Semantics follow the Sigma specification v2.1 and pySigma where the specification
//! is silent: strings match case-insensitively unless `cased`; `*` and `?` are
//! wildcards and `\` escapes them; a rule integer matches the same number written as a
//! string; regular expressions are case-sensitive unless flagged `i`.

use std::net::IpAddr;

use dozor_event::Value;
use ipnet::IpNet;
use regex::Regex;
use rsigma_parser::{SigmaString, SpecialChar, StringPart};

use crate::error::{RuleError, invalid};

/// How a string is compared.
#[derive(Debug, Clone)]
pub(crate) enum StrTest {
    /// The whole value equals the needle.
    Exact(String),
    /// The value starts with the needle.
    Prefix(String),
    /// The value ends with the needle.
    Suffix(String),
    /// The value contains the needle.
    Contains(String),
    /// A wildcard pattern or regular expression.
    Regex(Regex),
}

/// One compiled string matcher.
#[derive(Debug, Clone)]
pub(crate) struct StrMatcher {
    test: StrTest,
    /// Compare case-sensitively (needles of case-insensitive tests are lowercase).
    cased: bool,
}

impl StrMatcher {
    /// A matcher for the Sigma string `s`, as equality with wildcards, optionally
    /// anchored only at one end or neither (`startswith`, `endswith`, `contains`).
    pub(crate) fn from_sigma(
        s: &SigmaString,
        prefix_wild: bool,
        suffix_wild: bool,
        cased: bool,
    ) -> Result<Self, RuleError> {
        let mut parts = s.parts.clone();
        if prefix_wild {
            parts.insert(0, StringPart::Special(SpecialChar::WildcardMulti));
        }
        if suffix_wild {
            parts.push(StringPart::Special(SpecialChar::WildcardMulti));
        }
        Self::from_parts(&parts, cased)
    }

    fn from_parts(parts: &[StringPart], cased: bool) -> Result<Self, RuleError> {
        let fold = |s: &str| {
            if cased {
                s.to_owned()
            } else {
                s.to_lowercase()
            }
        };
        let star = |p: &StringPart| matches!(p, StringPart::Special(SpecialChar::WildcardMulti));
        fn plain(p: &StringPart) -> Option<&str> {
            match p {
                StringPart::Plain(s) => Some(s.as_str()),
                StringPart::Special(_) => None,
            }
        }
        let test = match parts {
            [] => StrTest::Exact(String::new()),
            [p] if plain(p).is_some() => StrTest::Exact(fold(plain(p).unwrap_or_default())),
            [p, s] if plain(p).is_some() && star(s) => {
                StrTest::Prefix(fold(plain(p).unwrap_or_default()))
            }
            [s, p] if star(s) && plain(p).is_some() => {
                StrTest::Suffix(fold(plain(p).unwrap_or_default()))
            }
            [s1, p, s2] if star(s1) && star(s2) && plain(p).is_some() => {
                StrTest::Contains(fold(plain(p).unwrap_or_default()))
            }
            _ => {
                let mut pattern = String::from(if cased { "(?s)^" } else { "(?si)^" });
                for part in parts {
                    match part {
                        StringPart::Plain(s) => pattern.push_str(&regex::escape(s)),
                        StringPart::Special(SpecialChar::WildcardMulti) => pattern.push_str(".*"),
                        StringPart::Special(SpecialChar::WildcardSingle) => pattern.push('.'),
                    }
                }
                pattern.push('$');
                StrTest::Regex(
                    Regex::new(&pattern).map_err(|e| invalid(format!("wildcard pattern: {e}")))?,
                )
            }
        };
        Ok(Self { test, cased })
    }

    /// A matcher for a literal needle (no wildcards).
    pub(crate) fn literal(needle: &str, how: Anchor, cased: bool) -> Self {
        let needle = if cased {
            needle.to_owned()
        } else {
            needle.to_lowercase()
        };
        let test = match how {
            Anchor::Exact => StrTest::Exact(needle),
            Anchor::Prefix => StrTest::Prefix(needle),
            Anchor::Suffix => StrTest::Suffix(needle),
            Anchor::Contains => StrTest::Contains(needle),
        };
        Self { test, cased }
    }

    /// A regular-expression matcher (`re` modifier); case-sensitive unless `i`.
    pub(crate) fn regex(
        pattern: &str,
        ignore_case: bool,
        multiline: bool,
        dot_all: bool,
    ) -> Result<Self, RuleError> {
        let mut flags = String::new();
        if ignore_case {
            flags.push('i');
        }
        if multiline {
            flags.push('m');
        }
        if dot_all {
            flags.push('s');
        }
        let full = if flags.is_empty() {
            pattern.to_owned()
        } else {
            format!("(?{flags}){pattern}")
        };
        let regex = Regex::new(&full)
            .map_err(|e| invalid(format!("regular expression {pattern:?}: {e}")))?;
        Ok(Self {
            test: StrTest::Regex(regex),
            cased: true,
        })
    }

    /// Whether `text` matches.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        if let StrTest::Regex(regex) = &self.test {
            return regex.is_match(text);
        }
        let folded;
        let text = if self.cased || !needs_folding(text) {
            text
        } else {
            folded = text.to_lowercase();
            folded.as_str()
        };
        match &self.test {
            StrTest::Exact(n) => text == n,
            StrTest::Prefix(n) => text.starts_with(n.as_str()),
            StrTest::Suffix(n) => text.ends_with(n.as_str()),
            StrTest::Contains(n) => text.contains(n.as_str()),
            StrTest::Regex(_) => false,
        }
    }
}

/// Where a literal needle must sit in the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The whole value.
    Exact,
    /// At the start.
    Prefix,
    /// At the end.
    Suffix,
    /// Anywhere.
    Contains,
}

fn needs_folding(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80)
}

/// The text forms of an event value a string matcher is tried against: a list
/// matches when any element does.
pub(crate) fn for_each_text(value: &Value, mut f: impl FnMut(&str) -> bool) -> bool {
    any_text(value, &mut f)
}

fn any_text(value: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match value {
        Value::Str(s) => f(s),
        Value::List(items) => items.iter().any(|item| any_text(item, f)),
        Value::Int(n) => f(&n.to_string()),
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
        other => f(&other.to_string()),
    }
}

/// The number an event value holds, if any (numbers written as text count).
pub(crate) fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Int(n) => Some(*n as f64),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The address an event value holds, if any.
pub(crate) fn ip_of(value: &Value) -> Option<IpAddr> {
    match value {
        Value::Ip(ip) => Some(*ip),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A CIDR network from a rule value.
pub(crate) fn parse_cidr(text: &str) -> Result<IpNet, RuleError> {
    text.trim()
        .parse::<IpNet>()
        .or_else(|_| text.trim().parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| invalid(format!("not a CIDR network: {text:?}")))
}

/// Numeric comparison operators (`lt`, `lte`, `gt`, `gte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Compare {
    pub(crate) fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Compare::Lt => left < right,
            Compare::Lte => left <= right,
            Compare::Gt => left > right,
            Compare::Gte => left >= right,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigma(s: &str, pre: bool, post: bool, cased: bool) -> StrMatcher {
        StrMatcher::from_sigma(&SigmaString::new(s), pre, post, cased).expect("compiles")
    }

    #[test]
    fn equality_is_case_insensitive_unless_cased() {
        assert!(sigma("api.telegram.org", false, false, false).is_match("API.Telegram.ORG"));
        assert!(!sigma("api.telegram.org", false, false, true).is_match("API.Telegram.ORG"));
        assert!(!sigma("api.telegram.org", false, false, false).is_match("notapi.telegram.org"));
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(sigma("*\\cmd.exe", false, false, false).is_match("C:\\Windows\\CMD.EXE"));
        assert!(sigma("a?c", false, false, false).is_match("abc"));
        assert!(!sigma("a\\?c", false, false, false).is_match("abc"));
        assert!(sigma("a\\?c", false, false, false).is_match("a?c"));
        assert!(sigma("x*y", false, false, false).is_match("x\nany\ny"));
        assert!(
            sigma("bot", true, true, false).is_match("https://api.telegram.org/BOT123/getUpdates")
        );
    }

    #[test]
    fn unicode_folds() {
        assert!(sigma("ПРИВЕТ", true, true, false).is_match("скажи привет"));
    }

    #[test]
    fn regex_flags() {
        let m = StrMatcher::regex("^abc$", false, false, false).expect("compiles");
        assert!(!m.is_match("ABC"));
        let m = StrMatcher::regex("^abc$", true, false, false).expect("compiles");
        assert!(m.is_match("ABC"));
        assert!(StrMatcher::regex("(", false, false, false).is_err());
    }
}
