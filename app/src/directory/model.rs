//! What directory pages show: plain data shared by the server (which fills it) and the pages.

use super::hours::WeeklyHours;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
}

impl Address {
    pub fn one_line(&self) -> String {
        let street = [&self.line1, &self.line2]
            .iter()
            .filter_map(|s| s.as_deref())
            .collect::<Vec<_>>()
            .join(", ");
        let state_zip = [&self.state, &self.postal_code]
            .iter()
            .filter_map(|s| s.as_deref())
            .collect::<Vec<_>>()
            .join(" ");
        [Some(street), self.city.clone(), Some(state_zip)]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn is_empty(&self) -> bool {
        self.one_line().is_empty()
    }
}

/// A directions link that opens the phone's map app (or the web map) at this place.
pub fn directions_url(
    address: Option<&Address>,
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> Option<String> {
    let destination = match (address.filter(|a| !a.is_empty()), latitude, longitude) {
        (Some(a), _, _) => a.one_line(),
        (None, Some(la), Some(lo)) => format!("{la:.5},{lo:.5}"),
        _ => return None,
    };
    Some(format!(
        "https://www.google.com/maps/dir/?api=1&destination={}",
        super::query::encode(&destination)
    ))
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    pub number: String,
    pub extension: Option<String>,
    pub description: Option<String>,
}

impl Phone {
    /// `tel:` URI: digits only (a leading + kept), extension after a pause.
    pub fn tel_uri(&self) -> String {
        let mut digits: String = self
            .number
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        if let Some(ext) = self.extension.as_deref().filter(|e| !e.trim().is_empty()) {
            digits.push(',');
            digits.extend(ext.chars().filter(|c| c.is_ascii_digit()));
        }
        format!("tel:{digits}")
    }
}

/// One line of search results, and the cards in a program page's sections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceCard {
    /// The program page id: a service at a location, or a service that has no location.
    pub id: Uuid,
    pub name: String,
    pub organization: String,
    pub category_ids: Vec<String>,
    pub distance_miles: Option<f64>,
    /// `None` when the hours are unknown.
    pub open_now: Option<bool>,
    pub phone: Option<Phone>,
    pub address: Option<Address>,
    pub is_free: bool,
    /// Found because it serves the whole area (statewide / countywide), not by distance.
    pub serves_area: bool,
    /// How many of the program's locations matched (the card shows the nearest).
    pub locations: i64,
    /// It meets none of the words' needs but offers help next to them (general legal help for
    /// an eviction); shown only after the programs that do.
    #[serde(default)]
    pub related: bool,
    /// Offered by an onboarded Community Partner (they take referrals here).
    pub is_partner: bool,
    /// For a program closed now: when it opens next.
    pub opens: Option<NextOpening>,
}

/// When a closed program opens next, as minutes since Monday 00:00 in its own time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextOpening {
    pub now_minute: i32,
    pub opens_at: i32,
}

/// How far ahead a next opening is, in days (0 = today, 1 = tomorrow, ... 7 = this day next
/// week), and its day (0 = Monday) and minute of that day.
impl NextOpening {
    pub fn day(&self) -> u8 {
        (self.opens_at.rem_euclid(10_080) / 1440) as u8
    }

    pub fn minute_of_day(&self) -> u16 {
        (self.opens_at.rem_euclid(1440)) as u16
    }

    pub fn days_ahead(&self) -> u8 {
        let today = self.now_minute.rem_euclid(10_080) / 1440;
        let ahead = (self.day() as i32 - today).rem_euclid(7);
        // Later today is 0; earlier today means next week.
        if ahead == 0 && self.opens_at <= self.now_minute {
            7
        } else {
            ahead as u8
        }
    }
}

/// Where a search is centred, as the server understood it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedPlace {
    pub label: String,
    pub latitude: f64,
    pub longitude: f64,
    pub state: Option<String>,
    pub county_fips: Option<String>,
    /// The county's name ("Peoria"): a program that gives no place but names the county in
    /// its text ("Free legal forms in Peoria County") is in it.
    pub county: Option<String>,
    pub zip: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Matches counted, up to `store::MAX_COUNTED`.
    pub total: i64,
    /// There are more matches than were counted.
    pub capped: bool,
    pub page: u32,
    pub page_size: u32,
    pub cards: Vec<ServiceCard>,
    /// The keywords actually searched when a word was corrected ("formla" → "formula"); only
    /// when the words as typed found nothing.
    pub corrected_keywords: Option<String>,
    /// The free filter is on because the resident wrote "free".
    pub free_from_words: bool,
    pub origin: Option<ResolvedPlace>,
}

