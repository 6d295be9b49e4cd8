//! Deployment configuration (`Leptos.toml`): site name, region, search defaults. Typed and
//! validated once at start-up; pages read it from context.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Deployment {
    pub site: Site,
    pub region: Region,
    pub search: SearchSettings,
    pub identity: IdentitySettings,
    pub onboarding: OnboardingSettings,
    pub mail: MailSettings,
    #[serde(default)]
    pub sms: SmsSettings,
    pub residents: ResidentSettings,
    pub referrals: ReferralSettings,
    #[serde(default)]
    pub directory: DirectorySettings,
}

/// Where the directory comes from besides files: 211 HSDS 3.0 APIs pulled on a schedule.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct DirectorySettings {
    #[serde(default)]
    pub pulls: Vec<PullSettings>,
}

/// One 211's HSDS API, pulled into one source (`[[directory.pulls]]`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct PullSettings {
    /// The feed's short name: its records are kept (and replaced) under it, e.g. "ky-211".
    pub source: String,
    /// The API's base URL: `{url}/services` lists its services.
    pub url: String,
    /// Minutes between pulls. Each asks only for what changed since the last good one.
    #[serde(default = "six_hours")]
    pub every_minutes: u32,
    /// Days between full pulls: everything, and whatever the 211 no longer lists becomes
    /// inactive here.
    #[serde(default = "a_week")]
    pub full_every_days: u32,
}

fn six_hours() -> u32 {
    360
}

fn a_week() -> u32 {
    7
}

/// Residents' privacy settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ResidentSettings {
    /// Needs sealed on partner screens (category or subcategory ids).
    pub sensitive_needs: Vec<String>,
    /// The version of the consent text in force (its file is `app/consent/<version>.<lang>.md`).
    pub consent_text_version: String,
    pub consent_request_valid_days: u32,
}

/// The SMS provider (its Messages REST API). Empty `url`: texts wait in the outbox. The token
/// is a secret: only ever read from `$WRAPAROUND_SMS_TOKEN`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct SmsSettings {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub account: String,
    /// The number texts come from, E.164 ("+15025550100").
    #[serde(default)]
    pub from: String,
    #[serde(skip)]
    pub token: String,
}

impl SmsSettings {
    pub fn configured(&self) -> bool {
        !self.url.is_empty() && !self.account.is_empty() && !self.token.is_empty()
    }
}

/// United Way referral support thresholds and the pairing rule.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ReferralSettings {
    /// Open referrals at onboarded organizations older than this go to outreach (queue 1).
    pub stale_after_days: u32,
    /// Referrals to organizations not onboarded older than this are closed by United Way (queue 2).
    pub not_onboarded_close_after_days: u32,
    /// Referrals closed as provided this many days ago are followed up with the resident (queue 3).
    pub follow_up_after_days: u32,
    /// "Frequently paired together" shows a pair only when this many residents share it.
    pub paired_minimum_residents: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Site {
    pub name: String,
    pub public_url: String,
    pub help_phone: String,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges). Empty:
    /// the TCP peer is the client, for rate limits and the audit trail.
    #[serde(default)]
    pub trusted_proxies: Vec<IpRange>,
}

/// An address or a CIDR range ("10.0.0.0/8", "::1").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: std::net::IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(s: &str) -> Option<IpRange> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (s.trim(), None),
        };
        let network: std::net::IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpRange { network, prefix })
    }

    pub fn contains(&self, ip: &std::net::IpAddr) -> bool {
        fn bits(ip: &std::net::IpAddr) -> (u128, u32) {
            match ip {
                std::net::IpAddr::V4(v4) => (u32::from(*v4) as u128, 32),
                std::net::IpAddr::V6(v6) => (u128::from(*v6), 128),
            }
        }
        let ((net, width), (addr, addr_width)) = (bits(&self.network), bits(ip));
        if width != addr_width {
            return false;
        }
        let shift = width - self.prefix as u32;
        shift >= 128 || (net >> shift) == (addr >> shift)
    }
}

impl Serialize for IpRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}/{}", self.network, self.prefix))
    }
}

