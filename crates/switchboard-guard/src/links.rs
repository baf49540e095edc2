//! Where a reply's links may point: the hosts a business sends its customers to.
//!
//! A poisoned help article can carry a link to an attacker's site, and an answer that quotes it
//! (or a model that repeats it) would hand that link to the customer with the business's
//! authority. [`LinkHosts`] is the list of hosts a reply may link to; [`LinkHosts::allows`]
//! judges one link destination or bare URL, and [`crate::markdown::restrict_links`] applies the
//! verdict to a reply.
//!
//! Only web links are judged: `http` and `https` URLs, scheme-relative `//host` links, and bare
//! `www.` words (which chat windows link). Other destinations (`mailto:` addresses, relative
//! paths, `javascript:`) are left to the markdown sanitiser, which keeps `mailto:` and refuses the
//! rest. Hosts are compared as the WHATWG URL parser reads them (lower case, IDNA, user info
//! dropped: `https://shop.example@evil.example/` is `evil.example`); ports are not compared.

use std::fmt;

use url::{Host, Url};

/// One entry of an agent's link hosts: a host (`shop.example`, `127.0.0.1`, `[::1]`) or every
/// subdomain of one (`*.shop.example`, which does not match `shop.example` itself, as in CSP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: String,
    subdomains: bool,
}

/// Why a host pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPatternError(String);

impl fmt::Display for HostPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostPatternError {}

impl HostPattern {
    /// Parses `shop.example`, `*.shop.example`, an IPv4 address or a bracketed IPv6 address,
    /// normalised the way URLs are (lower case, IDNA). A scheme, port, path or user info is
    /// refused: the pattern names a host, not a URL.
    ///
    /// ```
    /// use switchboard_guard::links::HostPattern;
    /// assert_eq!(HostPattern::parse("*.Shop.Example").unwrap().to_string(), "*.shop.example");
    /// assert!(HostPattern::parse("https://shop.example").is_err());
    /// assert!(HostPattern::parse("*.example").is_err(), "a wildcard needs two labels");
    /// ```
    pub fn parse(text: &str) -> Result<Self, HostPatternError> {
        let refuse = |why: &str| Err(HostPatternError(format!("`{text}` {why}")));
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.len() > 253 {
            return refuse("must be 1 to 253 characters");
        }
        let (subdomains, rest) = match trimmed.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if rest.contains(['*', '/', ':', '@', '?', '#', '\\']) && !rest.starts_with('[') {
            return refuse("must be a host name such as shop.example or *.shop.example, without scheme, port or path");
        }
        let Ok(host) = Host::parse(rest) else {
            return refuse("is not a valid host name");
        };
        let host = match host {
            Host::Domain(domain) => {
                let domain = domain.strip_suffix('.').unwrap_or(&domain).to_owned();
                if domain.is_empty() || domain.split('.').any(str::is_empty) {
                    return refuse("is not a valid host name");
                }
                if subdomains && !domain.contains('.') {
                    return refuse("is too wide: a wildcard needs at least two labels, as in *.shop.example");
                }
                domain
            }
            _ if subdomains => return refuse("is an address: a wildcard goes with a host name"),
            address => address.to_string(),
        };
        Ok(Self { host, subdomains })
    }

    /// An exact host, as a URL's `host_str` gives it (`shop.example`, `[::1]`).
    pub fn exact(host: &str) -> Option<Self> {
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        (!host.is_empty()).then_some(Self { host, subdomains: false })
    }

    fn matches(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        if self.subdomains {
            host.len() > self.host.len() + 1
                && host.ends_with(self.host.as_str())
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subdomains {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)
    }
}

/// The hosts a reply may link to. Empty allows no web link at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkHosts {
    patterns: Vec<HostPattern>,
}

impl LinkHosts {
    pub fn new(patterns: impl IntoIterator<Item = HostPattern>) -> Self {
        let mut out = Self::default();
        for p in patterns {
            out.add(p);
        }
        out
    }

    pub fn add(&mut self, pattern: HostPattern) {
        if !self.patterns.contains(&pattern) {
            self.patterns.push(pattern);
        }
    }

    /// Adds the host of `url` (an `http(s)` URL or an origin such as `https://shop.example`);
    /// anything else is ignored.
    pub fn add_host_of(&mut self, url: &str) {
        let host = Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
        if let Some(pattern) = host.as_ref().and_then(Url::host_str).and_then(HostPattern::exact) {
            self.add(pattern);
        }
    }

    pub fn patterns(&self) -> &[HostPattern] {
        &self.patterns
    }

