//! Detections: the named selections of a rule, compiled from the parser's AST into
//! trees of field tests.

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dozor_event::{Event, Field, Timestamp, Value, taxonomy};
use ipnet::IpNet;
use jiff::tz::TimeZone;
use rsigma_parser::{Detection, DetectionItem, Modifier, SigmaString, SigmaValue, StringPart};

use crate::error::{RuleError, invalid, unsupported};
use crate::fields::{Accessor, FieldMappings};
use crate::lists::{Entry, Lists};
use crate::logsource::LogSource;
use crate::matcher::{
    Anchor, Compare, Folds, StrMatcher, for_each_text, ip_of, number_of, parse_cidr,
};
use crate::prefilter::{Atoms, Req, bit};

/// What compiling a detection needs to know.
pub(crate) struct CompileContext<'a> {
    pub logsource: &'a LogSource,
    pub mappings: &'a FieldMappings,
    pub lists: &'a Lists,
}

/// A compiled detection (one named selection, or part of one).
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Every child matches.
    All(Vec<Node>),
    /// At least one child matches.
    Any(Vec<Node>),
    /// One field test.
    Item(Item),
    /// Full-text keywords: any of them occurs in the original record.
    Keywords(Keywords),
}

/// A detection's keywords. The plain ones (case-insensitive substrings, most of
/// SigmaHQ's) are searched for together in the folded record, by `aho-corasick`'s
/// Teddy (a vector search that passes over 16 or 32 bytes at a time) where the
/// processor has it, rather than one substring search each: keywords have no field to
/// index in the prefilter, so a rule of keywords is a candidate for every event of its
/// logsource. On the mixed lane SigmaHQ's Mimikatz rule (20 keywords, every Windows
/// event) took 8% of `hunt`'s instructions with a search per keyword; the automaton
/// itself does worse there, as its byte prefilter stops at every `:` of a JSON record.
#[derive(Debug, Clone)]
pub(crate) struct Keywords {
    /// Any of the plain keywords, folded.
    plain: Option<PlainKeywords>,
    /// The others (wildcards, regular expressions), each tested on its own.
    others: Vec<StrMatcher>,
}

/// The search for a detection's plain keywords.
#[derive(Debug, Clone)]
enum PlainKeywords {
    /// Teddy, for up to 128 keywords on a processor with SSSE3 or AVX2.
    Teddy(aho_corasick::packed::Searcher),
    /// An Aho-Corasick automaton otherwise.
    Automaton(AhoCorasick),
}

impl PlainKeywords {
    fn new(needles: &[&str]) -> Result<Self, RuleError> {
        let mut config = aho_corasick::packed::Config::new();
        config.heuristic_pattern_limits(false);
        if let Some(teddy) = config.builder().extend(needles).build() {
            return Ok(Self::Teddy(teddy));
        }
        AhoCorasick::new(needles)
            .map(Self::Automaton)
            .map_err(|e| invalid(format!("keywords: {e}")))
    }

    fn is_match(&self, text: &str) -> bool {
        match self {
            Self::Teddy(teddy) => teddy.find(text).is_some(),
            Self::Automaton(automaton) => automaton.is_match(text),
        }
    }
}

impl Keywords {
    fn new(matchers: Vec<StrMatcher>) -> Result<Self, RuleError> {
        let (plain, others): (Vec<StrMatcher>, Vec<StrMatcher>) =
            matchers.into_iter().partition(|m| m.substring().is_some());
        let needles: Vec<&str> = plain.iter().filter_map(StrMatcher::substring).collect();
        let plain = if needles.is_empty() {
            None
        } else {
            Some(PlainKeywords::new(&needles)?)
        };
        Ok(Self { plain, others })
    }

    fn matches(&self, body: &Value, folds: &mut Folds) -> bool {
        self.plain
            .as_ref()
            .is_some_and(|plain| folds.any_text(body, |text| plain.is_match(text)))
            || self.others.iter().any(|m| m.is_match_value(body, folds))
    }
}

