//! The destinations the pack watches: the names of the `kind: domains` lists
//! (`api.telegram.org`, `*.ngrok.io`), matched against a destination name.

use std::collections::BTreeMap;

/// Watched names and domains, each with the list it comes from.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    names: BTreeMap<String, String>,
}

impl Watched {
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
        Self { names }
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
}
