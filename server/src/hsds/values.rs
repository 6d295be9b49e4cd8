//! Reading the loosely typed values feeds send (numbers as text, several date styles, language
//! names instead of codes). A value that cannot be read is dropped with a warning, never a
//! reason to lose the row.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

/// Common language names → ISO 639-1 codes, so a "Spanish" in a feed becomes filterable.
const LANGUAGES: &[(&str, &str)] = &[
    ("english", "en"),
    ("spanish", "es"),
    ("español", "es"),
    ("arabic", "ar"),
    ("swahili", "sw"),
    ("french", "fr"),
    ("vietnamese", "vi"),
    ("chinese", "zh"),
    ("mandarin", "zh"),
    ("cantonese", "zh"),
    ("nepali", "ne"),
    ("somali", "so"),
    ("ukrainian", "uk"),
    ("russian", "ru"),
    ("polish", "pl"),
    ("korean", "ko"),
    ("german", "de"),
    ("portuguese", "pt"),
    ("haitian creole", "ht"),
    ("bosnian", "bs"),
    ("kinyarwanda", "rw"),
    ("dari", "prs"),
    ("pashto", "ps"),
    ("urdu", "ur"),
    ("hindi", "hi"),
    ("american sign language", "asl"),
    ("asl", "asl"),
    ("sign language", "asl"),
    ("slovak", "sk"),
];

/// `{"name": ..., "code": ...}` from a language name or code.
pub fn language(text: &str) -> Value {
    let t = text.trim();
    let lower = t.to_lowercase();
    if let Some((name, code)) = LANGUAGES.iter().find(|(n, c)| *n == lower || *c == lower) {
        let name = if lower == *code {
            capitalize(name)
        } else {
            t.to_string()
        };
        return json!({"name": name, "code": code});
    }
    json!({"name": t})
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// "BD-1800.2000" and friends: two letters, a hyphen, digits.
pub fn looks_like_airs_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 7
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2] == b'-'
        && b[3..7].iter().all(u8::is_ascii_digit)
}

pub fn integer(v: Option<&str>, field: &str, warn: &mut dyn FnMut(String)) -> Option<i32> {
    let v = v?;
    match v.parse::<i32>().ok().or_else(|| {
        v.parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e9)
            .map(|f| f as i32)
    }) {
        Some(n) => Some(n),
        None => {
            warn(format!("{field} {v:?} is not a whole number; left empty"));
            None
        }
    }
}

pub fn date(v: Option<&str>, field: &str, warn: &mut dyn FnMut(String)) -> Option<NaiveDate> {
    let v = v?;
    let parsed = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%m/%d/%Y"))
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(v).ok().map(|d| d.date_naive()));
    if parsed.is_none() {
        warn(format!("{field} {v:?} is not a date; left empty"));
    }
    parsed
}

pub fn timestamp(
    v: Option<&str>,
    field: &str,
    warn: &mut dyn FnMut(String),
) -> Option<DateTime<Utc>> {
    let v = v?;
    let parsed = DateTime::parse_from_rfc3339(v)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|d| d.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        });
    if parsed.is_none() {
        warn(format!("{field} {v:?} is not a date and time; left empty"));
    }
    parsed
}

/// Both coordinates or neither; out-of-range values are dropped (the HSDS 3.0 example ships
/// latitude 100).
pub fn coordinates(
    lat: Option<&str>,
    lon: Option<&str>,
    warn: &mut dyn FnMut(String),
) -> (Option<f64>, Option<f64>) {
    match (lat, lon) {
        (None, None) => (None, None),
        (Some(a), Some(b)) => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(la), Ok(lo))
                if la.abs() <= 90.0 && lo.abs() <= 180.0 && !(la == 0.0 && lo == 0.0) =>
            {
                (Some(la), Some(lo))
            }
            _ => {
                warn(format!(
                    "coordinates ({a}, {b}) are not a place on Earth; left empty"
                ));
                (None, None)
            }
        },
        _ => {
            warn("only one of latitude/longitude is given; left empty".into());
            (None, None)
        }
    }
}

