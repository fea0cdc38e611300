//! Flat JSON objects decoded without a tree: the common shape of NDJSON event lines
//! (NXLog, OTRF, log shippers) is one object whose values are all scalars. Keys and
//! strings are borrowed from the line unless they hold escapes, so a line costs one
//! vector and no allocation per field. Arrays of scalars (such as `tags`) are kept;
//! objects and nested arrays make the caller fall back to the general
//! `serde_json::Value` path, which gives the same result.

use std::borrow::Cow;
use std::fmt;

use dozor_event::NameFilter;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
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
    /// `null` (inside arrays; `null` members are left out).
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
/// repeated key keeps its first place with its last value (as `serde_json::Map` does).
#[derive(Debug, PartialEq)]
pub(crate) struct FlatObject<'a> {
    members: Vec<(Cow<'a, str>, Scalar<'a>)>,
}

impl<'a> FlatObject<'a> {
    /// Decodes `line`; `None` if it is not a JSON object of scalars (nested values,
    /// another type, or bad JSON, which the general path then reports).
    pub(crate) fn parse(line: &'a str) -> Option<Self> {
        serde_json::from_str(line).ok()
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Scalar<'a>> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The members, in document order.
    pub(crate) fn into_members(self) -> impl Iterator<Item = (Cow<'a, str>, Scalar<'a>)> {
        self.members.into_iter()
    }

    /// The same object as a `serde_json::Map`, for the general path.
    pub(crate) fn into_map(self) -> Map<String, Json> {
        self.members
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_json()))
            .collect()
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

impl<'de: 'a, 'a> serde::Deserialize<'de> for FlatObject<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = FlatObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of scalar values")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut object = FlatObject {
            members: Vec::with_capacity(map.size_hint().unwrap_or(48)),
        };
        let mut seen = NameFilter::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if let Some(value) = map.next_value::<Member<'de>>()?.0 {
                object.insert(key.0, value, &mut seen);
            }
        }
        Ok(object)
    }
}

/// A key or string, borrowed when it holds no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// A member's value: a scalar, nothing for `null`; anything nested is an error.
struct Member<'a>(Option<Scalar<'a>>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Member<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MemberVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar value")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Member(Some(Scalar::Str(Cow::Borrowed(s)))))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Member(Some(Scalar::Str(Cow::Owned(s.to_owned())))))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Member(Some(Scalar::Str(Cow::Owned(s)))))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Member(Some(Scalar::Number(n.into()))))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Member(Some(Scalar::Number(n.into()))))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        // serde_json never yields a non-finite number; the general path handles any rest.
        Number::from_f64(n)
            .map(|n| Member(Some(Scalar::Number(n))))
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Member(Some(Scalar::Bool(b))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Member(None))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Element<'de>>()? {
            items.push(item.0);
        }
        Ok(Member(Some(Scalar::List(items))))
    }
}

/// An array element: a scalar or `null`; anything nested is an error.
struct Element<'a>(Scalar<'a>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Element<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_any(MemberVisitor)?.0 {
            Some(Scalar::List(_)) => Err(de::Error::custom("nested array")),
            Some(scalar) => Ok(Element(scalar)),
            None => Ok(Element(Scalar::Null)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_map_is_the_general_paths_map() {
        let line = r#"{"b":"x","a":2,"b":"y","n":null,"f":0.25,"t":["x",null,3]}"#;
        let flat = FlatObject::parse(line).expect("flat").into_map();
        let general: Json = serde_json::from_str(line).expect("json");
        let mut general = general.as_object().cloned().expect("object");
        general.shift_remove("n");
        assert_eq!(flat, general);
    }
}
