//! Typed field values.

use std::fmt;
use std::net::IpAddr;

use compact_str::CompactString;
use jiff::Timestamp;

use crate::taxonomy::Kind;
use crate::time::format_time;

/// The value of one event field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text. Short strings (up to 24 bytes: most codes, names and addresses) are
    /// stored inline, without an allocation.
    Str(CompactString),
    /// A whole number (ports, counts, durations, codes).
    Int(i64),
    /// A yes/no flag.
    Bool(bool),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A point in time (UTC).
    Time(Timestamp),
    /// Several values of one field, in the order the source gave them.
    List(Vec<Value>),
}

impl Value {
    /// The kind of this value, as the taxonomy declares kinds.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Str(_) => Kind::Str,
            Value::Int(_) => Kind::Int,
            Value::Bool(_) => Kind::Bool,
            Value::Ip(_) => Kind::Ip,
            Value::Time(_) => Kind::Time,
            Value::List(_) => Kind::List,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number of an integer value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The address of an IP value.
    pub fn as_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            _ => None,
        }
    }

    /// The timestamp of a time value.
    pub fn as_time(&self) -> Option<Timestamp> {
        match self {
            Value::Time(t) => Some(*t),
            _ => None,
        }
    }
}

/// Renders the value as text: strings as they are, times in RFC 3339 UTC with
/// milliseconds, lists joined by `, `.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Int(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Ip(ip) => write!(f, "{ip}"),
            Value::Time(t) => f.write_str(&format_time(*t)),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
        }
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s.into())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.into())
    }
}

/// Owned text moves into the value (a long string keeps its allocation); borrowed
/// text is copied.
impl From<std::borrow::Cow<'_, str>> for Value {
    fn from(s: std::borrow::Cow<'_, str>) -> Self {
        match s {
            std::borrow::Cow::Borrowed(s) => Value::Str(s.into()),
            std::borrow::Cow::Owned(s) => Value::Str(s.into()),
        }
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<u16> for Value {
    fn from(n: u16) -> Self {
        Value::Int(i64::from(n))
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Int(i64::from(n))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<IpAddr> for Value {
    fn from(ip: IpAddr) -> Self {
        Value::Ip(ip)
    }
}

impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Self {
        Value::Time(t)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}
