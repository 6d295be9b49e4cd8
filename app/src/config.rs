//! Deployment configuration (`Leptos.toml`): site name, region, search defaults. Typed and
//! validated once at start-up; pages read it from context.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Deployment {
    pub site: Site,
    pub region: Region,
    pub search: SearchSettings,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Site {
    pub name: String,
    pub public_url: String,
    pub help_phone: String,
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
        if !(1..=100).contains(&self.search.page_size) {
            return Err("search.page_size must be between 1 and 100".into());
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
