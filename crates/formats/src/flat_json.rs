//! Flat JSON objects decoded without a tree: the common shape of NDJSON event lines
//! (NXLog, OTRF, log shippers) is one object whose values are all scalars. Keys and
//! strings are borrowed from the line unless they hold escapes, so a line costs one
//! vector and no allocation per field. Arrays of scalars (such as `tags`) are kept;
//! objects and nested arrays make the caller fall back to the general
//! `serde_json::Value` path, which gives the same result.
//!
//! The reader is written here rather than driven through serde_json's visitor: on the
//! OTRF Sysmon records (33 members, 2.7 KB, about a hundred escapes each) the visitor
//! spent about 1,200 instructions per member; on the 5,000 events of the process-creation
//! benchmark this reader takes decoding from 207M to about 180M instructions and the
//! whole `hunt` run from 1,733M to 1,706M (callgrind). An escaped string is decoded
//! into one scratch buffer per line, copying each plain run a word at a time as it is
//! tested, then copied once into a string of its length: strings took 121M
//! instructions of those events instead of 128M (a string grown per escaped value
//! was reallocated about eleven times per event). It reads only what
//! it can decode exactly as serde_json does (plain non-negative integers itself, any
//! other number through serde_json); anything else returns `None`, so serde_json stays
//! the judge of every line it does not take. Property tests check the two agree.

use std::borrow::Cow;

use dozor_event::{NameFilter, escape_mask};
use serde_json::{Map, Number, Value as Json};

/// One scalar JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    /// A string.
    Str(Cow<'a, str>),
    /// A number, as serde_json reads it.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null` inside arrays; as a member, the mark of a key that a later `null` left
    /// out (`null` members are otherwise left out).
    Null,
    /// An array of scalars.
    List(Vec<Scalar<'a>>),
}

impl<'a> Scalar<'a> {
    /// The text of the value, as a Windows field holds it: arrays as their elements'
    /// texts on separate lines; `None` for `null` and arrays without text.
    pub(crate) fn into_text(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Str(s) => Some(s),
            Scalar::Number(n) => Some(Cow::Owned(n.to_string())),
            Scalar::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Scalar::Null => None,
            Scalar::List(items) => {
                let parts: Vec<Cow<'a, str>> =
                    items.into_iter().filter_map(Scalar::into_text).collect();
                (!parts.is_empty()).then(|| Cow::Owned(parts.join("\n")))
            }
        }
    }

    /// Whether [`Scalar::into_text`] has text to give.
    pub(crate) fn has_text(&self) -> bool {
        match self {
            Scalar::Null => false,
            Scalar::List(items) => items.iter().any(Scalar::has_text),
            _ => true,
        }
    }

    fn into_json(self) -> Json {
        match self {
            Scalar::Str(s) => Json::String(s.into_owned()),
            Scalar::Number(n) => Json::Number(n),
            Scalar::Bool(b) => Json::Bool(b),
            Scalar::Null => Json::Null,
            Scalar::List(items) => Json::Array(items.into_iter().map(Scalar::into_json).collect()),
        }
    }
}

/// A JSON object of scalars in document order; `null` members are left out, and a
/// repeated key keeps its first place with its last value (as `serde_json::Map` does;
/// a later `null` leaves the key out, unless a value follows it again).
#[derive(Debug, PartialEq)]
pub(crate) struct FlatObject<'a> {
    members: Vec<(Cow<'a, str>, Scalar<'a>)>,
}

impl<'a> FlatObject<'a> {
    /// Decodes `line`; `None` if it is not a JSON object of scalars (nested values,
    /// another type, or bad JSON, which the general path then reports).
    pub(crate) fn parse(line: &'a str) -> Option<Self> {
        Reader {
            text: line,
            pos: 0,
            scratch: Vec::new(),
        }
        .object()
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Scalar<'a>> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| **v != Scalar::Null)
    }

    /// The members, in document order.
    pub(crate) fn into_members(self) -> impl Iterator<Item = (Cow<'a, str>, Scalar<'a>)> {
        self.members.into_iter().filter(|(_, v)| *v != Scalar::Null)
    }

    /// The same object as a `serde_json::Map`, for the general path.
    pub(crate) fn into_map(self) -> Map<String, Json> {
        self.into_members()
            .map(|(k, v)| (k.into_owned(), v.into_json()))
            .collect()
    }

    /// Marks an earlier member of `key` as `null` in its place, as a later `null`
    /// replaces its value in `serde_json::Map`.
    fn erase(&mut self, key: Cow<'a, str>, seen: &NameFilter) {
        if seen.may_contain(&key)
            && let Some(slot) = self.members.iter_mut().find(|(k, _)| *k == key)
        {
            slot.1 = Scalar::Null;
        }
    }