    /// Whether a link to `dest` may stay: `true` for what is not a web link (left to the
    /// sanitiser), otherwise whether its host is one of these. A destination that names a host
    /// the web way (`//`) but does not parse is refused.
    ///
    /// ```
    /// use switchboard_guard::links::{HostPattern, LinkHosts};
    /// let hosts = LinkHosts::new([HostPattern::parse("shop.example").unwrap()]);
    /// assert!(hosts.allows("https://shop.example/returns"));
    /// assert!(!hosts.allows("https://shop.example@evil.example/"));
    /// assert!(!hosts.allows("www.evil.example/deal"));
    /// assert!(hosts.allows("mailto:help@evil.example"), "addresses are not judged by host");
    /// ```
    pub fn allows(&self, dest: &str) -> bool {
        match web_host(dest) {
            WebHost::NotWeb => true,
            WebHost::Unreadable => false,
            WebHost::Host(host) => self.patterns.iter().any(|p| p.matches(&host)),
        }
    }
}

/// Whether `dest` is a web link the host policy judges. Used to skip the policy's look-ups for a
/// reply that links nowhere.
pub fn is_web_link(dest: &str) -> bool {
    !matches!(web_host(dest), WebHost::NotWeb)
}

enum WebHost {
    NotWeb,
    Unreadable,
    Host(String),
}

fn web_host(dest: &str) -> WebHost {
    let dest = dest.trim();
    let lower = dest.get(..4).map(str::to_ascii_lowercase);
    // Chat windows link a bare `www.` word as `http://www.…`; `//host` is relative to the page's scheme.
    let absolute = if lower.as_deref() == Some("www.") {
        format!("http://{dest}")
    } else if dest.starts_with("//") {
        format!("https:{dest}")
    } else {
        dest.to_owned()
    };
    match Url::parse(&absolute) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => match url.host_str() {
            Some(host) => WebHost::Host(host.to_owned()),
            None => WebHost::Unreadable,
        },
        Ok(_) => WebHost::NotWeb,
        Err(_) if absolute.contains("//") => WebHost::Unreadable,
        Err(_) => WebHost::NotWeb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> LinkHosts {
        LinkHosts::new(list.iter().map(|h| HostPattern::parse(h).unwrap()))
    }

    #[test]
    fn patterns_name_hosts_not_urls() {
        let long = "a".repeat(254);
        for ok in
            ["shop.example", "SHOP.example.", "*.shop.example", "127.0.0.1", "[::1]", "bücher.example", "localhost"]
        {
            assert!(HostPattern::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(HostPattern::parse("bücher.example").unwrap().to_string(), "xn--bcher-kva.example");
        assert_eq!(HostPattern::parse(" Shop.Example. ").unwrap().to_string(), "shop.example");
        for bad in [
            "",
            " ",
            "https://shop.example",
            "shop.example:443",
            "shop.example/returns",
            "user@shop.example",
            "*",
            "*.",
            "*.example",
            "**.shop.example",
            "shop.*.example",
            "*.127.0.0.1",
            "shop..example",
            "shop example",
            "shop.example?x",
            long.as_str(),
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let h = hosts(&["*.shop.example"]);
        assert!(h.allows("https://help.shop.example/a"));
        assert!(h.allows("https://a.b.shop.example/"));
        assert!(!h.allows("https://shop.example/"), "the apex is listed on its own");
        assert!(!h.allows("https://evilshop.example/"));
        assert!(!h.allows("https://shop.example.evil.example/"));
        let both = hosts(&["shop.example", "*.shop.example"]);
        assert!(both.allows("https://shop.example/") && both.allows("https://www.shop.example/"));
    }

    #[test]
    fn hosts_are_read_the_way_a_browser_reads_them() {
        let h = hosts(&["shop.example"]);
        for ok in [
            "https://shop.example/returns",
            "HTTP://SHOP.EXAMPLE:8080/x",
            "https://shop.example./x",
            "//shop.example/x",
            "https:shop.example/x",
            "https://user:pw@shop.example/",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in [
            "https://shop.example@evil.example/",
            "https://evil.example/?u=https://shop.example",
            "https://evil.example#shop.example",
            "//evil.example/x",
            "www.evil.example/x",
            "WWW.evil.example",
            "https://evil\u{200B}.example/",
            "https://evil.example:99999/",
            "https://[::1/",
        ] {
            assert!(!h.allows(bad), "{bad}");
        }
        for not_web in ["mailto:help@evil.example", "help@evil.example", "tel:+4930123", "/returns", "javascript:x"] {
            assert!(h.allows(not_web), "{not_web}: left to the sanitiser");
            assert!(!is_web_link(not_web));
        }
        assert!(LinkHosts::default().allows("mailto:help@shop.example"));
        assert!(!LinkHosts::default().allows("https://shop.example/"));
    }

    #[test]
    fn hosts_of_urls_and_origins_are_exact() {
        let mut h = LinkHosts::default();
        h.add_host_of("https://Help.Shop.example:8443/start");
        h.add_host_of("http://127.0.0.1:3000");
        h.add_host_of("not a url");
        h.add_host_of("ftp://files.example/");
        h.add_host_of("https://help.shop.example/other");
        let listed: Vec<String> = h.patterns().iter().map(ToString::to_string).collect();
        assert_eq!(listed, ["help.shop.example", "127.0.0.1"]);
        assert!(h.allows("https://help.shop.example/x") && !h.allows("https://shop.example/x"));
    }
}
