//! The destinations the pack watches: the names of the `kind: domains` lists
//! (`api.telegram.org`, `*.ngrok.io`), matched against a destination name; and the
//! processes that are those services' legitimate clients (browsers, Telegram's own
//! clients), as Sigma wildcard patterns over the executable's path.

use std::collections::BTreeMap;

use dozor_rules::RuleSet;

use crate::CLIENT_LISTS;

/// Watched names and domains, each with the list it comes from, and the clients.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    names: BTreeMap<String, String>,
    /// Lowercase path patterns (`*` any run of characters, `?` one character).
    clients: Vec<String>,
}

impl Watched {
    /// What the rule set's lists say: its `kind: domains` lists, and the entries of
    /// [`CLIENT_LISTS`] as the clients.
    pub fn of_rules(rules: &RuleSet) -> Self {
        Self::from_lists(rules.domain_lists()).with_clients(
            CLIENT_LISTS
                .iter()
                .filter_map(|name| rules.text_list(name))
                .flatten()
                .map(String::as_str),
        )
    }

    /// These watched names, with `patterns` (Sigma wildcards over a process path) as
    /// the services' clients.
    pub fn with_clients<'a>(mut self, patterns: impl IntoIterator<Item = &'a str>) -> Self {
        self.clients = patterns.into_iter().map(str::to_lowercase).collect();
        self
    }

    /// Whether the process at `path` is one of the services' clients.
    pub fn is_client(&self, path: &str) -> bool {
        let path = path.to_lowercase();
        self.clients
            .iter()
            .any(|pattern| wildcard_match(pattern.as_bytes(), path.as_bytes()))
    }

    /// The names of `lists` ((list name, entries) pairs).
    pub fn from_lists<'a>(lists: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let mut names = BTreeMap::new();
        for (list, entries) in lists {
            for entry in entries {
                names
                    .entry(entry.to_ascii_lowercase())
                    .or_insert_with(|| list.to_owned());
            }
        }
        Self {
            names,
            clients: Vec::new(),
        }
    }

    /// The list that names `destination` (exactly, or as a subdomain of a `*.domain`
    /// entry), if any.
    pub fn list_of(&self, destination: &str) -> Option<&str> {
        if let Some(list) = self.names.get(destination) {
            return Some(list);
        }
        let mut rest = destination;
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(list) = self.names.get(&format!("*.{parent}")) {
                return Some(list);
            }
            rest = parent;
        }
        None
    }
}

/// Sigma's wildcard match: `*` any run of bytes, `?` one byte; `\*`, `\?` and `\\`
/// stand for the character itself, and any other backslash is literal.
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative matching with one backtrack point: the last `*`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let (token, len) = match pattern.get(p..) {
            Some([b'\\', c @ (b'*' | b'?' | b'\\'), ..]) => (Some(*c), 2),
            Some([b'*', ..]) => {
                star = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some([b'?', ..]) => (None, 1),
            Some([c, ..]) => (Some(*c), 1),
            _ => (Some(0), 0),
        };
        if len > 0 && token.is_none_or(|c| c == text[t]) {
            p += len;
            t += 1;
        } else if let Some((after, from)) = star {
            p = after;
            t = from + 1;
            star = Some((after, from + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_domains() {
        let c2 = vec!["pastebin.com".to_owned(), "*.ngrok.io".to_owned()];
        let tg = vec!["API.telegram.org".to_owned()];
        let watched = Watched::from_lists([("c2", c2.as_slice()), ("tg", tg.as_slice())]);
        assert_eq!(watched.list_of("api.telegram.org"), Some("tg"));
        assert_eq!(watched.list_of("pastebin.com"), Some("c2"));
        assert_eq!(watched.list_of("a.b.ngrok.io"), Some("c2"));
        assert_eq!(watched.list_of("ngrok.io"), None);
        assert_eq!(watched.list_of("www.pastebin.com"), None);
        assert_eq!(watched.list_of("telegram.org"), None);
    }

    #[test]
    fn clients_by_path_pattern() {
        let watched = Watched::default().with_clients([
            r"*\chrome.exe",
            r"*\Telegram Desktop\Telegram.exe",
            r"*\WindowsApps\TelegramMessengerLLP.TelegramDesktop_*\Telegram.exe",
        ]);
        assert!(watched.is_client(r"C:\Program Files\Google\Chrome\Application\chrome.exe"));
        assert!(watched.is_client(r"C:\Users\a\AppData\Roaming\Telegram Desktop\telegram.exe"));
        assert!(watched.is_client(
            r"C:\Program Files\WindowsApps\TelegramMessengerLLP.TelegramDesktop_5.1.7.0_x64__t4vj0pshhgkwm\Telegram.exe"
        ));
        assert!(!watched.is_client(r"C:\Users\a\AppData\Local\Temp\chrome.exe.bak"));
        assert!(!watched.is_client(r"C:\Users\a\Downloads\Telegram.exe"));
        assert!(!watched.is_client("/usr/bin/python3"));
        assert!(wildcard_match(br"a\*b", b"a*b"));
        assert!(!wildcard_match(br"a\*b", b"axb"));
        assert!(wildcard_match(b"a?c*", b"abcdef"));
        assert!(!wildcard_match(b"", b"x"));
        assert!(wildcard_match(b"*", b""));
    }
}