    /// Adds a member; only a key that `seen` (the keys so far) may hold is looked for
    /// among them.
    fn insert(&mut self, key: Cow<'a, str>, value: Scalar<'a>, seen: &mut NameFilter) {
        if seen.insert(&key)
            && let Some(slot) = self.members.iter_mut().find(|(k, _)| *k == key)
        {
            slot.1 = value;
            return;
        }
        self.members.push((key, value));
    }
}

/// Reads one flat JSON object from a line. Whatever falls outside the subset it reads
/// (nesting, escapes it does not resolve, malformed input) ends the reading with `None`,
/// and the caller's general path then decodes or rejects the line with serde_json.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// The decoded bytes of the escaped string being read, reused from string to
    /// string.
    scratch: Vec<u8>,
}

impl<'a> Reader<'a> {
    fn object(&mut self) -> Option<FlatObject<'a>> {
        self.expect(b'{')?;
        let mut object = FlatObject {
            members: Vec::with_capacity(48),
        };
        let mut seen = NameFilter::default();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return self.at_end().then_some(object);
        }
        loop {
            self.skip_blanks();
            let key = self.string()?;
            self.expect(b':')?;
            match self.value()? {
                Some(value) => object.insert(key, value, &mut seen),
                None => object.erase(key, &seen),
            }
            match self.next_byte()? {
                b',' => continue,
                b'}' => return self.at_end().then_some(object),
                _ => return None,
            }
        }
    }

    /// A member's value: `Some(None)` for `null`, `None` for anything outside the subset.
    fn value(&mut self) -> Option<Option<Scalar<'a>>> {
        match self.peek()? {
            b'[' => {
                self.pos += 1;
                self.list().map(Some)
            }
            _ => self.scalar(),
        }
    }

    /// A scalar or `null` (`Some(None)`).
    fn scalar(&mut self) -> Option<Option<Scalar<'a>>> {
        let scalar = match self.peek()? {
            b'"' => Scalar::Str(self.string()?),
            b't' => self.word("true", Scalar::Bool(true))?,
            b'f' => self.word("false", Scalar::Bool(false))?,
            b'n' => return self.word("null", None),
            b'-' | b'0'..=b'9' => Scalar::Number(self.number()?),
            _ => return None,
        };
        Some(Some(scalar))
    }

    /// The elements of an array whose `[` was read; `null` elements are kept.
    fn list(&mut self) -> Option<Scalar<'a>> {
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Some(Scalar::List(items));
        }
        loop {
            items.push(self.scalar()?.unwrap_or(Scalar::Null));
            match self.next_byte()? {
                b',' => continue,
                b']' => return Some(Scalar::List(items)),
                _ => return None,
            }
        }
    }

    /// A literal word, giving `value`.
    fn word<T>(&mut self, word: &str, value: T) -> Option<T> {
        let end = self.pos + word.len();
        (self.text.as_bytes().get(self.pos..end)? == word.as_bytes()).then(|| {
            self.pos = end;
            value
        })
    }

    /// A number: plain non-negative integers are read here, any other number by
    /// serde_json from its own text, so both paths give the same `Number`.
    fn number(&mut self) -> Option<Number> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let len = bytes[start..]
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(bytes.len() - start);
        self.pos = start + len;
        let token = &self.text[start..self.pos];
        let digits = token.as_bytes();
        if digits.len() <= 19
            && digits.iter().all(u8::is_ascii_digit)
            && (digits[0] != b'0' || digits.len() == 1)
        {
            return digits
                .iter()
                .try_fold(0u64, |n, d| {
                    n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
                })
                .map(Number::from);
        }
        serde_json::from_str(token).ok()
    }

    /// A string at the cursor, borrowed from the line unless it holds escapes; an
    /// escaped one is decoded into `scratch`, then copied once into a string of its
    /// own length.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect_here(b'"')?;
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut at = special_byte(bytes, start);
        if *bytes.get(at)? == b'"' {
            self.pos = at + 1;
            return Some(Cow::Borrowed(&self.text[start..at]));
        }
        // No string decodes longer than the rest of the line, so after this the
        // scratch buffer grows at most once per line, by the run copied past its end.
        self.scratch.clear();
        self.scratch.reserve(bytes.len() - start);
        self.scratch.extend_from_slice(&bytes[start..at]);
        loop {
            match *bytes.get(at)? {
                b'"' => {
                    self.pos = at + 1;
                    // The line is text and escapes decode to whole characters, so
                    // this check only confirms it.
                    let text = simdutf8::basic::from_utf8(&self.scratch).ok()?;
                    return Some(Cow::Owned(text.to_owned()));
                }
                b'\\' => {
                    self.pos = at + 1;
                    self.escape()?;
                    at = copy_plain_run(bytes, self.pos, &mut self.scratch);
                }
                // A control character, which JSON strings may not hold.
                _ => return None,
            }
        }
    }

    /// Decodes the escape after a backslash onto `scratch`.
    fn escape(&mut self) -> Option<()> {
        let byte = *self.text.as_bytes().get(self.pos)?;
        self.pos += 1;
        let decoded = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let first = self.hex4()?;
                let c = if (0xD800..0xDC00).contains(&first) {
                    self.word("\\u", ())?;
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))?
                } else {
                    char::from_u32(first)?
                };
                let mut utf8 = [0; 4];
                self.scratch
                    .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                return Some(());
            }
            _ => return None,
        };
        self.scratch.push(decoded);
        Some(())
    }

    /// Four hexadecimal digits.
    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.as_bytes().get(self.pos..self.pos + 4)?;
        self.pos += 4;
        digits
            .iter()
            .try_fold(0u32, |n, &d| Some(n << 4 | char::from(d).to_digit(16)?))
    }

    /// Skips blanks, then reads `byte`.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_blanks();
        self.expect_here(byte)
    }

    /// Reads `byte` at the cursor.
    fn expect_here(&mut self, byte: u8) -> Option<()> {
        (self.text.as_bytes().get(self.pos) == Some(&byte)).then(|| self.pos += 1)
    }

    /// Skips blanks, then reads one byte.
    fn next_byte(&mut self) -> Option<u8> {
        self.skip_blanks();
        let byte = *self.text.as_bytes().get(self.pos)?;
        self.pos += 1;
        Some(byte)
    }

    /// Skips blanks, then shows the next byte without reading it.
    fn peek(&mut self) -> Option<u8> {
        self.skip_blanks();
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Whether only blanks are left.
    fn at_end(&mut self) -> bool {
        self.skip_blanks();
        self.pos == self.text.len()
    }

    fn skip_blanks(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(self.pos) {
            self.pos += 1;
        }
    }
}

