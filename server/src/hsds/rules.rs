//! What the directory derives from a feed's free text at import: whether a service is free, and
//! which states, counties and ZIP codes its service areas cover.

use serde_json::Value;
use std::collections::HashMap;

/// True when the fees text or the cost options say the service costs nothing.
pub fn is_free(fees_description: Option<&str>, cost_options: &[Value]) -> bool {
    if let Some(f) = fees_description {
        let f = f.trim().to_lowercase();
        let starts = [
            "free",
            "no cost",
            "no charge",
            "none",
            "$0",
            "no fee",
            "gratis",
        ];
        let contains = [
            "free of charge",
            "at no cost",
            "no cost to",
            "free to everyone",
            "free for",
            "there is no fee",
            "services are free",
        ];
        if starts.iter().any(|s| f.starts_with(s)) || contains.iter().any(|c| f.contains(c)) {
            return true;
        }
        if !f.is_empty() {
            return false;
        }
    }
    !cost_options.is_empty()
        && cost_options.iter().all(|c| {
            c.get("amount")
                .and_then(|a| a.as_f64())
                .is_some_and(|a| a == 0.0)
        })
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub states: Vec<String>,
    pub counties: Vec<String>,
    pub zips: Vec<String>,
}

/// County FIPS codes by (state, lower-case county name), from the reference places.
pub struct Counties(HashMap<(String, String), String>);

impl Counties {
    pub fn from_places(places: &[crate::places::Place]) -> Self {
        let mut map = HashMap::new();
        for p in places {
            if let (Some(c), Some(f)) = (&p.county, &p.county_fips) {
                map.insert((p.state.clone(), c.to_lowercase()), f.clone());
            }
        }
        Counties(map)
    }

    fn fips(&self, state: &str, county: &str) -> Option<&String> {
        self.0
            .get(&(state.to_string(), county.trim().to_lowercase()))
    }
}

fn state_code(word: &str) -> Option<&'static str> {
    app::us_states::code(word.trim().trim_end_matches('.'))
}

/// Reads service area names such as "Kentucky", "Statewide", "Franklin County",
/// "Jefferson, Oldham and Bullitt counties, KY" or "40601, 40602". Names it cannot read cover
/// nothing (the service is then found by its location only).
pub fn coverage(areas: &[Value], home_state: &str, counties: &Counties) -> Coverage {
    let mut c = Coverage::default();
    let add = |list: &mut Vec<String>, v: String| {
        if !list.contains(&v) {
            list.push(v);
        }
    };
    for area in areas {
        let Some(name) = area.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        let lower = name.to_lowercase();
        // A trailing state ("..., KY" or "... Kentucky") says where the counties are.
        let mut parts: Vec<String> = lower
            .replace(" and ", ",")
            .replace(';', ",")
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        let state = match parts.last().and_then(|p| state_code(p)) {
            Some(s) if parts.len() > 1 || !lower.contains("count") => {
                if parts.len() == 1 {
                    add(&mut c.states, s.to_string());
                    continue;
                }
                parts.pop();
                s.to_string()
            }
            _ => home_state.to_string(),
        };
        let is_county_list = parts
            .iter()
            .any(|p| p.ends_with(" county") || p.ends_with(" counties"));
        for part in parts {
            if part == "statewide" || part.starts_with("statewide") || part.starts_with("all of ") {
                add(&mut c.states, state.clone());
            } else if part.len() == 5 && part.bytes().all(|b| b.is_ascii_digit()) {
                add(&mut c.zips, part);
            } else if let Some(s) = state_code(&part) {
                add(&mut c.states, s.to_string());
            } else if is_county_list {
                let county = part
                    .trim_end_matches(" counties")
                    .trim_end_matches(" county")
                    .trim();
                if let Some(f) = counties.fips(&state, county) {
                    add(&mut c.counties, f.clone());
                }
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn counties() -> Counties {
        Counties::from_places(&crate::places::kentucky())
    }

    #[test]
    fn free_is_read_from_fees_or_cost_options() {
        assert!(is_free(Some("Free to everyone"), &[]));
        assert!(is_free(Some("No cost"), &[]));
        assert!(is_free(Some("Services are free of charge."), &[]));
        assert!(!is_free(Some("$5 per visit"), &[]));
        assert!(!is_free(None, &[]));
        assert!(is_free(None, &[json!({"amount": 0})]));
        assert!(!is_free(None, &[json!({"amount": 35})]));
    }

    #[test]
    fn statewide_and_state_names() {
        let c = coverage(&[json!({"name": "Statewide"})], "KY", &counties());
        assert_eq!(c.states, vec!["KY"]);
        let c = coverage(&[json!({"name": "Kentucky"})], "KY", &counties());
        assert_eq!(c.states, vec!["KY"]);
        let c = coverage(&[json!({"name": "Ohio"})], "KY", &counties());
        assert_eq!(c.states, vec!["OH"]);
    }

    #[test]
    fn county_lists_become_fips_codes() {
        let c = coverage(
            &[json!({"name": "Jefferson, Oldham and Bullitt counties, KY"})],
            "KY",
            &counties(),
        );
        assert_eq!(c.counties, vec!["21111", "21185", "21029"]);
        let c = coverage(&[json!({"name": "Franklin County"})], "KY", &counties());
        assert_eq!(c.counties, vec!["21073"]);
    }

    #[test]
    fn zip_lists_and_unreadable_names() {
        let c = coverage(&[json!({"name": "40601, 40602"})], "KY", &counties());
        assert_eq!(c.zips, vec!["40601", "40602"]);
        let c = coverage(&[json!({"name": "The MyCity area"})], "KY", &counties());
        assert_eq!(c, Coverage::default());
    }
}
