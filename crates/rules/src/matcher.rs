//! Value matchers: a Sigma value with its modifiers, compiled once into something that
//! answers "does this event value match" without re-reading the rule.
//!
//! Semantics follow the Sigma specification v2.1 and pySigma where the specification
//! is silent: strings match case-insensitively unless `cased`; `*` and `?` are
//! wildcards and `\` escapes them; a rule integer matches the same number written as a
//! string; regular expressions are case-sensitive unless flagged `i`. Case-insensitive
//! tests compare lowercased text (`str::to_lowercase`), wildcard patterns included:
//! their pattern is lowercased and matched against the lowercased value, which each
//! event folds once for all rules.

use std::net::IpAddr;
use std::ops::Range;
use std::sync::OnceLock;

use dozor_event::Value;
use ipnet::IpNet;
use regex::Regex;
use rsigma_parser::{SigmaString, SpecialChar, StringPart};

use crate::error::{RuleError, invalid};
use crate::literals::{self, Need};

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
    /// A wildcard pattern (`*`, `?` inside the value), compiled to an anchored regex,
    /// with what its plain parts require of the value.
    Wildcard { regex: LazyRegex, required: Need },
    /// A regular expression (`re` modifier), on the value as it is.
    Regex(LazyRegex),
}

/// The lazy DFA cache of each regex (the regex crate's default is 2 MiB). Sigma
/// rules repeat Unicode classes (`\w{1,64}`, `[^\\]{1,256}`), whose lazy DFA needs
/// more than the default to be built at all; without it the regex engine falls back
/// to backtracking, which clears a bitmap of (pattern states x value length) bits on
/// every call: 4% of all instructions on the process-creation benchmark lane. The
/// cache grows only as states are made, so the limit costs nothing where unused.
const LAZY_DFA_BYTES: usize = 8 << 20;

/// A regular expression whose syntax is checked when the rule loads and which is
/// compiled the first time it runs: the prefilter keeps most rules of a large set from
/// ever running their regexes, and compiling all of SigmaHQ's up front was a fifth of
/// loading it. A pattern that passes the syntax check but that the regex engine still
/// refuses (its size limit) matches nothing.
///
/// Values that are pure ASCII (nearly all, in practice) run a second compilation of
/// the pattern with Unicode mode off, which gives the same answers on them: every
/// Unicode class (`\w`, `\d`, `\s`, `.`, `[^x]`), word boundary and case-insensitive
/// letter holds of an ASCII character exactly when its ASCII form does. Its automaton is
/// a fraction of the Unicode one's (`\w{1,64}` is 64 copies of Unicode's word class),
/// so it is cheaper to build and its lazy DFA does not thrash: SigmaHQ's svchost rule
/// (`-k\s\w{1,64}`) took 7 us per command line in Unicode mode.
#[derive(Debug, Clone)]
pub(crate) struct LazyRegex {
    pattern: String,
    /// For ASCII values; `None` inside when the pattern needs Unicode mode (`\p{..}`).
    ascii: OnceLock<Option<regex::bytes::Regex>>,
    unicode: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// The regex `pattern`, if its syntax is valid; else why not.
    fn new(pattern: String) -> Result<Self, String> {
        regex_syntax::Parser::new()
            .parse(&pattern)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            pattern,
            ascii: OnceLock::new(),
            unicode: OnceLock::new(),
        })
    }

    /// The pattern, with its flags.
    fn as_str(&self) -> &str {
        &self.pattern
    }

    fn is_match(&self, text: &str) -> bool {
        if text.is_ascii() {
            let ascii = self.ascii.get_or_init(|| {
                regex::bytes::RegexBuilder::new(&self.pattern)
                    .unicode(false)
                    .dfa_size_limit(LAZY_DFA_BYTES)
                    .build()
                    .ok()
            });
            if let Some(regex) = ascii {
                return regex.is_match(text.as_bytes());
            }
        }
        self.unicode
            .get_or_init(|| {
                regex::RegexBuilder::new(&self.pattern)
                    .dfa_size_limit(LAZY_DFA_BYTES)
                    .build()
                    .ok()
            })
            .as_ref()
            .is_some_and(|regex| regex.is_match(text))
    }
}

