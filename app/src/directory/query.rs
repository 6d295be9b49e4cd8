//! A directory search as a resident types it into the URL, and the checked query the server
//! runs. One parser for the page, the server function and the HSDS API: hostile or mistyped
//! input becomes a field error a person can read, never a database error.

use super::categories::CategoryTree;
use serde::{Deserialize, Serialize};

pub const MAX_KEYWORDS_CHARS: usize = 200;
pub const MAX_PLACE_CHARS: usize = 100;
pub const MAX_PAGE: u32 = 500;

/// The raw query string of `/search` (every field optional, all text).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchParams {
    pub q: Option<String>,
    pub near: Option<String>,
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub radius: Option<String>,
    pub category: Option<String>,
    pub open_now: Option<String>,
    pub free: Option<String>,
    pub age: Option<String>,
    pub language: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    /// The words exactly as typed (no spelling correction): "search instead for …".
    pub exact: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sort {
    Relevance,
    Distance,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Place {
    /// Five-digit ZIP code.
    Zip(String),
    /// A county or city name, e.g. "Franklin County" or "Bowling Green".
    Named(String),
    /// The phone's location.
    Point { latitude: f64, longitude: f64 },
}

/// A checked search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub keywords: Option<String>,
    pub category: Option<String>,
    pub place: Option<Place>,
    pub radius_miles: u32,
    pub open_now: bool,
    pub free_only: bool,
    pub age: Option<u32>,
    pub language: Option<String>,
    pub sort: Option<Sort>,
    pub page: u32,
    pub exact: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    Keywords,
    Place,
    Radius,
    Category,
    Age,
    Language,
    Sort,
    Page,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    TooLong,
    NotAZip,
    UnknownPlace,
    BadCoordinates,
    BadRadius,
    UnknownCategory,
    BadAge,
    UnknownLanguage,
    UnknownSort,
    BadPage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: Field,
    pub problem: Problem,
}

/// Languages a resident can filter by (ISO 639-1). Services may list others; these are the
/// ones with a filter because Kentucky's residents ask for them most.
pub const FILTER_LANGUAGES: &[&str] =
    &["es", "ar", "sw", "fr", "vi", "zh", "ne", "so", "uk", "asl"];

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn flag(v: &Option<String>) -> bool {
    matches!(non_empty(v), Some("1" | "true" | "on" | "yes"))
}

