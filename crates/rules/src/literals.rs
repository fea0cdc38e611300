//! The literals a regular expression cannot match without: a necessary condition over
//! "the case-folded value contains this text", for the prefilter (see `prefilter`).
//!
//! Worked out from the pattern's syntax tree (`regex-syntax`, the parser the `regex`
//! crate itself uses): runs of literal characters in a concatenation are required,
//! both sides of a concatenation are required, one branch of an alternation is, and a
//! repetition's body is when it must occur at least once. Only ASCII is taken into a
//! literal, and a case-insensitive class counts as its letter only when every member
//! lowercases to that letter, so the condition holds on the lowercased value that the
//! prefilter scans (the long s `ſ`, which `(?i)s` matches but which lowercases to
//! itself, ends a literal there).

use regex_syntax::hir::{Class, Hir, HirKind};

/// A necessary condition over required substrings of the case-folded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    /// Nothing is known to be required.
    True,
    /// The folded value contains this (lowercase ASCII) text.
    Lit(String),
    /// Every part holds.
    All(Vec<Need>),
    /// At least one part holds.
    Any(Vec<Need>),
}

/// The necessary condition of `pattern`; `Need::True` when it cannot be parsed here
/// (the `regex` crate reports real syntax errors when the rule compiles).
///
/// Literals of [`MIN_LITERAL`] characters or more are preferred; a pattern that has
/// none (SigmaHQ's ``\w+`(?:\w+|-|.)`[\w+|\s]``) is conditioned on its shorter ones,
/// which still spare the evaluation of the pattern on every value without them.
pub(crate) fn required(pattern: &str) -> Need {
    match regex_syntax::Parser::new().parse(pattern) {
        Ok(hir) => match need(&hir, MIN_LITERAL) {
            Need::True => need(&hir, 1),
            need => need,
        },
        Err(_) => Need::True,
    }
}

/// The condition "the value contains `text`" (a plain part of a wildcard pattern),
/// in folded form. Lowercasing is per character, so a value containing `text`
/// contains it lowercased once lowercased itself, except around a capital sigma,
/// whose lowercase depends on what follows: such text, and text too short to be
/// worth scanning for, requires nothing.
pub(crate) fn contained(text: &str) -> Need {
    if text.len() < MIN_LITERAL || text.contains('\u{3a3}') {
        Need::True
    } else {
        Need::Lit(text.to_lowercase())
    }
}

/// Every one of `parts`.
pub(crate) fn all_of(mut parts: Vec<Need>) -> Need {
    parts.retain(|p| *p != Need::True);
    match parts.len() {
        0 => Need::True,
        1 => parts.pop().unwrap_or(Need::True),
        _ => Need::All(parts),
    }
}

/// The condition of `hir` over its literals of `min` characters or more.
fn need(hir: &Hir, min: usize) -> Need {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Need::True,
        HirKind::Literal(_) | HirKind::Class(_) | HirKind::Concat(_) => {
            concat(std::slice::from_ref(hir), min)
        }
        HirKind::Capture(capture) => need(&capture.sub, min),
        HirKind::Repetition(rep) if rep.min >= 1 => need(&rep.sub, min),
        HirKind::Repetition(_) => Need::True,
        HirKind::Alternation(branches) => {
            let needs: Vec<Need> = branches.iter().map(|b| need(b, min)).collect();
            if needs.contains(&Need::True) {
                Need::True
            } else {
                Need::Any(needs)
            }
        }
    }
}

/// The condition of a sequence: its literal runs and its other parts' conditions.
fn concat(items: &[Hir], min: usize) -> Need {
    let mut parts = Vec::new();
    let mut run = String::new();
    walk(items, min, &mut run, &mut parts);
    flush(&mut run, min, &mut parts);
    all_of(parts)
}

/// Adds `items` to the current literal `run`, ending it where a non-literal comes.
fn walk(items: &[Hir], min: usize, run: &mut String, parts: &mut Vec<Need>) {
    for item in items {
        match item.kind() {
            HirKind::Concat(children) => walk(children, min, run, parts),
            HirKind::Literal(literal) => {
                for &byte in literal.0.iter() {
                    if byte.is_ascii() {
                        run.push(byte.to_ascii_lowercase() as char);
                    } else {
                        flush(run, min, parts);
                    }
                }
            }
            HirKind::Class(class) => match folded_char(class) {
                Some(c) => run.push(c),
                None => flush(run, min, parts),
            },
            // Zero-width: the characters on either side are still adjacent.
            HirKind::Empty | HirKind::Look(_) => {}
            _ => {
                flush(run, min, parts);
                parts.push(need(item, min));
            }
        }
    }
}

