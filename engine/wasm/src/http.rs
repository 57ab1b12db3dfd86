//! HTTP for guests: the allowlist check (done here, before anything leaves the host) and
//! the [`HttpClient`] trait the embedder implements, so tests can answer with a fake.

use crate::error::HostError;
use std::time::Duration;

/// A request a guest wants to send, already checked against the allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Upper-case method.
    pub method: String,
    /// Absolute http(s) URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes (the client stops reading past `max_body` and reports
    /// [`HttpFailure::TooLarge`]).
    pub body: Vec<u8>,
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// Nothing in time.
    Timeout,
    /// Connection or protocol failure.
    Transport(String),
    /// The body is larger than allowed.
    TooLarge,
}

/// Sends guests' HTTP requests. Called on the run's (blocking) thread.
pub trait HttpClient: Send + Sync {
    /// Sends `request`, giving up after `timeout`, reading at most `max_body` bytes.
    fn send(
        &self,
        request: HttpRequest,
        timeout: Duration,
        max_body: usize,
    ) -> Result<HttpResponse, HttpFailure>;
}

/// A client for hosts without HTTP: every request fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHttp;

impl HttpClient for NoHttp {
    fn send(&self, _: HttpRequest, _: Duration, _: usize) -> Result<HttpResponse, HttpFailure> {
        Err(HttpFailure::Transport("HTTP is not configured".to_owned()))
    }
}

/// Hosts guests may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    exact: Vec<String>,
    suffixes: Vec<String>,
}

impl Allowlist {
    /// Reads entries: `host.name` or `*.domain` (its subdomains, not itself).
    pub fn new(entries: &[String]) -> Result<Self, HostError> {
        let mut allowlist = Allowlist::default();
        for entry in entries {
            let entry = entry.trim().to_ascii_lowercase();
            let (wildcard, name) = match entry.strip_prefix("*.") {
                Some(rest) => (true, rest.to_owned()),
                None => (false, entry.clone()),
            };
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !valid {
                return Err(HostError::Allowlist(entry));
            }
            if wildcard {
                allowlist.suffixes.push(format!(".{name}"));
            } else {
                allowlist.exact.push(name);
            }
        }
        Ok(allowlist)
    }

    /// May a guest reach `host`?
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.exact.contains(&host)
            || self
                .suffixes
                .iter()
                .any(|suffix| host.ends_with(suffix.as_str()))
    }

    /// Checks a guest's URL: http(s), no credentials, an allowed host. Returns the
    /// normalized URL, or why not (`Ok(Err(host))` means "not allowed").
    pub fn check(&self, raw: &str) -> Result<Result<String, String>, String> {
        let parsed = url::Url::parse(raw).map_err(|error| format!("bad URL: {error}"))?;
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err(format!("scheme `{}` is not http or https", parsed.scheme()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("credentials in the URL are not allowed".to_owned());
        }
        let Some(host) = parsed.host_str() else {
            return Err("the URL has no host".to_owned());
        };
        if !self.allows(host) {
            return Ok(Err(host.to_owned()));
        }
        Ok(Ok(parsed.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Allowlist {
        let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
        Allowlist::new(&entries).unwrap_or_default()
    }

    #[test]
    fn exact_hosts_and_subdomain_wildcards() {
        let allowlist = list(&["crm.example.com", "*.internal.test"]);
        assert!(allowlist.allows("crm.example.com"));
        assert!(allowlist.allows("CRM.Example.com"));
        assert!(!allowlist.allows("evil.crm.example.com"));
        assert!(allowlist.allows("a.internal.test"));
        assert!(!allowlist.allows("internal.test"));
        assert!(!allowlist.allows("internal.test.evil.com"));
    }

    #[test]
    fn urls_are_checked_before_anything_is_sent() {
        let allowlist = list(&["crm.example.com"]);
        assert!(matches!(
            allowlist.check("https://crm.example.com/a?b=1"),
            Ok(Ok(_))
        ));
        assert_eq!(
            allowlist.check("https://evil.example.net/x"),
            Ok(Err("evil.example.net".to_owned()))
        );
        assert!(allowlist.check("file:///etc/passwd").is_err());
        assert!(allowlist.check("https://user:pw@crm.example.com/").is_err());
        assert!(allowlist.check("not a url").is_err());
        // The userinfo trick does not smuggle another host in.
        assert_eq!(
            allowlist.check("https://evil.net#@crm.example.com/"),
            Ok(Err("evil.net".to_owned()))
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(Allowlist::new(&["exa mple.com".to_owned()]).is_err());
        assert!(Allowlist::new(&["*.".to_owned()]).is_err());
        assert!(Allowlist::new(&["https://x.com".to_owned()]).is_err());
    }
}
