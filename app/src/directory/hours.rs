//! Weekly opening hours. Feeds describe hours as HSDS schedules (3.0: `byday` + `opens_at` /
//! `closes_at`; 1.1 rows are normalized to that shape on import). This module turns them into
//! openings per weekday: for display, and as the minutes-of-week ranges "open now" is asked of.

use serde::{Deserialize, Serialize};

pub const DAY_CODES: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const MINUTES_PER_DAY: u32 = 1440;

/// Open on `day` (0 = Monday) from `opens` to `closes`, minutes after midnight. `closes` may be
/// at or before `opens` for a night that runs past midnight; 0..1440 is all day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opening {
    pub day: u8,
    pub opens: u16,
    pub closes: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours(pub Vec<Opening>);

/// Parses "9:00", "09:00:00", "9:30 PM", "9am", "17". Returns minutes after midnight.
pub fn parse_time(text: &str) -> Option<u16> {
    let t = text.trim().to_ascii_lowercase().replace('.', "");
    let (t, meridiem) = if let Some(x) = t.strip_suffix("am") {
        (x.trim().to_string(), Some(false))
    } else if let Some(x) = t.strip_suffix("pm") {
        (x.trim().to_string(), Some(true))
    } else {
        (t, None)
    };
    let mut parts = t.split(':');
    let hour: u32 = parts.next()?.trim().parse().ok()?;
    let minute: u32 = match parts.next() {
        Some(m) => m.trim().parse().ok()?,
        None => 0,
    };
    if let Some(s) = parts.next() {
        // Seconds are allowed and ignored; anything after them is not a time.
        let s: u32 = s.trim().parse().ok()?;
        if s >= 60 || parts.next().is_some() {
            return None;
        }
    }
    let hour = match meridiem {
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some(false) => hour % 12,
        Some(true) => hour % 12 + 12,
        None => hour,
    };
    if minute >= 60 || hour > 24 || (hour == 24 && minute > 0) {
        return None;
    }
    Some((hour * 60 + minute) as u16)
}

/// "MO" / "Monday" / "mon" → 0..=6.
pub fn parse_day(text: &str) -> Option<u8> {
    let t = text.trim().to_ascii_lowercase();
    const NAMES: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    if t.len() < 2 {
        return None;
    }
    NAMES
        .iter()
        .position(|n| n.starts_with(&t))
        .map(|i| i as u8)
}

impl WeeklyHours {
    /// Reads HSDS 3.0 schedule objects. Schedules that are not weekly (or have no times) do not
    /// contribute; `None` when nothing weekly is known (hours unknown, not "closed").
    pub fn from_schedules(schedules: &[serde_json::Value]) -> Option<WeeklyHours> {
        let mut openings = Vec::new();
        for s in schedules {
            let freq = s.get("freq").and_then(|v| v.as_str()).unwrap_or("WEEKLY");
            if !freq.eq_ignore_ascii_case("WEEKLY") {
                continue;
            }
            let (Some(opens), Some(closes)) = (
                s.get("opens_at")
                    .and_then(|v| v.as_str())
                    .and_then(parse_time),
                s.get("closes_at")
                    .and_then(|v| v.as_str())
                    .and_then(parse_time),
            ) else {
                continue;
            };
            let days = s.get("byday").and_then(|v| v.as_str()).unwrap_or("");
            for day in days.split(',').filter_map(parse_day) {
                let opening = Opening {
                    day,
                    opens,
                    closes: if closes == 0 && opens > 0 {
                        1440
                    } else {
                        closes
                    },
                };
                if !openings.contains(&opening) {
                    openings.push(opening);
                }
            }
        }
        openings.sort_by_key(|o| (o.day, o.opens));
        (!openings.is_empty()).then_some(WeeklyHours(openings))
    }

    /// Minutes-of-week ranges (Monday 00:00 = 0), overnight openings split at the day boundary
    /// and Sunday night wrapping to Monday morning.
    pub fn week_ranges(&self) -> Vec<(u32, u32)> {
        let mut ranges = Vec::new();
        for o in &self.0 {
            let start = o.day as u32 * MINUTES_PER_DAY;
            let (opens, closes) = (o.opens as u32, o.closes as u32);
            if closes > opens {
                ranges.push((start + opens, start + closes));
            } else if closes == opens {
                ranges.push((start, start + MINUTES_PER_DAY));
            } else {
                ranges.push((start + opens, start + MINUTES_PER_DAY));
                let next = ((o.day as u32 + 1) % 7) * MINUTES_PER_DAY;
                ranges.push((next, next + closes));
            }
        }
        ranges.sort();
        ranges
    }