/// Literals shorter than this are left out while a pattern has longer ones: they occur
/// in many more values, so they select fewer rules out.
const MIN_LITERAL: usize = 3;

/// Ends the literal `run`, kept if it has `min` characters or more.
fn flush(run: &mut String, min: usize, parts: &mut Vec<Need>) {
    if run.len() >= min {
        parts.push(Need::Lit(std::mem::take(run)));
    }
    run.clear();
}

/// The one lowercase ASCII character every member of `class` lowercases to, if any.
fn folded_char(class: &Class) -> Option<char> {
    let mut members = Vec::new();
    match class {
        Class::Unicode(class) => {
            for range in class.ranges() {
                if u32::from(range.end()) - u32::from(range.start()) > 4 {
                    return None;
                }
                members.extend(range.start()..=range.end());
            }
        }
        Class::Bytes(class) => {
            for range in class.ranges() {
                members.extend((range.start()..=range.end()).map(char::from));
            }
        }
    }
    let first = *members.first()?;
    let lower = single_lowercase(first)?;
    (lower.is_ascii() && members.iter().all(|&m| single_lowercase(m) == Some(lower)))
        .then_some(lower)
}

fn single_lowercase(c: char) -> Option<char> {
    let mut lower = c.to_lowercase();
    let first = lower.next()?;
    lower.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Need {
        Need::Lit(s.to_owned())
    }

    #[test]
    fn literal_runs_and_alternations() {
        assert_eq!(
            required(r"ipconfig\s+/all"),
            Need::All(vec![lit("ipconfig"), lit("/all")])
        );
        assert_eq!(
            required(r"(?i)net\s+(config|view)"),
            Need::All(vec![
                lit("net"),
                Need::Any(vec![lit("config"), lit("view")])
            ])
        );
        assert_eq!(
            required(r"\$VerbosePreference\.ToString\("),
            lit("$verbosepreference.tostring(")
        );
        assert_eq!(required(r"^abc$"), lit("abc"));
    }

    #[test]
    fn optional_parts_and_unknowns_require_nothing() {
        assert_eq!(required(r"a?"), Need::True);
        assert_eq!(required(r"(abc|\d+)"), Need::True);
        assert_eq!(required(r".*"), Need::True);
        assert_eq!(
            required(r"(abc)+xyz"),
            Need::All(vec![lit("abc"), lit("xyz")])
        );
        assert_eq!(required(r"(abc|\d)"), Need::True);
        assert_eq!(required(r"("), Need::True);
    }

    #[test]
    fn patterns_without_long_literals_need_their_short_ones() {
        assert_eq!(
            required(r"(abc|xy)"),
            Need::Any(vec![lit("abc"), lit("xy")])
        );
        assert_eq!(
            required(r"\w+`(?:\w+|-|.)`[\w+|\s]"),
            Need::All(vec![lit("`"), lit("`")])
        );
        assert_eq!(
            required(r"(?i)\$\{`?e"),
            Need::All(vec![lit("${"), lit("e")])
        );
        // Long literals, where there are any, are all that is kept.
        assert_eq!(required(r"ab\d+cdef"), lit("cdef"));
    }

    #[test]
    fn plain_parts_of_wildcards() {
        assert_eq!(contained("\u{fe0f}\u{20e3}"), lit("\u{fe0f}\u{20e3}"));
        assert_eq!(contained("CMD.exe"), lit("cmd.exe"));
        assert_eq!(contained("ab"), Need::True);
        assert_eq!(contained("ΣΑΣ"), Need::True);
        assert_eq!(all_of(vec![Need::True, lit("abc")]), lit("abc"));
    }

    #[test]
    fn case_insensitive_letters_fold_except_the_long_s() {
        // (?i)k also matches the Kelvin sign, which lowercases to k.
        assert_eq!(required(r"(?i)kbd"), lit("kbd"));
        // (?i)s also matches ſ, which lowercases to itself: the run ends there.
        assert_eq!(required(r"(?i)abcs"), lit("abc"));
        assert_eq!(required(r"(?i)systeminfo"), lit("teminfo"));
        // Non-ASCII ends a run.
        assert_eq!(
            required(r"abcé b12"),
            Need::All(vec![lit("abc"), lit(" b12")])
        );
    }
}