impl Node {
    /// Adds the taxonomy fields the node reads to `read`.
    pub(crate) fn taxonomy_read(&self, read: &mut Vec<Field>) {
        match self {
            Node::All(children) | Node::Any(children) => {
                children.iter().for_each(|c| c.taxonomy_read(read));
            }
            Node::Item(item) => {
                read.extend(item.field.taxonomy());
                item.test.taxonomy_read(read);
            }
            Node::Keywords(_) => read.push(taxonomy::BODY),
        }
    }

    pub(crate) fn compile(
        detection: &Detection,
        ctx: &CompileContext<'_>,
    ) -> Result<Self, RuleError> {
        Ok(match detection {
            Detection::AllOf(items) => Node::All(
                items
                    .iter()
                    .map(|item| Item::compile(item, ctx).map(Node::Item))
                    .collect::<Result<_, _>>()?,
            ),
            Detection::AnyOf(detections) => Node::Any(
                detections
                    .iter()
                    .map(|d| Node::compile(d, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Detection::And(detections) => Node::All(
                detections
                    .iter()
                    .map(|d| Node::compile(d, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Detection::Keywords(values) => Node::Keywords(Keywords::new(
                values
                    .iter()
                    .map(|v| match v {
                        SigmaValue::String(s) => StrMatcher::from_sigma(s, true, true, false),
                        other => Ok(StrMatcher::literal(
                            &other.to_string(),
                            Anchor::Contains,
                            false,
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            )?),
            Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {
                return Err(unsupported("array-matching blocks (field[any]/field[all])"));
            }
        })
    }

    /// A necessary condition of this detection for the prefilter.
    /// Records the atoms of its literal tests in them (see `prefilter`).
    pub(crate) fn req(&mut self, atoms: &mut Atoms) -> Req {
        match self {
            Node::All(children) => Req::all(children.iter_mut().map(|c| c.req(atoms)).collect()),
            Node::Any(children) => Req::any(children.iter_mut().map(|c| c.req(atoms)).collect()),
            Node::Item(item) => item.test.req(&item.field, atoms),
            Node::Keywords(_) => Req::True,
        }
    }

    pub(crate) fn matches(&self, event: &Event, folds: &mut Folds) -> bool {
        match self {
            Node::All(children) => children.iter().all(|c| c.matches(event, folds)),
            Node::Any(children) => children.iter().any(|c| c.matches(event, folds)),
            Node::Item(item) => item.matches(event, folds),
            // The body is folded once for all keywords (and all rules).
            Node::Keywords(keywords) => event
                .get(taxonomy::BODY)
                .is_some_and(|body| keywords.matches(body, folds)),
        }
    }
}

/// One field with its test.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    field: Accessor,
    test: Test,
}

/// A test of one field's value.
#[derive(Debug, Clone)]
enum Test {
    All(Vec<Test>),
    Any(Vec<Test>),
    /// `Any` of string tests that each need one prefilter atom (`atoms[i]` for
    /// `tests[i]`): only the tests whose atom the scan found are tried.
    AnyLiteral {
        atoms: Vec<u32>,
        tests: Vec<Test>,
    },
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    /// The field is absent or empty (`field: null`).
    Null,
    /// None of the inner tests holds, and the field is present (`neq`).
    NotEqual(Box<Test>),
    Str(StrMatcher),
    Number(Compare, f64),
    Cidr(IpNet),
    /// The value relates to another field's value (`fieldref`).
    FieldRef {
        other: Accessor,
        anchor: Anchor,
        cased: bool,
    },
    /// A part of a timestamp field equals a number (`minute` .. `year`).
    TimePart(TimePart, i64),
}

#[derive(Debug, Clone, Copy)]
enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Item {
    fn compile(item: &DetectionItem, ctx: &CompileContext<'_>) -> Result<Self, RuleError> {
        let Some(name) = item.field.name.as_deref() else {
            // Keywords under a modifier key (`'|all': [...]`): full-text search of the
            // original record, each value found anywhere in it.
            let mut modifiers = item.field.modifiers.clone();
            if !modifiers.iter().any(|m| {
                matches!(
                    m,
                    Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith | Modifier::Re
                )
            }) {
                modifiers.push(Modifier::Contains);
            }
            let test = compile_test(&modifiers, &item.values, ctx)?;
            return Ok(Self {
                field: Accessor::Taxonomy(taxonomy::BODY),
                test,
            });
        };
        let field = ctx.mappings.resolve(ctx.logsource, name);
        let test = compile_test(&item.field.modifiers, &item.values, ctx).map_err(|e| match e {
            RuleError::Invalid(m) => invalid(format!("field {name}: {m}")),
            RuleError::Unsupported(m) => unsupported(format!("field {name}: {m}")),
            other => other,
        })?;
        Ok(Self { field, test })
    }

    fn matches(&self, event: &Event, folds: &mut Folds) -> bool {
        self.test.holds(self.field.get(event), event, folds)
    }
}

impl Test {
    /// Adds the taxonomy fields the test reads besides its own field (`fieldref`).
    fn taxonomy_read(&self, read: &mut Vec<Field>) {
        match self {
            Test::All(tests) | Test::Any(tests) | Test::AnyLiteral { tests, .. } => {
                tests.iter().for_each(|t| t.taxonomy_read(read));
            }
            Test::NotEqual(test) => test.taxonomy_read(read),
            Test::FieldRef { other, .. } => read.extend(other.taxonomy()),
            Test::Exists(_)
            | Test::Null
            | Test::Str(_)
            | Test::Number(..)
            | Test::Cidr(_)
            | Test::TimePart(..) => {}
        }
    }

    fn req(&mut self, field: &Accessor, atoms: &mut Atoms) -> Req {
        match self {
            Test::All(tests) => Req::all(tests.iter_mut().map(|t| t.req(field, atoms)).collect()),
            Test::Any(tests) => {
                let req = Req::any(tests.iter_mut().map(|t| t.req(field, atoms)).collect());
                let needles: Option<Vec<u32>> = tests
                    .iter()
                    .map(|t| match t {
                        Test::Str(m) => m.needle_atom(),
                        _ => None,
                    })
                    .collect();
                if let Some(needles) = needles {
                    *self = Test::AnyLiteral {
                        atoms: needles,
                        tests: std::mem::take(tests),
                    };
                }
                req
            }
            Test::AnyLiteral { atoms, .. } => {
                Req::any(atoms.iter().map(|a| Req::Atom(*a)).collect())
            }
            Test::Str(m) => {
                let req = atoms.need(field, &m.required());
                if m.needle().is_some()
                    && let Req::Atom(atom) = req
                {
                    m.set_atom(atom);
                }
                req
            }
            // Tests under `neq` keep their atoms too: their answers stay exact.
            Test::NotEqual(inner) => {
                inner.req(field, atoms);
                Req::True
            }
            _ => Req::True,
        }
    }

    fn holds(&self, value: Option<&Value>, event: &Event, folds: &mut Folds) -> bool {
        match self {
            Test::All(tests) => tests.iter().all(|t| t.holds(value, event, folds)),
            Test::Any(tests) => tests.iter().any(|t| t.holds(value, event, folds)),
            Test::AnyLiteral { atoms, tests } => {
                let Some(value) = value else {
                    return false;
                };
                let scanned = folds.hits().is_some();
                (0..tests.len()).any(|i| {
                    (!scanned
                        || folds
                            .hits()
                            .is_some_and(|hits| bit(hits, atoms[i] as usize)))
                        && tests[i].holds(Some(value), event, folds)
                })
            }
            Test::Exists(want) => value.is_some() == *want,
            Test::Null => value.is_none_or(|v| matches!(v, Value::Str(s) if s.is_empty())),
            Test::NotEqual(inner) => value.is_some() && !inner.holds(value, event, folds),
            Test::Str(m) => value.is_some_and(|v| m.is_match_value(v, folds)),
            Test::Number(op, n) => value.is_some_and(|v| match v {
                Value::List(items) => items.iter().filter_map(number_of).any(|x| op.holds(x, *n)),
                v => number_of(v).is_some_and(|x| op.holds(x, *n)),
            }),
            Test::Cidr(net) => value.is_some_and(|v| match v {
                Value::List(items) => items.iter().filter_map(ip_of).any(|ip| net.contains(&ip)),
                v => ip_of(v).is_some_and(|ip| net.contains(&ip)),
            }),
            Test::FieldRef {
                other,
                anchor,
                cased,
            } => {
                let (Some(value), Some(other)) = (value, other.get(event)) else {
                    return false;
                };
                let other = other.to_string();
                let m = StrMatcher::literal(&other, *anchor, *cased);
                for_each_text(value, |t| m.is_match(t))
            }
            Test::TimePart(part, want) => value
                .and_then(time_of)
                .is_some_and(|t| part_of(t, *part) == Some(*want)),
        }
    }
}

fn time_of(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Time(t) => Some(*t),
        Value::Str(s) => s.parse().ok(),
        _ => None,
    }
}

fn part_of(t: Timestamp, part: TimePart) -> Option<i64> {
    let z = t.to_zoned(TimeZone::UTC);
    Some(match part {
        TimePart::Minute => i64::from(z.minute()),
        TimePart::Hour => i64::from(z.hour()),
        TimePart::Day => i64::from(z.day()),
        TimePart::Week => i64::from(z.date().iso_week_date().week()),
        TimePart::Month => i64::from(z.month()),
        TimePart::Year => i64::from(z.year()),
    })
}

/// What the modifiers of one item ask for.
#[derive(Default)]
struct Mods {
    anchor: Option<Anchor>,
    all: bool,
    cased: bool,
    exists: bool,
    neq: bool,
    regex: bool,
    re_i: bool,
    re_m: bool,
    re_s: bool,
    cidr: bool,
    compare: Option<Compare>,
    time_part: Option<TimePart>,
    fieldref: bool,
    expand: bool,
    windash: bool,
    utf16: Option<Utf16>,
    base64: Option<bool>,
}

#[derive(Clone, Copy)]
enum Utf16 {
    Le,
    Be,
    LeBom,
}

impl Mods {
    fn read(modifiers: &[Modifier]) -> Result<Self, RuleError> {
        let mut m = Mods::default();
        for modifier in modifiers {
            let set_anchor = |m: &mut Mods, a| {
                if m.anchor.replace(a).is_some() {
                    return Err(invalid("more than one of contains/startswith/endswith"));
                }
                Ok(())
            };
            match modifier {
                Modifier::Contains => set_anchor(&mut m, Anchor::Contains)?,
                Modifier::StartsWith => set_anchor(&mut m, Anchor::Prefix)?,
                Modifier::EndsWith => set_anchor(&mut m, Anchor::Suffix)?,
                Modifier::All => m.all = true,
                Modifier::Cased => m.cased = true,
                Modifier::Exists => m.exists = true,
                Modifier::Neq => m.neq = true,
                Modifier::Re => m.regex = true,
                Modifier::IgnoreCase => m.re_i = true,
                Modifier::Multiline => m.re_m = true,
                Modifier::DotAll => m.re_s = true,
                Modifier::Cidr => m.cidr = true,
                Modifier::Lt => m.compare = Some(Compare::Lt),
                Modifier::Lte => m.compare = Some(Compare::Lte),
                Modifier::Gt => m.compare = Some(Compare::Gt),
                Modifier::Gte => m.compare = Some(Compare::Gte),
                Modifier::Minute => m.time_part = Some(TimePart::Minute),
                Modifier::Hour => m.time_part = Some(TimePart::Hour),
                Modifier::Day => m.time_part = Some(TimePart::Day),
                Modifier::Week => m.time_part = Some(TimePart::Week),
                Modifier::Month => m.time_part = Some(TimePart::Month),
                Modifier::Year => m.time_part = Some(TimePart::Year),
                Modifier::FieldRef => m.fieldref = true,
                Modifier::Expand => m.expand = true,
                Modifier::WindAsh => m.windash = true,
                Modifier::Wide => m.utf16 = Some(Utf16::Le),
                Modifier::Utf16be => m.utf16 = Some(Utf16::Be),
                Modifier::Utf16 => m.utf16 = Some(Utf16::LeBom),
                Modifier::Base64 => m.base64 = Some(false),
                Modifier::Base64Offset => m.base64 = Some(true),
            }
        }
        if (m.re_i || m.re_m || m.re_s) && !m.regex {
            return Err(invalid("regex flags i/m/s without re"));
        }
        if m.utf16.is_some() && m.base64.is_none() {
            return Err(unsupported(
                "utf16/wide without base64: a byte sequence cannot be matched as text",
            ));
        }
        let kinds = [m.regex, m.cidr, m.compare.is_some(), m.exists, m.fieldref]
            .iter()
            .filter(|k| **k)
            .count();
        if kinds > 1 {
            return Err(unsupported(
                "re, cidr, lt/gt, exists and fieldref cannot be combined",
            ));
        }
        if (m.regex || m.cidr || m.compare.is_some() || m.exists)
            && (m.anchor.is_some() || m.base64.is_some() || m.windash)
        {
            return Err(unsupported("string modifiers on a non-string comparison"));
        }
        Ok(m)
    }
}

fn compile_test(
    modifiers: &[Modifier],
    values: &[SigmaValue],
    ctx: &CompileContext<'_>,
) -> Result<Test, RuleError> {
    let m = Mods::read(modifiers)?;
    if values.is_empty() {
        return Err(invalid("no values"));
    }
    if m.exists {
        return match values {
            [SigmaValue::Bool(b)] => Ok(Test::Exists(*b)),
            [SigmaValue::String(s)] if s.original.eq_ignore_ascii_case("true") => {
                Ok(Test::Exists(true))
            }
            [SigmaValue::String(s)] if s.original.eq_ignore_ascii_case("false") => {
                Ok(Test::Exists(false))
            }
            _ => Err(invalid("exists takes one boolean")),
        };
    }
    let mut groups = Vec::with_capacity(values.len());
    for value in values {
        groups.push(compile_value(value, &m, ctx)?);
    }
    let test = if m.all {
        Test::All(groups)
    } else {
        Test::Any(groups)
    };
    Ok(if m.neq {
        Test::NotEqual(Box::new(test))
    } else {
        test
    })
}

/// One rule value under the modifiers: a test that is the OR of its expansions.
fn compile_value(
    value: &SigmaValue,
    m: &Mods,
    ctx: &CompileContext<'_>,
) -> Result<Test, RuleError> {
    if let Some(op) = m.compare {
        let n = match value {
            SigmaValue::Integer(n) => *n as f64,
            SigmaValue::Float(f) => *f,
            SigmaValue::String(s) => s
                .original
                .trim()
                .parse()
                .map_err(|_| invalid("lt/gt take numbers"))?,
            _ => return Err(invalid("lt/gt take numbers")),
        };
        return Ok(Test::Number(op, n));
    }
    if let Some(part) = m.time_part {
        let n = match value {
            SigmaValue::Integer(n) => *n,
            SigmaValue::String(s) => s
                .original
                .trim()
                .parse()
                .map_err(|_| invalid("time parts take integers"))?,
            _ => return Err(invalid("time parts take integers")),
        };
        return Ok(Test::TimePart(part, n));
    }
    let text = match value {
        SigmaValue::Null => {
            if m.anchor.is_some() || m.regex || m.cidr || m.fieldref {
                return Err(invalid("null with a modifier"));
            }
            return Ok(Test::Null);
        }
        SigmaValue::String(s) => s.clone(),
        SigmaValue::Integer(n) => SigmaString::from_raw(&n.to_string()),
        SigmaValue::Float(f) => SigmaString::from_raw(&f.to_string()),
        SigmaValue::Bool(b) => SigmaString::from_raw(&b.to_string()),
    };
    if m.regex {
        return Ok(Test::Str(StrMatcher::regex(
            &text.original,
            m.re_i,
            m.re_m,
            m.re_s,
        )?));
    }
    if m.cidr {
        return Ok(Test::Cidr(parse_cidr(&text.original)?));
    }
    if m.fieldref {
        let name = text.original.as_str();
        return Ok(Test::FieldRef {
            other: ctx.mappings.resolve(ctx.logsource, name),
            anchor: m.anchor.unwrap_or(Anchor::Exact),
            cased: m.cased,
        });
    }
    let mut alternatives: Vec<Test> = Vec::new();
    for expanded in expand(&text, m.expand, ctx.lists)? {
        match expanded {
            Expanded::Sigma(s) => {
                for variant in windash(&s, m.windash) {
                    for encoded in encode(&variant, m)? {
                        alternatives.push(Test::Str(string_matcher(&encoded, m)?));
                    }
                }
            }
            Expanded::Regex(re) => {
                alternatives.push(Test::Str(StrMatcher::regex(&re, !m.cased, false, false)?))
            }
            Expanded::Cidr(net) => alternatives.push(Test::Cidr(parse_cidr(&net)?)),
        }
    }
    Ok(if alternatives.len() == 1 {
        alternatives.remove(0)
    } else {
        Test::Any(alternatives)
    })
}

fn string_matcher(s: &SigmaString, m: &Mods) -> Result<StrMatcher, RuleError> {
    let (pre, post) = match m.anchor {
        None | Some(Anchor::Exact) => (false, false),
        Some(Anchor::Prefix) => (false, true),
        Some(Anchor::Suffix) => (true, false),
        Some(Anchor::Contains) => (true, true),
    };
    StrMatcher::from_sigma(s, pre, post, m.cased)
}

enum Expanded {
    Sigma(SigmaString),
    Regex(String),
    Cidr(String),
}

/// Replaces `%name%` placeholders with the entries of the list `name` (`expand`).
fn expand(s: &SigmaString, enabled: bool, lists: &Lists) -> Result<Vec<Expanded>, RuleError> {
    if !enabled {
        return Ok(vec![Expanded::Sigma(s.clone())]);
    }
    let original = &s.original;
    let Some(start) = original.find('%') else {
        return Ok(vec![Expanded::Sigma(s.clone())]);
    };
    let Some(len) = original[start + 1..].find('%') else {
        return Err(invalid(format!("unterminated placeholder in {original:?}")));
    };
    let name = &original[start + 1..start + 1 + len];
    let (before, after) = (&original[..start], &original[start + 2 + len..]);
    let entries = lists
        .get(name)
        .ok_or_else(|| unsupported(format!("placeholder %{name}% has no list loaded")))?;
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            Entry::Text(text) => {
                let joined = SigmaString::new(&format!("{before}{text}{after}"));
                for rest in expand(&joined, true, lists)? {
                    out.push(rest);
                }
            }
            Entry::Regex(re) if before.is_empty() && after.is_empty() => {
                out.push(Expanded::Regex(re.clone()))
            }
            Entry::Cidr(net) if before.is_empty() && after.is_empty() => {
                out.push(Expanded::Cidr(net.clone()))
            }
            _ => {
                return Err(unsupported(format!(
                    "list %{name}% has regex or CIDR entries, which cannot be embedded in text"
                )));
            }
        }
    }
    Ok(out)
}

/// The dash characters `windash` tries, as pySigma does.
const DASHES: [char; 5] = ['-', '/', '–', '—', '―'];

/// Every variant of `s` with each option dash (a `-` or `/` that starts a word after a
/// non-word character or the start) replaced by each Windows dash character.
fn windash(s: &SigmaString, enabled: bool) -> Vec<SigmaString> {
    if !enabled {
        return vec![s.clone()];
    }
    let mut variants: Vec<Vec<StringPart>> = vec![Vec::new()];
    let mut prev_word = false;
    for part in &s.parts {
        match part {
            StringPart::Plain(text) => {
                let chars: Vec<char> = text.chars().collect();
                let mut chunk_variants: Vec<String> = vec![String::new()];
                for (i, &c) in chars.iter().enumerate() {
                    let next_word = chars
                        .get(i + 1)
                        .is_some_and(|n| n.is_alphanumeric() || *n == '_');
                    if (c == '-' || c == '/')
                        && !prev_word
                        && next_word
                        && chunk_variants.len() < 625
                    {
                        chunk_variants = chunk_variants
                            .iter()
                            .flat_map(|v| DASHES.iter().map(move |d| format!("{v}{d}")))
                            .collect();
                    } else {
                        for v in &mut chunk_variants {
                            v.push(c);
                        }
                    }
                    prev_word = c.is_alphanumeric() || c == '_';
                }
                variants = variants
                    .iter()
                    .flat_map(|v| {
                        chunk_variants.iter().map(move |c| {
                            let mut v = v.clone();
                            v.push(StringPart::Plain(c.clone()));
                            v
                        })
                    })
                    .collect();
            }
            special => {
                prev_word = false;
                for v in &mut variants {
                    v.push(special.clone());
                }
            }
        }
    }
    variants
        .into_iter()
        .map(|parts| SigmaString {
            original: s.original.clone(),
            parts,
        })
        .collect()
}

/// Applies `wide`/`utf16*` and `base64`/`base64offset`.
fn encode(s: &SigmaString, m: &Mods) -> Result<Vec<SigmaString>, RuleError> {
    let Some(offset) = m.base64 else {
        return Ok(vec![s.clone()]);
    };
    let Some(plain) = s.as_plain() else {
        return Err(unsupported("base64 of a value with wildcards"));
    };
    let bytes: Vec<u8> = match m.utf16 {
        None => plain.into_bytes(),
        Some(Utf16::Le) => plain.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Some(Utf16::Be) => plain.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Some(Utf16::LeBom) => [0xff, 0xfe]
            .into_iter()
            .chain(plain.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
    };
    if !offset {
        return Ok(vec![SigmaString::from_raw(&BASE64.encode(&bytes))]);
    }
    // pySigma's base64offset: the value encoded at each of the three alignments, with
    // the characters that depend on unknown neighbours cut off.
    const START: [usize; 3] = [0, 2, 3];
    let mut out = Vec::with_capacity(3);
    for (i, start) in START.iter().enumerate() {
        let mut shifted = vec![b' '; i];
        shifted.extend_from_slice(&bytes);
        let encoded = BASE64.encode(&shifted);
        let cut = match (bytes.len() + i) % 3 {
            0 => 0,
            1 => 3,
            _ => 2,
        };
        let end = encoded.len().saturating_sub(cut);
        out.push(SigmaString::from_raw(
            encoded.get(*start..end).unwrap_or_default(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_match_as_their_matchers_do_whichever_search_takes_the_plain_ones() {
        let keyword = |s: &str| {
            StrMatcher::from_sigma(&SigmaString::new(s), true, true, false).expect("compiles")
        };
        let matchers = vec![
            keyword("sekurlsa::"),
            keyword("Kiwi Legit Printer"),
            keyword("\\mimilib.dll"),
            keyword("mimi*.sys"),
            keyword("é"),
        ];
        let built = Keywords::new(matchers.clone()).expect("builds");
        assert_eq!(built.others.len(), 1, "the wildcard is tested on its own");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            matches!(built.plain, Some(PlainKeywords::Teddy(_))),
            std::arch::is_x86_feature_detected!("ssse3")
        );
        let mut automaton = built.clone();
        let plain: Vec<&str> = matchers.iter().filter_map(StrMatcher::substring).collect();
        automaton.plain = Some(PlainKeywords::Automaton(
            AhoCorasick::new(&plain).expect("builds"),
        ));
        let mut folds = Folds::default();
        for text in [
            "",
            "{\"CommandLine\":\"mimikatz SEKURLSA::logonpasswords\"}",
            "kiwi legit printer",
            "C:\\Temp\\MIMILIB.DLL",
            "load mimidrv.sys",
            "mimi.exe",
            "café",
            "no keyword here, though long enough for a vector search to run on it",
        ] {
            let body = Value::from(text);
            let each = matchers.iter().any(|m| m.is_match(text));
            for keywords in [&built, &automaton] {
                folds.clear();
                assert_eq!(keywords.matches(&body, &mut folds), each, "in {text:?}");
            }
        }
    }

    #[test]
    fn base64offset_matches_pysigma() {
        let m = Mods {
            base64: Some(true),
            ..Mods::default()
        };
        let out: Vec<String> = encode(&SigmaString::from_raw("/bin/sh"), &m)
            .expect("encodes")
            .into_iter()
            .map(|s| s.original)
            .collect();
        // pySigma: [b64(v)[0:None] .. ] for "/bin/sh" (len 7)
        assert_eq!(out, ["L2Jpbi9za", "9iaW4vc2", "vYmluL3No"]);
    }

    #[test]
    fn windash_expands_option_dashes_only() {
        let variants: Vec<String> = windash(&SigmaString::new(" -encodedcommand"), true)
            .iter()
            .map(|s| s.as_plain().unwrap_or_default())
            .collect();
        assert_eq!(variants.len(), 5);
        assert!(variants.contains(&" /encodedcommand".to_owned()));
        let variants = windash(&SigmaString::new("a-b"), true);
        assert_eq!(variants.len(), 1);
    }
}