    /// Postgres `int4multirange` literal, e.g. `{[540,1020),[1980,2460)}`.
    pub fn to_multirange(&self) -> String {
        let parts: Vec<String> = self
            .week_ranges()
            .iter()
            .map(|(a, b)| format!("[{a},{b})"))
            .collect();
        format!("{{{}}}", parts.join(","))
    }

    /// Openings for one weekday, in order.
    pub fn on(&self, day: u8) -> impl Iterator<Item = &Opening> {
        self.0.iter().filter(move |o| o.day == day)
    }

    pub fn is_always_open(&self) -> bool {
        (0..7).all(|d| {
            self.on(d)
                .any(|o| o.opens == 0 && (o.closes == 1440 || o.closes == 0))
        })
    }
}

/// "9:00 AM" (English) or "9:00 a. m." (Spanish).
pub fn format_time(minutes: u16, spanish: bool) -> String {
    let minutes = minutes % 1440;
    let (h, m) = (minutes / 60, minutes % 60);
    let (h12, pm) = (if h % 12 == 0 { 12 } else { h % 12 }, h >= 12);
    match (spanish, pm) {
        (false, false) => format!("{h12}:{m:02} AM"),
        (false, true) => format!("{h12}:{m:02} PM"),
        (true, false) => format!("{h12}:{m:02} a. m."),
        (true, true) => format!("{h12}:{m:02} p. m."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_in_the_forms_feeds_use() {
        assert_eq!(parse_time("9:00"), Some(540));
        assert_eq!(parse_time("09:00:00"), Some(540));
        assert_eq!(parse_time("9:30 PM"), Some(1290));
        assert_eq!(parse_time("12am"), Some(0));
        assert_eq!(parse_time("12:15 p.m."), Some(735));
        assert_eq!(parse_time("17"), Some(1020));
        assert_eq!(parse_time("24:00"), Some(1440));
        for bad in ["", "noon", "25:00", "9:75", "13pm", "1:2:3:4"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_by_code_and_name() {
        assert_eq!(parse_day("MO"), Some(0));
        assert_eq!(parse_day("Sunday"), Some(6));
        assert_eq!(parse_day("thu"), Some(3));
        assert_eq!(parse_day("x"), None);
    }

    #[test]
    fn weekday_hours_become_week_ranges() {
        let h = WeeklyHours::from_schedules(&[
            json!({"byday": "MO,TU", "opens_at": "09:00", "closes_at": "17:00"}),
        ])
        .unwrap();
        assert_eq!(h.week_ranges(), vec![(540, 1020), (1980, 2460)]);
        assert_eq!(h.to_multirange(), "{[540,1020),[1980,2460)}");
    }

    #[test]
    fn overnight_and_sunday_wrap_around() {
        let h = WeeklyHours::from_schedules(&[
            json!({"byday": "SU", "opens_at": "22:00", "closes_at": "06:00"}),
        ])
        .unwrap();
        assert_eq!(h.week_ranges(), vec![(0, 360), (6 * 1440 + 1320, 7 * 1440)]);
    }

    #[test]
    fn non_weekly_or_timeless_schedules_mean_hours_unknown() {
        assert_eq!(
            WeeklyHours::from_schedules(&[
                json!({"freq": "MONTHLY", "byday": "MO", "opens_at": "9:00", "closes_at": "10:00"})
            ]),
            None
        );
        assert_eq!(
            WeeklyHours::from_schedules(&[json!({"description": "Call for hours"})]),
            None
        );
    }

    #[test]
    fn always_open_is_recognised() {
        let all = "MO,TU,WE,TH,FR,SA,SU";
        let h = WeeklyHours::from_schedules(&[
            json!({"byday": all, "opens_at": "00:00", "closes_at": "24:00"}),
        ])
        .unwrap();
        assert!(h.is_always_open());
        assert_eq!(h.week_ranges().len(), 7);
    }

    #[test]
    fn times_read_naturally() {
        assert_eq!(format_time(540, false), "9:00 AM");
        assert_eq!(format_time(1290, true), "9:30 p. m.");
        assert_eq!(format_time(0, false), "12:00 AM");
    }
}