/// One compiled string matcher.
#[derive(Debug, Clone)]
pub(crate) struct StrMatcher {
    test: StrTest,
    /// Compare case-sensitively (needles of case-insensitive tests are lowercase).
    cased: bool,
    /// The prefilter atom of this test's needle, once the rule set has indexed it.
    atom: Option<u32>,
    /// A substring searcher for `Contains`, built once.
    finder: Option<Box<memchr::memmem::Finder<'static>>>,
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
                let mut pattern = String::from("(?s)^");
                for part in parts {
                    match part {
                        StringPart::Plain(s) => pattern.push_str(&regex::escape(&fold(s))),
                        StringPart::Special(SpecialChar::WildcardMulti) => pattern.push_str(".*"),
                        StringPart::Special(SpecialChar::WildcardSingle) => pattern.push('.'),
                    }
                }
                pattern.push('$');
                let regex = LazyRegex::new(pattern)
                    .map_err(|e| invalid(format!("wildcard pattern: {e}")))?;
                let required = literals::all_of(
                    parts
                        .iter()
                        .filter_map(plain)
                        .map(literals::contained)
                        .collect(),
                );
                StrTest::Wildcard { regex, required }
            }
        };
        Ok(Self::new(test, cased))
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
        Self::new(test, cased)
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
        let regex = LazyRegex::new(full)
            .map_err(|e| invalid(format!("regular expression {pattern:?}: {e}")))?;
        Ok(Self::new(StrTest::Regex(regex), true))
    }

    fn new(test: StrTest, cased: bool) -> Self {
        let finder = match &test {
            StrTest::Contains(n) => Some(Box::new(
                memchr::memmem::Finder::new(n.as_bytes()).into_owned(),
            )),
            _ => None,
        };
        Self {
            test,
            cased,
            atom: None,
            finder,
        }
    }

    /// The prefilter atom of a case-insensitive literal test, once indexed: when the
    /// scan did not find it, the test does not match.
    pub(crate) fn needle_atom(&self) -> Option<u32> {
        self.needle().and(self.atom)
    }

    /// Records the prefilter atom of this test's needle.
    pub(crate) fn set_atom(&mut self, atom: u32) {
        self.atom = Some(atom);
    }

    /// The case-folded needle of a case-insensitive substring test: the value matches
    /// when its folded text contains it.
    pub(crate) fn substring(&self) -> Option<&str> {
        match &self.test {
            StrTest::Contains(needle) if !self.cased => Some(needle),
            _ => None,
        }
    }

    /// The case-folded literal every match contains, when the test is a
    /// case-insensitive equality, prefix, suffix or substring test: its answer can be
    /// read off the prefilter's scan (see `prefilter`).
    pub(crate) fn needle(&self) -> Option<&str> {
        if self.cased {
            return None;
        }
        match &self.test {
            StrTest::Exact(n) | StrTest::Prefix(n) | StrTest::Suffix(n) | StrTest::Contains(n) => {
                Some(n.as_str())
            }
            StrTest::Wildcard { .. } | StrTest::Regex(_) => None,
        }
    }

    /// What the case-folded value must contain for any test to match: the needle, the
    /// literal runs of a pattern, or (for case-sensitive tests) the folded ASCII needle.
    pub(crate) fn required(&self) -> Need {
        if let Some(needle) = self.needle() {
            return Need::Lit(needle.to_owned());
        }
        match &self.test {
            StrTest::Exact(n) | StrTest::Prefix(n) | StrTest::Suffix(n) | StrTest::Contains(n)
                if n.is_ascii() && !n.is_empty() =>
            {
                Need::Lit(n.to_ascii_lowercase())
            }
            StrTest::Wildcard { required, .. } => required.clone(),
            StrTest::Regex(regex) => literals::required(regex.as_str()),
            _ => Need::True,
        }
    }

    /// Whether `text` matches.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        if let StrTest::Regex(regex) = &self.test {
            return regex.is_match(text);
        }
        let text = if self.cased {
            std::borrow::Cow::Borrowed(text)
        } else {
            fold(text)
        };
        self.is_match_folded(&text)
    }

    /// Whether `text`, already folded unless the test is cased, matches.
    fn is_match_folded(&self, text: &str) -> bool {
        match &self.test {
            StrTest::Exact(n) => text == n,
            StrTest::Prefix(n) => text.starts_with(n.as_str()),
            StrTest::Suffix(n) => text.ends_with(n.as_str()),
            StrTest::Contains(n) => match &self.finder {
                Some(finder) => finder.find(text.as_bytes()).is_some(),
                None => text.contains(n.as_str()),
            },
            StrTest::Wildcard { regex, .. } | StrTest::Regex(regex) => regex.is_match(text),
        }
    }
}

impl StrMatcher {
    /// Whether the value whose case-folded texts are `folds` matches: the same answer
    /// as [`StrMatcher::is_match`] on each text, with the folding done once per event.
    pub(crate) fn is_match_value(&self, value: &Value, folds: &mut Folds) -> bool {
        if self.cased || matches!(self.test, StrTest::Regex(_)) {
            return for_each_text(value, |t| self.is_match(t));
        }
        // The prefilter scanned this value for the needle already: not found means no
        // match, and for a substring test found means a match.
        if let (Some(atom), Some(hits)) = (self.atom, folds.hits()) {
            if !crate::prefilter::bit(hits, atom as usize) {
                return false;
            }
            if matches!(self.test, StrTest::Contains(_)) {
                return true;
            }
        }
        folds.any_text(value, |text| self.is_match_folded(text))
    }
}