impl<'de> Deserialize<'de> for IpRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IpRange::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("{s:?} is not an IP address or CIDR range"))
        })
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Region {
    /// USPS code of the state this deployment serves, e.g. "KY".
    pub state: String,
    pub state_name: String,
    /// IANA time zone used when a place's own zone is unknown.
    pub timezone: String,
    pub default_place: String,
    pub default_latitude: f64,
    pub default_longitude: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct SearchSettings {
    pub default_radius_miles: u32,
    pub radius_choices: Vec<u32>,
    pub page_size: u32,
}

/// How partners and United Way staff sign in.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct IdentitySettings {
    /// The state identity provider's name as people know it ("Kentucky Online Gateway").
    pub provider_name: String,
    /// OpenID Connect issuer URL; empty turns the identity provider off (passwords only).
    /// $WRAPAROUND_OIDC_ISSUER overrides it; the client secret is only ever read from
    /// $WRAPAROUND_OIDC_CLIENT_SECRET.
    #[serde(default)]
    pub oidc_issuer: String,
    #[serde(default)]
    pub oidc_client_id: String,
    /// Where people create an account with the state identity provider (the first of the two
    /// links an invitation carries); $WRAPAROUND_OIDC_REGISTRATION_URL overrides. Empty: the
    /// provider's address.
    #[serde(default)]
    pub registration_url: String,
    /// Signed-in sessions end after this long without a request...
    pub idle_timeout_minutes: u32,
    /// ...and after this long in any case.
    pub absolute_timeout_hours: u32,
    /// The key that seals TOTP secrets in the database (see `identity::sealed`), created on
    /// first use. Relative to the configuration file; $WRAPAROUND_SECRETS_KEY_FILE overrides.
    #[serde(default = "default_secrets_key_file")]
    pub secrets_key_file: String,
}

fn default_secrets_key_file() -> String {
    "target/keys/secrets.key".into()
}

/// Claims, invitations and the United Way chapters that review them.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct OnboardingSettings {
    pub invitation_valid_days: u32,
    /// The chapter for counties no other chapter lists.
    pub default_chapter: String,
    pub chapters: Vec<Chapter>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Chapter {
    pub id: String,
    pub name: String,
    /// County names as in the places table ("Fayette"), without "County".
    #[serde(default)]
    pub counties: Vec<String>,
}

impl OnboardingSettings {
    /// The chapter that reviews claims for organizations in `county`.
    pub fn chapter_for_county(&self, county: Option<&str>) -> &Chapter {
        let wanted = county.map(|c| c.trim_end_matches(" County").to_lowercase());
        self.chapters
            .iter()
            .find(|ch| {
                wanted
                    .as_deref()
                    .is_some_and(|w| ch.counties.iter().any(|c| c.to_lowercase() == w))
            })
            .or_else(|| self.chapter(&self.default_chapter))
            .unwrap_or(&self.chapters[0])
    }