impl SearchResults {
    pub fn last_page(&self) -> u32 {
        let pages = (self.total.max(0) as u64).div_ceil(self.page_size.max(1) as u64) as u32;
        pages.clamp(1, super::query::MAX_PAGE)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrganizationSummary {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub website: Option<String>,
    /// An onboarded Community Partner.
    pub is_partner: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgramLocation {
    pub name: Option<String>,
    pub address: Option<Address>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub transportation: Option<String>,
}

/// Everything a resident needs to act on a program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub id: Uuid,
    pub share_code: String,
    pub name: String,
    pub alternate_name: Option<String>,
    pub description: Option<String>,
    pub organization: OrganizationSummary,
    pub category_ids: Vec<String>,
    pub eligibility: Option<String>,
    pub minimum_age: Option<i32>,
    pub maximum_age: Option<i32>,
    pub fees: Option<String>,
    pub is_free: bool,
    pub application_process: Option<String>,
    pub required_documents: Vec<String>,
    pub hours: Option<WeeklyHours>,
    /// Free-text notes from the schedules ("Closed on holidays").
    pub hours_notes: Vec<String>,
    pub open_now: Option<bool>,
    pub languages: Vec<String>,
    pub interpretation_services: Option<String>,
    pub phones: Vec<Phone>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub location: Option<ProgramLocation>,
    pub service_areas: Vec<String>,
    pub wait_time: Option<String>,
    pub alert: Option<String>,
    pub last_verified: Option<NaiveDate>,
    pub active: bool,
}

/// A program in a list that names it (a plan's saved programs, a referral being put together).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ProgramSummary {
    pub program_id: Uuid,
    pub name: String,
    pub organization: String,
    /// The organization is on Wraparound (it takes referrals here).
    pub receiver_onboarded: bool,
    pub category_ids: Vec<String>,
    pub phone: Option<serde_json::Value>,
}

/// A "frequently paired together" suggestion: another kind of help, with the nearest example.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedSuggestion {
    pub subcategory_id: String,
    pub nearest: Option<ServiceCard>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgramPage {
    pub program: Program,
    pub other_here: Vec<ServiceCard>,
    pub related: Vec<ServiceCard>,
    pub paired: Vec<PairedSuggestion>,
    /// From real referrals (residents referred to both within 30 days); empty until enough
    /// residents share a pair, and then shown instead of the curated suggestions.
    pub paired_by_referrals: Vec<ServiceCard>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_one_line() {
        let a = Address {
            line1: Some("100 Main St".into()),
            line2: None,
            city: Some("Frankfort".into()),
            state: Some("KY".into()),
            postal_code: Some("40601".into()),
        };
        assert_eq!(a.one_line(), "100 Main St, Frankfort, KY 40601");
        assert_eq!(
            directions_url(Some(&a), None, None).unwrap(),
            "https://www.google.com/maps/dir/?api=1&destination=100%20Main%20St%2C%20Frankfort%2C%20KY%2040601"
        );
    }

    #[test]
    fn phone_numbers_become_tap_to_call_links() {
        let p = Phone {
            number: "(502) 555-0142".into(),
            extension: Some("ext. 12".into()),
            description: None,
        };
        assert_eq!(p.tel_uri(), "tel:5025550142,12");
    }
}

/// A link from a feed that may be shown as a link: an absolute http(s) URL with a host and
/// nothing in it a browser would strip or reinterpret. Anything else (`javascript:`, relative
/// paths, text with spaces) is not a link. The program pages and the HSDS API use this one filter.
pub fn web_link(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let clean = !url.chars().any(|c| {
        c.is_whitespace() || c.is_control() || c == '\\' || c == '"' || c == '<' || c == '>'
    });
    (clean && !host.is_empty() && !host.starts_with('@') && url.len() <= 2000)
        .then(|| url.to_string())
}

#[cfg(test)]
mod link_tests {
    use super::web_link;

    #[test]
    fn only_absolute_web_addresses_are_links() {
        assert_eq!(
            web_link("https://example.org/x").as_deref(),
            Some("https://example.org/x")
        );
        assert_eq!(
            web_link(" http://example.org ").as_deref(),
            Some("http://example.org")
        );
        for bad in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<b>x</b>",
            "/relative",
            "www.example.org",
            "https://",
            "https:///path",
            "https://exa mple.org",
            "https://example.org/\tx",
            "https://example.org/\\x",
            "https://example.org/\"onmouseover=",
        ] {
            assert_eq!(web_link(bad), None, "{bad:?}");
        }
    }
}