impl SearchParams {
    /// Reads the parameters from a URL query's key/value pairs (unknown keys are ignored).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        Self::from_lookup(|key| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        })
    }

    /// Reads the parameters with a lookup function (e.g. the router's query map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        SearchParams {
            q: get("q"),
            near: get("near"),
            lat: get("lat"),
            lon: get("lon"),
            radius: get("radius"),
            category: get("category"),
            open_now: get("open_now"),
            free: get("free"),
            age: get("age"),
            language: get("language"),
            sort: get("sort"),
            page: get("page"),
            exact: get("exact"),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == SearchParams::default()
    }

    /// Checks every field and reports all problems at once.
    pub fn check(
        &self,
        radius_choices: &[u32],
        default_radius: u32,
    ) -> Result<SearchQuery, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field, problem| errors.push(FieldError { field, problem });

        let keywords = match non_empty(&self.q) {
            Some(q) if q.chars().count() > MAX_KEYWORDS_CHARS => {
                fail(Field::Keywords, Problem::TooLong);
                None
            }
            Some(q) => Some(q.split_whitespace().collect::<Vec<_>>().join(" ")),
            None => None,
        };

        let point = match (non_empty(&self.lat), non_empty(&self.lon)) {
            (None, None) => None,
            (Some(lat), Some(lon)) => match (lat.parse::<f64>(), lon.parse::<f64>()) {
                (Ok(la), Ok(lo))
                    if la.is_finite()
                        && lo.is_finite()
                        && la.abs() <= 90.0
                        && lo.abs() <= 180.0 =>
                {
                    Some(Place::Point {
                        latitude: la,
                        longitude: lo,
                    })
                }
                _ => {
                    fail(Field::Place, Problem::BadCoordinates);
                    None
                }
            },
            _ => {
                fail(Field::Place, Problem::BadCoordinates);
                None
            }
        };
        let place = match (point, non_empty(&self.near)) {
            (Some(p), _) => Some(p),
            (None, None) => None,
            (None, Some(near)) if near.chars().count() > MAX_PLACE_CHARS => {
                fail(Field::Place, Problem::TooLong);
                None
            }
            (None, Some(near)) if near.chars().all(|c| c.is_ascii_digit() || c == '-') => {
                let digits: String = near.chars().take_while(|c| c.is_ascii_digit()).collect();
                if digits.len() == 5 && (near.len() == 5 || near.len() == 10) {
                    Some(Place::Zip(digits))
                } else {
                    fail(Field::Place, Problem::NotAZip);
                    None
                }
            }
            (None, Some(near)) => {
                if near
                    .chars()
                    .all(|c| c.is_alphanumeric() || " .,'-".contains(c))
                {
                    Some(Place::Named(
                        near.split_whitespace().collect::<Vec<_>>().join(" "),
                    ))
                } else {
                    fail(Field::Place, Problem::UnknownPlace);
                    None
                }
            }
        };

        let radius_miles = match non_empty(&self.radius) {
            None => default_radius,
            Some(r) => match r.parse::<u32>() {
                Ok(r) if radius_choices.contains(&r) => r,
                _ => {
                    fail(Field::Radius, Problem::BadRadius);
                    default_radius
                }
            },
        };

        let category = match non_empty(&self.category) {
            None => None,
            Some(c) if CategoryTree::get().exists(c) => Some(c.to_string()),
            Some(_) => {
                fail(Field::Category, Problem::UnknownCategory);
                None
            }
        };

        let age = match non_empty(&self.age) {
            None => None,
            Some(a) => match a.parse::<u32>() {
                Ok(a) if a <= 120 => Some(a),
                _ => {
                    fail(Field::Age, Problem::BadAge);
                    None
                }
            },
        };

        let language = match non_empty(&self.language) {
            None => None,
            Some(l) if FILTER_LANGUAGES.contains(&l) => Some(l.to_string()),
            Some(_) => {
                fail(Field::Language, Problem::UnknownLanguage);
                None
            }
        };

        let sort = match non_empty(&self.sort) {
            None => None,
            Some("relevance") => Some(Sort::Relevance),
            Some("distance") => Some(Sort::Distance),
            Some(_) => {
                fail(Field::Sort, Problem::UnknownSort);
                None
            }
        };

        let page = match non_empty(&self.page) {
            None => 1,
            Some(p) => match p.parse::<u32>() {
                Ok(p) if (1..=MAX_PAGE).contains(&p) => p,
                _ => {
                    fail(Field::Page, Problem::BadPage);
                    1
                }
            },
        };

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SearchQuery {
            keywords,
            category,
            place,
            radius_miles,
            open_now: flag(&self.open_now),
            free_only: flag(&self.free),
            age,
            language,
            sort,
            page,
            exact: flag(&self.exact),
        })
    }

    /// This search's URL with one parameter changed (or removed when `value` is empty), and
    /// the page reset unless it is the parameter being changed: how filters, sorting and
    /// pagination links are made.
    pub fn url_with(&self, key: &str, value: &str) -> String {
        let mut p = self.clone();
        if key != "page" {
            p.page = None;
        }
        let v = (!value.is_empty()).then(|| value.to_string());
        match key {
            "q" => p.q = v,
            "near" => p.near = v,
            "radius" => p.radius = v,
            "category" => p.category = v,
            "open_now" => p.open_now = v,
            "free" => p.free = v,
            "age" => p.age = v,
            "language" => p.language = v,
            "sort" => p.sort = v,
            "page" => p.page = v,
            "exact" => p.exact = v,
            _ => {}
        }
        p.to_url()
    }

    pub fn to_url(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("near", &self.near),
            ("lat", &self.lat),
            ("lon", &self.lon),
            ("radius", &self.radius),
            ("category", &self.category),
            ("open_now", &self.open_now),
            ("free", &self.free),
            ("age", &self.age),
            ("language", &self.language),
            ("sort", &self.sort),
            ("page", &self.page),
            ("exact", &self.exact),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter_map(|(k, v)| non_empty(v).map(|v| format!("{k}={}", encode(v))))
            .collect();
        if query.is_empty() {
            "/search".to_string()
        } else {
            format!("/search?{}", query.join("&"))
        }
    }
}