/// A schedule in HSDS 3.0 shape: 3.0 rules (`byday`, `freq`) are kept and tidied; 1.x rows
/// (`weekday` name or ISO number) become weekly rules; times become "HH:MM". `Ok(None)` for a
/// schedule that says nothing. `get` reads a field by its HSDS name.
pub fn schedule(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Value>, String> {
    use app::directory::hours::{parse_day, parse_time, DAY_CODES};
    const KEPT: &[&str] = &[
        "id",
        "valid_from",
        "valid_to",
        "dtstart",
        "timezone",
        "until",
        "count",
        "wkst",
        "interval",
        "byweekno",
        "bymonthday",
        "byyearday",
        "description",
        "schedule_link",
        "attending_type",
        "notes",
    ];
    let mut m = serde_json::Map::new();
    for k in KEPT {
        if let Some(v) = get(k) {
            m.insert(k.to_string(), Value::String(v));
        }
    }
    let days: Vec<String> = match (get("byday"), get("weekday")) {
        (Some(byday), _) => byday
            .split(',')
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect(),
        (None, Some(weekday)) => vec![weekday],
        (None, None) => vec![],
    };
    let mut codes = Vec::new();
    for d in &days {
        let day = match d.parse::<u8>() {
            Ok(n @ 1..=7) => Some(n - 1),
            _ => parse_day(d),
        };
        match day {
            Some(day) => codes.push(DAY_CODES[day as usize]),
            None => {
                return Err(format!(
                    "schedule has an unknown day {d:?}; schedule skipped"
                ))
            }
        }
    }
    if !codes.is_empty() {
        m.insert("byday".into(), Value::String(codes.join(",")));
        m.insert(
            "freq".into(),
            Value::String(
                get("freq")
                    .unwrap_or_else(|| "WEEKLY".into())
                    .to_uppercase(),
            ),
        );
    } else if let Some(freq) = get("freq") {
        m.insert("freq".into(), Value::String(freq.to_uppercase()));
    }
    for key in ["opens_at", "closes_at"] {
        if let Some(v) = get(key) {
            match parse_time(&v) {
                Some(minutes) => {
                    m.insert(
                        key.into(),
                        Value::String(format!("{:02}:{:02}", minutes / 60, minutes % 60)),
                    );
                }
                None => {
                    return Err(format!(
                        "schedule has an unreadable {key} {v:?}; schedule skipped"
                    ))
                }
            }
        }
    }
    if m.keys().all(|k| k == "id") {
        return Ok(None);
    }
    Ok(Some(Value::Object(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_get_codes() {
        assert_eq!(
            language("Spanish"),
            json!({"name": "Spanish", "code": "es"})
        );
        assert_eq!(language("es"), json!({"name": "Spanish", "code": "es"}));
        assert_eq!(language("Klingon"), json!({"name": "Klingon"}));
    }

    #[test]
    fn messy_values_are_read_or_dropped_with_a_warning() {
        let mut warnings = Vec::new();
        let mut warn = |w: String| warnings.push(w);
        assert_eq!(integer(Some("18.0"), "minimum_age", &mut warn), Some(18));
        assert_eq!(integer(Some("eighteen"), "minimum_age", &mut warn), None);
        assert_eq!(
            date(Some("03/15/2024"), "assured_date", &mut warn),
            NaiveDate::from_ymd_opt(2024, 3, 15)
        );
        assert_eq!(
            coordinates(Some("100"), Some("101"), &mut warn),
            (None, None)
        );
        assert_eq!(
            coordinates(Some("38.2"), Some("-84.8"), &mut warn),
            (Some(38.2), Some(-84.8))
        );
        assert_eq!(warnings.len(), 2);
    }

    #[test]
    fn schedules_of_both_versions_become_weekly_rules() {
        let row = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let v1 = schedule(&row(&[
            ("weekday", "Monday"),
            ("opens_at", "9:00"),
            ("closes_at", "5:00 PM"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            v1,
            json!({"byday": "MO", "freq": "WEEKLY", "opens_at": "09:00", "closes_at": "17:00"})
        );
        let v3 = schedule(&row(&[
            ("byday", "TH,FR"),
            ("freq", "WEEKLY"),
            ("opens_at", "10:00:00"),
            ("closes_at", "18:00:00"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(v3["byday"], "TH,FR");
        assert_eq!(v3["opens_at"], "10:00");
        assert!(schedule(&row(&[("weekday", "Someday")])).is_err());
        assert_eq!(schedule(&row(&[])).unwrap(), None);
    }

    #[test]
    fn airs_codes_are_recognised() {
        assert!(looks_like_airs_code("BD-1800.2000"));
        assert!(!looks_like_airs_code("135836"));
    }
}