/// The position of the first byte from `from` that ends a plain run of a string (a
/// quote, a backslash or a control character), or the length: eight bytes are tested
/// at a time, as most runs between escapes in Windows paths are longer than that.
fn special_byte(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        // The bytes JSON escapes are the bytes that end a plain run.
        let flagged = escape_mask(u64::from_le_bytes(*word));
        if flagged != 0 {
            return at + (flagged.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + plain_prefix(&bytes[at..])
}

/// Appends the plain run at `from` to `out` and returns where it ends, as
/// [`special_byte`] finds it: each word is copied whole as it is tested (a copy of
/// eight bytes is one store, where a copy of the run's length is a call), and the
/// bytes past the run's end are cut off again.
fn copy_plain_run(bytes: &[u8], from: usize, out: &mut Vec<u8>) -> usize {
    let mut at = from;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let flagged = escape_mask(u64::from_le_bytes(*word));
        let len = out.len();
        out.extend_from_slice(word);
        if flagged != 0 {
            let plain = (flagged.trailing_zeros() / 8) as usize;
            out.truncate(len + plain);
            return at + plain;
        }
        at += 8;
    }
    let plain = plain_prefix(&bytes[at..]);
    out.extend_from_slice(&bytes[at..at + plain]);
    at + plain
}

/// The length of the plain run that starts `tail` (fewer than eight bytes are left).
fn plain_prefix(tail: &[u8]) -> usize {
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(tail.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    #[test]
    fn scalars_are_borrowed_unless_escaped() {
        let line = r#"{"Image":"C:\\x.exe","Name":"cmd","EventID":1,"F":1.5,"B":true,"N":null,"T":["a",null,2],"E":[null]}"#;
        let object = FlatObject::parse(line).expect("flat");
        assert!(matches!(
            object.get("Name"),
            Some(Scalar::Str(Cow::Borrowed("cmd")))
        ));
        assert_eq!(object.get("N"), None);
        let texts: Vec<(Cow<'_, str>, Cow<'_, str>)> = object
            .into_members()
            .filter_map(|(k, v)| Some((k, v.into_text()?)))
            .collect();
        let text = |key: &str| {
            texts
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_ref())
        };
        assert_eq!(text("Image"), Some(r"C:\x.exe"));
        assert_eq!(text("EventID"), Some("1"));
        assert_eq!(text("F"), Some("1.5"));
        assert_eq!(text("B"), Some("true"));
        assert_eq!(text("T"), Some("a\n2"));
        assert_eq!(text("E"), None);
    }

    #[test]
    fn repeated_keys_among_many_keep_their_first_place() {
        // 300 keys, enough to share every bit of the key filter, each repeated.
        let members: Vec<String> = (0..600)
            .map(|i| format!("\"K{}\":{i}", (i * 7) % 300))
            .collect();
        let line = format!("{{{}}}", members.join(","));
        let flat = FlatObject::parse(&line).expect("flat").into_map();
        let general: Json = serde_json::from_str(&line).expect("json");
        assert_eq!(Some(&flat), general.as_object());
        let order = |map: &Map<String, Json>| map.keys().cloned().collect::<Vec<_>>();
        assert_eq!(Some(order(&flat)), general.as_object().map(order));
        assert_eq!(flat.len(), 300);
    }

    #[test]
    fn nested_or_bad_input_is_left_to_the_general_path() {
        assert!(FlatObject::parse(r#"{"a":{"b":1}}"#).is_none());
        assert!(FlatObject::parse(r#"{"a":[[1]]}"#).is_none());
        assert!(FlatObject::parse(r#"{"a":[{"b":1}]}"#).is_none());
        assert!(FlatObject::parse(r#"[1]"#).is_none());
        assert!(FlatObject::parse(r#"{"a":"#).is_none());
        assert!(FlatObject::parse(r#"{"a":1} x"#).is_none());
    }

    /// The object serde_json reads from `line`, without its `null` members.
    fn general_without_nulls(line: &str) -> Result<Map<String, Json>, serde_json::Error> {
        let general: Json = serde_json::from_str(line)?;
        let mut general = general.as_object().cloned().expect("object");
        general.retain(|_, v| !v.is_null());
        Ok(general)
    }

    #[test]
    fn a_later_null_leaves_the_key_out_until_a_value_follows() {
        for line in [
            r#"{"a":"x","b":1,"a":null}"#,
            r#"{"a":"x","b":1,"a":null,"a":"y"}"#,
        ] {
            let flat = FlatObject::parse(line).expect("flat").into_map();
            let general = general_without_nulls(line).expect("json");
            assert_eq!(flat, general, "{line}");
            let order = |map: &Map<String, Json>| map.keys().cloned().collect::<Vec<_>>();
            assert_eq!(order(&flat), order(&general), "{line}");
        }
    }

    #[test]
    fn the_map_is_the_general_paths_map() {
        let line = r#"{"b":"x","a":2,"b":"y","n":null,"f":0.25,"t":["x",null,3]}"#;
        let flat = FlatObject::parse(line).expect("flat").into_map();
        let general: Json = serde_json::from_str(line).expect("json");
        let mut general = general.as_object().cloned().expect("object");
        general.shift_remove("n");
        assert_eq!(flat, general);
    }

    /// Lines built from the pieces of JSON, well-formed or not: whenever the reader takes
    /// one, serde_json reads the same flat object from it.
    fn agrees_with_serde_json(line: &str) -> Result<(), TestCaseError> {
        if let Some(flat) = FlatObject::parse(line) {
            let general = general_without_nulls(line)
                .map_err(|e| TestCaseError::fail(format!("{line:?}: taken, but {e}")))?;
            prop_assert_eq!(flat.into_map(), general, "{:?}", line);
        }
        Ok(())
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just(" ".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("\\u".to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            "[0-9a-fA-F.eE+-]{1,4}",
            "[\\\\\"/bfnrtux\\u{0}-\\u{1f}é😀]",
            "\\PC{0,12}",
        ]
    }

    fn member() -> impl Strategy<Value = String> {
        let text = "([a-zA-Z0-9 ._/-]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}|é|😀|\\\\ud83d\\\\ude00){0,12}";
        let scalar = prop_oneof![
            text.prop_map(|s| format!("\"{s}\"")),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| n.to_string()),
            "-?(0|[1-9][0-9]{0,22})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,3})?",
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("null".to_owned()),
        ];
        let value = prop_oneof![
            4 => scalar.clone(),
            1 => prop::collection::vec(scalar, 0..4).prop_map(|v| format!("[ {} ]", v.join(" , "))),
            1 => Just("{\"x\":1}".to_owned()),
        ];
        ("[a-zA-Z0-9 ]{0,6}|[a-z]{1,3}\\\\n", value).prop_map(|(k, v)| format!("\"{k}\" : {v}"))
    }

    proptest! {
        #[test]
        fn well_formed_objects_are_taken_as_serde_json_reads_them(
            members in prop::collection::vec(member(), 0..12)
        ) {
            let line = format!(" {{{}}}\n", members.join(","));
            let nested = line.contains("{\"x\"");
            let taken = FlatObject::parse(&line).is_some();
            agrees_with_serde_json(&line)?;
            // Every well-formed flat line takes the fast path, unless a number is too
            // large for serde_json (which then rejects the line too).
            if !nested && serde_json::from_str::<Json>(&line).is_ok() {
                prop_assert!(taken, "{:?}", line);
            }
        }

        #[test]
        fn malformed_lines_are_left_to_serde_json(
            pieces in prop::collection::vec(piece(), 0..24)
        ) {
            agrees_with_serde_json(&format!("{{{}", pieces.concat()))?;
            agrees_with_serde_json(&format!("{{\"a\":\"{}\"}}", pieces.concat()))?;
        }
    }
}