/// Percent-encodes a URL component (RFC 3986 unreserved characters kept): safe in query
/// strings, `mailto:` and `sms:` bodies alike.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pairs: &[(&str, &str)]) -> Result<SearchQuery, Vec<FieldError>> {
        SearchParams::from_pairs(pairs.iter().copied()).check(&[5, 10, 25, 50, 100], 25)
    }

    fn problems(pairs: &[(&str, &str)]) -> Vec<Problem> {
        check(pairs)
            .unwrap_err()
            .into_iter()
            .map(|e| e.problem)
            .collect()
    }

    #[test]
    fn an_ordinary_search_is_accepted() {
        let q = check(&[
            ("q", "  baby   formula "),
            ("near", "40601"),
            ("free", "1"),
            ("page", "2"),
        ])
        .unwrap();
        assert_eq!(q.keywords.as_deref(), Some("baby formula"));
        assert_eq!(q.place, Some(Place::Zip("40601".into())));
        assert!(q.free_only);
        assert_eq!(q.page, 2);
        assert_eq!(q.radius_miles, 25);
    }

    #[test]
    fn zip_plus_four_and_place_names_are_understood() {
        assert_eq!(
            check(&[("near", "40601-1234")]).unwrap().place,
            Some(Place::Zip("40601".into()))
        );
        assert_eq!(
            check(&[("near", "Franklin  County")]).unwrap().place,
            Some(Place::Named("Franklin County".into()))
        );
    }

    #[test]
    fn hostile_input_becomes_field_errors() {
        assert_eq!(
            problems(&[("q", &"x".repeat(5000))]),
            vec![Problem::TooLong]
        );
        assert_eq!(problems(&[("near", "4060")]), vec![Problem::NotAZip]);
        assert_eq!(
            problems(&[("near", "'; DROP TABLE services; --")]),
            vec![Problem::UnknownPlace]
        );
        assert_eq!(problems(&[("radius", "-5")]), vec![Problem::BadRadius]);
        assert_eq!(problems(&[("radius", "7")]), vec![Problem::BadRadius]);
        assert_eq!(problems(&[("page", "-1")]), vec![Problem::BadPage]);
        assert_eq!(
            problems(&[("page", "99999999999999999999")]),
            vec![Problem::BadPage]
        );
        assert_eq!(
            problems(&[("category", "unicorns")]),
            vec![Problem::UnknownCategory]
        );
        assert_eq!(
            problems(&[("lat", "NaN"), ("lon", "1")]),
            vec![Problem::BadCoordinates]
        );
        assert_eq!(problems(&[("lat", "38.2")]), vec![Problem::BadCoordinates]);
        assert_eq!(problems(&[("age", "300")]), vec![Problem::BadAge]);
        assert_eq!(
            problems(&[("sort", "name; --")]),
            vec![Problem::UnknownSort]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        assert_eq!(
            problems(&[("radius", "-1"), ("page", "0")]),
            vec![Problem::BadRadius, Problem::BadPage]
        );
    }

    #[test]
    fn sql_metacharacters_in_keywords_are_just_words() {
        let q = check(&[("q", "food' OR 1=1 --")]).unwrap();
        assert_eq!(q.keywords.as_deref(), Some("food' OR 1=1 --"));
    }

    #[test]
    fn urls_round_trip_and_reset_the_page() {
        let p = SearchParams::from_pairs([("q", "rent help"), ("near", "40601"), ("page", "3")]);
        assert_eq!(
            p.url_with("free", "1"),
            "/search?q=rent%20help&near=40601&free=1"
        );
        assert_eq!(
            p.url_with("page", "4"),
            "/search?q=rent%20help&near=40601&page=4"
        );
        assert_eq!(p.url_with("q", ""), "/search?near=40601");
    }
}