    pub fn chapter(&self, id: &str) -> Option<&Chapter> {
        self.chapters.iter().find(|c| c.id == id)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct MailSettings {
    /// The From: address of every message.
    pub from: String,
    /// With no SMTP server ($WRAPAROUND_SMTP_URL unset), show outgoing mail at /dev/mailbox
    /// instead of holding it. Only for demos and development: the mailbox is public.
    #[serde(default)]
    pub dev_mailbox: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

impl Deployment {
    /// Parses and checks a configuration file's text.
    pub fn parse(path: &str, text: &str) -> Result<Self, ConfigError> {
        #[cfg(feature = "ssr")]
        let parsed: Result<Deployment, String> = toml::from_str(text).map_err(|e| e.to_string());
        #[cfg(not(feature = "ssr"))]
        let parsed: Result<Deployment, String> = {
            let _ = text;
            Err("configuration is read on the server only".to_string())
        };
        let mut deployment = parsed.map_err(|message| ConfigError::Invalid {
            path: path.into(),
            message,
        })?;
        if let Ok(url) = std::env::var("WRAPAROUND_PUBLIC_URL") {
            deployment.site.public_url = url;
        }
        if let Ok(issuer) = std::env::var("WRAPAROUND_OIDC_ISSUER") {
            deployment.identity.oidc_issuer = issuer;
        }
        if let Ok(id) = std::env::var("WRAPAROUND_OIDC_CLIENT_ID") {
            deployment.identity.oidc_client_id = id;
        }
        if let Ok(url) = std::env::var("WRAPAROUND_OIDC_REGISTRATION_URL") {
            deployment.identity.registration_url = url;
        }
        if let Ok(file) = std::env::var("WRAPAROUND_SECRETS_KEY_FILE") {
            deployment.identity.secrets_key_file = file;
        }
        // Relative to the configuration file, so every process of a deployment (and every
        // test, whatever its working directory) finds the same key.
        let key_file = std::path::Path::new(&deployment.identity.secrets_key_file);
        if key_file.is_relative() {
            let dir = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map(|d| d.to_path_buf())
                .unwrap_or_else(|| std::env::current_dir().unwrap_or_default());
            let joined = dir.join(key_file);
            deployment.identity.secrets_key_file = std::path::absolute(&joined)
                .unwrap_or(joined)
                .display()
                .to_string();
        }
        for (var, field) in [
            ("WRAPAROUND_SMS_URL", &mut deployment.sms.url),
            ("WRAPAROUND_SMS_ACCOUNT", &mut deployment.sms.account),
            ("WRAPAROUND_SMS_FROM", &mut deployment.sms.from),
            ("WRAPAROUND_SMS_TOKEN", &mut deployment.sms.token),
        ] {
            if let Ok(v) = std::env::var(var) {
                *field = v;
            }
        }
        if let Ok(on) = std::env::var("WRAPAROUND_DEV_MAILBOX") {
            deployment.mail.dev_mailbox = on == "1" || on == "true";
        }
        deployment.site.public_url = deployment.site.public_url.trim_end_matches('/').to_string();
        deployment
            .validate()
            .map_err(|message| ConfigError::Invalid {
                path: path.into(),
                message,
            })?;
        Ok(deployment)
    }

    pub fn load(path: &str) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(path, &text)
    }

    fn validate(&self) -> Result<(), String> {
        if self.region.state.len() != 2
            || !self.region.state.chars().all(|c| c.is_ascii_uppercase())
        {
            return Err("region.state must be a two-letter USPS code such as \"KY\"".into());
        }
        if !(self.site.public_url.starts_with("http://")
            || self.site.public_url.starts_with("https://"))
        {
            return Err("site.public_url must start with http:// or https://".into());
        }
        if self.search.radius_choices.is_empty()
            || !self
                .search
                .radius_choices
                .contains(&self.search.default_radius_miles)
        {
            return Err("search.default_radius_miles must be one of search.radius_choices".into());
        }
        for (i, pull) in self.directory.pulls.iter().enumerate() {
            let valid_source = !pull.source.is_empty()
                && pull.source.len() <= 63
                && pull
                    .source
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !valid_source {
                return Err(format!(
                    "directory.pulls[{i}].source must be a short name of lowercase letters, digits, - and _"
                ));
            }
            if !(pull.url.starts_with("http://") || pull.url.starts_with("https://")) {
                return Err(format!(
                    "directory.pulls[{i}].url must start with http:// or https://"
                ));
            }
            if pull.every_minutes == 0 || pull.full_every_days == 0 {
                return Err(format!(
                    "directory.pulls[{i}]: every_minutes and full_every_days must be 1 or more"
                ));
            }
            if self.directory.pulls[..i]
                .iter()
                .any(|p| p.source == pull.source)
            {
                return Err(format!(
                    "directory.pulls: the source {:?} is pulled twice",
                    pull.source
                ));
            }
        }
        if !(1..=100).contains(&self.search.page_size) {
            return Err("search.page_size must be between 1 and 100".into());
        }
        if self
            .onboarding
            .chapter(&self.onboarding.default_chapter)
            .is_none()
        {
            return Err(
                "onboarding.default_chapter must be the id of one of onboarding.chapters".into(),
            );
        }
        let tree = crate::directory::categories::CategoryTree::get();
        if let Some(unknown) = self
            .residents
            .sensitive_needs
            .iter()
            .find(|n| !tree.exists(n))
        {
            return Err(format!(
                "residents.sensitive_needs lists {unknown:?}, which is not a category of categories.toml"
            ));
        }
        if !self.identity.oidc_issuer.is_empty() && self.identity.oidc_client_id.is_empty() {
            return Err(
                "identity.oidc_client_id is needed when identity.oidc_issuer is set".into(),
            );
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configuration_is_valid() {
        let d = Deployment::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml")).unwrap();
        assert_eq!(d.region.state, "KY");
    }

    #[test]
    fn a_bad_state_code_is_refused_with_a_clear_message() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml"))
            .unwrap()
            .replace("state = \"KY\"", "state = \"Kentucky\"");
        let err = Deployment::parse("Leptos.toml", &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("two-letter"), "{err}");
    }
}

#[cfg(test)]
mod ip_range_tests {
    use super::IpRange;

    #[test]
    fn addresses_and_ranges_match_what_they_cover() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let lan = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(lan.contains(&ip("10.1.2.3")));
        assert!(!lan.contains(&ip("11.0.0.1")));
        assert!(!lan.contains(&ip("::1")));
        let one = IpRange::parse("127.0.0.1").unwrap();
        assert!(one.contains(&ip("127.0.0.1")) && !one.contains(&ip("127.0.0.2")));
        assert!(IpRange::parse("0.0.0.0/0")
            .unwrap()
            .contains(&ip("8.8.8.8")));
        assert!(IpRange::parse("::1").unwrap().contains(&ip("::1")));
        assert_eq!(IpRange::parse("10.0.0.0/33"), None);
        assert_eq!(IpRange::parse("proxy.example"), None);
    }
}
