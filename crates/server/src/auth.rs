//! Authentication: argon2-hashed passwords, sessions (console cookie or API bearer
//! token, stored only as hashes), HTTP Basic for log shippers, CSRF tokens for
//! cookie-authenticated changes, and a login rate limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::HeaderMap;
use base64::Engine as _;
use blake2::{Blake2s256, Digest};
use dozor_store::{Session, Store, StoreError};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dozor_session";
/// Failed logins allowed per client address within [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS: usize = 5;
/// The window of the login rate limit.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(300);

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: refuse to make a guessable secret.
        panic!("the operating system's random source failed");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The argon2id hash of `password`, in PHC string form.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(random_hex(16).as_bytes())?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The hash under which a token is stored.
pub fn token_hash(token: &str) -> String {
    let digest = Blake2s256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who is making a request, and how they proved it.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub username: String,
    /// The session's CSRF token, when authenticated by the session cookie (changes
    /// must echo it); `None` for bearer or Basic credentials.
    pub csrf: Option<String>,
}

/// The authentication state shared by every request.
pub struct Auth {
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    basic_ok: Mutex<HashMap<String, Instant>>,
    session_ms: i64,
}

impl Auth {
    /// Sessions lasting `session_hours`.
    pub fn new(session_hours: u64) -> Self {
        Self {
            failures: Mutex::default(),
            basic_ok: Mutex::default(),
            session_ms: (session_hours.max(1) * 3_600_000) as i64,
        }
    }

    /// Whether `client` may try to log in now.
    pub fn login_allowed(&self, client: IpAddr) -> bool {
        let Ok(mut failures) = self.failures.lock() else {
            return false;
        };
        let recent = failures.entry(client).or_default();
        recent.retain(|t| t.elapsed() < LOGIN_WINDOW);
        recent.len() < LOGIN_ATTEMPTS
    }

    fn failed(&self, client: IpAddr) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.entry(client).or_default().push(Instant::now());
        }
    }

    /// Checks a username and password (counting failures against `client`); on
    /// success opens a session and returns its token and the session.
    pub async fn login(
        &self,
        store: &Store,
        client: IpAddr,
        username: &str,
        password: &str,
    ) -> Result<Option<(String, Session)>, StoreError> {
        let hash = store.password_hash(username).await?;
        let ok = match hash {
            Some(hash) => {
                let password = password.to_owned();
                tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                    .await
                    .unwrap_or(false)
            }
            None => false,
        };
        if !ok {
            self.failed(client);
            return Ok(None);
        }
        let token = random_hex(32);
        let session = Session {
            username: username.to_owned(),
            csrf: random_hex(16),
            expires: crate::ingest::now_ms() + self.session_ms,
        };
        store.create_session(&token_hash(&token), &session).await?;
        Ok(Some((token, session)))
    }

    /// Who the request's credentials name: a bearer token, Basic credentials, or the
    /// session cookie, in that order.
    pub async fn principal(&self, store: &Store, headers: &HeaderMap) -> Option<Principal> {
        let authorization = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Some(value) = authorization {
            if let Some(token) = value.strip_prefix("Bearer ") {
                let session = store.session(&token_hash(token.trim())).await.ok()??;
                return Some(Principal {
                    username: session.username,
                    csrf: None,
                });
            }
            if let Some(encoded) = value.strip_prefix("Basic ") {
                return self.basic(store, encoded.trim()).await;
            }
            return None;
        }
        let token = cookie(headers, SESSION_COOKIE)?;
        let session = store.session(&token_hash(&token)).await.ok()??;
        Some(Principal {
            username: session.username,
            csrf: Some(session.csrf),
        })
    }

    /// HTTP Basic, as Beats and Logstash send it; verified credentials are remembered
    /// for a minute (by hash) so that every bulk request does not pay for argon2.
    async fn basic(&self, store: &Store, encoded: &str) -> Option<Principal> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (username, password) = decoded.split_once(':')?;
        let key = token_hash(&decoded);
        if let Ok(cache) = self.basic_ok.lock()
            && cache
                .get(&key)
                .is_some_and(|t| t.elapsed() < Duration::from_secs(60))
        {
            return Some(Principal {
                username: username.to_owned(),
                csrf: None,
            });
        }
        let hash = store.password_hash(username).await.ok()??;
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        if !ok {
            return None;
        }
        if let Ok(mut cache) = self.basic_ok.lock() {
            cache.retain(|_, t| t.elapsed() < Duration::from_secs(60));
            cache.insert(key, Instant::now());
        }
        Some(Principal {
            username: username.to_owned(),
            csrf: None,
        })
    }
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value with the session flags: HttpOnly, SameSite=Strict, Path=/,
/// and Secure when asked.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let mut cookie =
        format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}");
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn login_limit_counts_failures_per_client() {
        let auth = Auth::new(1);
        let client: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..LOGIN_ATTEMPTS {
            assert!(auth.login_allowed(client));
            auth.failed(client);
        }
        assert!(!auth.login_allowed(client));
        assert!(auth.login_allowed([10, 0, 0, 2].into()));
    }

    #[test]
    fn cookies_are_found_and_flagged() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; dozor_session=abc".parse().expect("header"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert!(set_cookie("x", "y", 60, true).ends_with("; Secure"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd"));
    }
}