/// The case-folded texts of the values one event's evaluation has looked at, each
/// folded once however many rules test it, into one buffer that is reused from event
/// to event. Keys are the values' addresses, which stay put while the event is
/// borrowed; [`Folds::clear`] between events.
#[derive(Debug, Default)]
pub(crate) struct Folds {
    /// Per value: its address and its texts' range in `spans`.
    entries: Vec<(usize, Range<usize>)>,
    /// Each folded text's range in `buf`.
    spans: Vec<Range<usize>>,
    buf: String,
    /// The prefilter's atoms found in this event, once it has scanned it.
    hits: Hits,
    scanned: bool,
}

/// The prefilter's atoms found in one event: a bit set over every atom, read a bit at
/// a time by the matchers, and the words of it that are not zero. Clearing it and
/// visiting the atoms found cost what was found, not the size of the set: SigmaHQ's
/// Windows rules have about a thousand words of atoms, and zeroing and walking them
/// all took about 3,000 instructions per event.
#[derive(Debug, Default)]
pub(crate) struct Hits {
    bits: Vec<u64>,
    /// The index of each word of `bits` that is not zero, in the order they were set.
    touched: Vec<u32>,
}

impl Hits {
    /// Clears the set and makes it hold `words` words.
    pub(crate) fn reset(&mut self, words: usize) {
        self.clear();
        self.bits.resize(words, 0);
    }

    /// Clears the set.
    fn clear(&mut self) {
        for &word in &self.touched {
            self.bits[word as usize] = 0;
        }
        self.touched.clear();
    }

    /// Adds `atom` (an atom past the set's end is ignored).
    #[inline(always)]
    pub(crate) fn insert(&mut self, atom: usize) {
        let at = atom / 64;
        if let Some(word) = self.bits.get_mut(at) {
            if *word == 0 {
                self.touched.push(at as u32);
            }
            *word |= 1 << (atom % 64);
        }
    }

    /// The set as words.
    pub(crate) fn bits(&self) -> &[u64] {
        &self.bits
    }

    /// The words that are not zero, as (index, word).
    pub(crate) fn words(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.touched
            .iter()
            .map(|&at| (at as usize, self.bits[at as usize]))
    }
}

impl Folds {
    /// Forgets the previous event.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.spans.clear();
        self.buf.clear();
        self.hits.clear();
        self.scanned = false;
    }

    /// Where the prefilter records the atoms it finds in this event.
    pub(crate) fn hits_mut(&mut self) -> &mut Hits {
        self.scanned = true;
        &mut self.hits
    }

    /// The atoms found in this event, if the prefilter scanned it.
    pub(crate) fn hits(&self) -> Option<&[u64]> {
        self.scanned.then_some(self.hits.bits())
    }

    /// Whether `f` holds for a folded text of `value` (one per text form, as
    /// [`for_each_text`] visits them).
    pub(crate) fn any_text(&mut self, value: &Value, mut f: impl FnMut(&str) -> bool) -> bool {
        let texts = self.entry(value);
        self.spans[texts]
            .iter()
            .any(|span| f(&self.buf[span.clone()]))
    }

    /// Hands each folded text of `value` to `scan` with the event's atom bits, which
    /// the prefilter sets as it finds needles: the texts it folds are the ones the
    /// matchers use later.
    pub(crate) fn scan_texts(&mut self, value: &Value, mut scan: impl FnMut(&str, &mut Hits)) {
        let texts = self.entry(value);
        self.scanned = true;
        for span in &self.spans[texts] {
            scan(&self.buf[span.clone()], &mut self.hits);
        }
    }

    /// The range in `spans` of the folded texts of `value`, folding them the first time.
    fn entry(&mut self, value: &Value) -> Range<usize> {
        let key = std::ptr::from_ref(value) as usize;
        if let Some((_, texts)) = self.entries.iter().find(|(k, _)| *k == key) {
            return texts.clone();
        }
        let first = self.spans.len();
        let (buf, spans) = (&mut self.buf, &mut self.spans);
        for_each_text(value, |text| {
            let start = buf.len();
            push_folded(buf, text);
            spans.push(start..buf.len());
            false
        });
        let texts = first..self.spans.len();
        self.entries.push((key, texts.clone()));
        texts
    }
}

/// Appends `text` case-folded as [`fold`] folds it. Runs of ASCII are copied and
/// lowercased in place, other characters lowercased one by one: the same as
/// `str::to_lowercase` except for `Σ`, whose lowercase depends on its neighbours and
/// which is left to it. `to_lowercase` goes character by character from the first
/// non-ASCII one (Sysmon's `Product`, `Microsoft® Windows® Operating System`): about
/// 1,700 instructions for such a value, against about 1,000 here.
fn push_folded(buf: &mut String, text: &str) {
    if text.is_ascii() {
        let start = buf.len();
        buf.push_str(text);
        buf[start..].make_ascii_lowercase();
        return;
    }
    if text.contains('Σ') {
        buf.push_str(&text.to_lowercase());
        return;
    }
    let mut rest = text;
    while !rest.is_empty() {
        let ascii = rest
            .bytes()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let start = buf.len();
        buf.push_str(&rest[..ascii]);
        buf[start..].make_ascii_lowercase();
        let mut chars = rest[ascii..].chars();
        if let Some(c) = chars.next() {
            buf.extend(c.to_lowercase());
        }
        rest = chars.as_str();
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

/// `text` case-folded as case-insensitive matchers see it.
fn fold(text: &str) -> std::borrow::Cow<'_, str> {
    if needs_folding(text) {
        std::borrow::Cow::Owned(text.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
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
    use proptest::prelude::*;

    #[test]
    fn hits_clear_what_was_found_and_list_its_words() {
        let mut hits = Hits::default();
        hits.reset(4);
        for atom in [3, 70, 65, 200, 255, 256, 9_999] {
            hits.insert(atom);
        }
        let mut words: Vec<(usize, u64)> = hits.words().collect();
        words.sort_unstable();
        assert_eq!(
            words,
            [(0, 1 << 3), (1, 1 << 6 | 1 << 1), (3, 1 << 8 | 1 << 63)]
        );
        assert_eq!(hits.bits(), [1 << 3, 1 << 6 | 1 << 1, 0, 1 << 8 | 1 << 63]);
        hits.reset(6);
        assert_eq!(hits.bits(), [0; 6]);
        assert_eq!(hits.words().count(), 0);
        hits.insert(330);
        hits.reset(2);
        assert_eq!(hits.bits(), [0; 2]);
        hits.reset(6);
        assert_eq!(
            hits.bits(),
            [0; 6],
            "a word cut off and grown back is clear"
        );
    }

    proptest! {
        /// Folding into the buffer gives what `str::to_lowercase` gives, with the
        /// characters whose lowercase is longer, shorter or contextual among ASCII.
        #[test]
        fn folding_is_str_to_lowercase(text in "[aZ09 \\\\®ÉßİΣσςẞK\u{10400}]{0,24}") {
            let mut buf = String::from("kept");
            push_folded(&mut buf, &text);
            prop_assert_eq!(buf, format!("kept{}", text.to_lowercase()));
        }
    }

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
    fn folds_are_kept_per_value_and_match_fold() {
        let mut folds = Folds::default();
        let a = Value::from("C:\\Windows\\CMD.EXE");
        let b = Value::List(vec![Value::from("ΣΑΣ ΑΣ"), Value::Int(42)]);
        let mut seen = Vec::new();
        for value in [&a, &b, &a] {
            folds.any_text(value, |t| {
                seen.push(t.to_owned());
                false
            });
        }
        let expected = [
            r"c:\windows\cmd.exe",
            &fold("ΣΑΣ ΑΣ"),
            "42",
            r"c:\windows\cmd.exe",
        ];
        assert_eq!(seen, expected);
        assert_eq!(folds.entries.len(), 2);
        folds.clear();
        assert!(folds.buf.is_empty() && folds.hits().is_none());
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

    #[test]
    fn regexes_keep_unicode_meaning_on_ascii_and_other_values() {
        let word = StrMatcher::regex(r"^-k\s\w{1,3}$", false, false, false).expect("compiles");
        assert!(word.is_match("-k net"));
        assert!(word.is_match("-k n\u{e9}t"));
        assert!(!word.is_match("-k n-t"));
        let any = StrMatcher::regex("^a.c$", false, false, false).expect("compiles");
        assert!(any.is_match("abc"));
        assert!(any.is_match("a\u{e9}c"));
        assert!(!any.is_match("a\u{e9}\u{e9}c"));
        // Unicode case folding: the Kelvin sign folds to k.
        let kelvin = StrMatcher::regex("^k$", true, false, false).expect("compiles");
        assert!(kelvin.is_match("K"));
        assert!(kelvin.is_match("\u{212a}"));
        let boundary = StrMatcher::regex(r"\bx\b", false, false, false).expect("compiles");
        assert!(boundary.is_match("a x b"));
        assert!(!boundary.is_match("axb"));
        assert!(!boundary.is_match("\u{e9}x"));
        // A class only Unicode mode knows, on ASCII values too.
        let greek = StrMatcher::regex(r"^\p{Greek}+$", false, false, false).expect("compiles");
        assert!(greek.is_match("\u{3b1}\u{3b2}"));
        assert!(!greek.is_match("ab"));
    }
}
