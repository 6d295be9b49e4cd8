//! The search index held in each server's memory.
//!
//! Postgres keeps the directory and the index rows derived from it (`search_entries`, rebuilt
//! by [`super::index`] after each import); each server reads those rows into this copy and
//! answers searches from it: which programs match, in what order, how many. Postgres is then
//! asked only for the page's cards (ten rows by primary key). Measured on the Kentucky demo, a
//! search answered by Postgres full-text search cost ~27 ms of Postgres CPU and 140 searches/s
//! at most on two cores; the same ranking here costs well under a millisecond (bench/results.md).
//!
//! The copy follows the source of truth: an import in this process drops it (the next search
//! reads it again), and one elsewhere (the command line, another server) bumps
//! `search_generation`, which each server looks at once a second and then reads the new rows
//! in the background, searching the old copy meanwhile. The number and the rows are read in
//! one snapshot, so a copy is never newer or older than the generation it says it is.
//!
//! The text matching is Postgres's own: documents are the `tsvector`s the rebuild made and the
//! words are `tsquery`s Postgres parsed (English stemming, accents ignored), read here as their
//! text forms, so a search finds exactly what Postgres full-text search would find.

use super::query::Place;
use chrono::{Datelike, Timelike};
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The Earth's radius as Postgres's `earthdistance` has it, so distances agree to the meter.
const EARTH_RADIUS_M: f64 = 6_378_168.0;
const METERS_PER_MILE: f64 = 1609.344;
/// How often a server asks whether another process rebuilt the index.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A word, category, county or time zone, stored once: entries hold its number.
type Sym = u32;

#[derive(Default)]
struct Symbols {
    numbers: HashMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
}

impl Symbols {
    fn add(&mut self, s: &str) -> Sym {
        if let Some(n) = self.numbers.get(s) {
            return *n;
        }
        let n = self.names.len() as Sym;
        self.names.push(s.into());
        self.numbers.insert(s.into(), n);
        n
    }
    fn get(&self, s: &str) -> Option<Sym> {
        self.numbers.get(s).copied()
    }
}

/// One program a resident can find: a service at a location, or a service with no location.
struct Entry {
    id: Uuid,
    /// The service's number in this index (a program's locations share it).
    service: u32,
    /// Its top-level categories, one bit each (`topics_of`); next to `service`, which the
    /// ranking reads for every match anyway.
    topics: u32,
    /// Lowercased name, for the alphabetical tie-break.
    sort_name: Box<str>,
    /// How many words its name has, leaving out the small ones ("and", "for").
    name_words: u8,
    /// Latitude and longitude, in radians.
    point: Option<(f64, f64)>,
    state: Option<Sym>,
    county: Option<Sym>,
    area_states: Box<[Sym]>,
    area_counties: Box<[Sym]>,
    area_zips: Box<[Sym]>,
    categories: Box<[Sym]>,
    languages: Box<[Sym]>,
    is_free: bool,
    minimum_age: Option<i32>,
    maximum_age: Option<i32>,
    /// Minutes of the week it is open, `[start, end)`, local time; `None`: hours not known.
    hours: Option<Box<[(i32, i32)]>>,
    timezone: Option<Sym>,
    /// Its eligibility limits it to a county's residents (`eligibility_limits_to_a_county`).
    county_only: bool,
    /// The kinds of person its name says it is for (`people_named`).
    people: u8,
}

impl Entry {
    /// The feed says nothing about where it is or whom it serves: it may serve anyone.
    fn place_unknown(&self) -> bool {
        self.point.is_none()
            && self.state.is_none()
            && self.area_states.is_empty()
            && self.area_counties.is_empty()
            && self.area_zips.is_empty()
    }
}

/// A set of top-level categories as bits, in the category tree's order.
fn topics_of<S: AsRef<str>>(category_ids: &[S]) -> u32 {
    let tops = &super::categories::CategoryTree::get().categories;
    category_ids
        .iter()
        .filter_map(|id| tops.iter().position(|t| t.id == id.as_ref()))
        .filter(|i| *i < 32)
        .fold(0, |bits, i| bits | 1 << i)
}

/// How many words a program's lowercased name has, leaving out the small ones. A program
/// named for help in general ("Hotline", "Legal Aid Services") has a short name; one for a
/// kind of person or a place adds words ("Bloomington Office - Legal help for seniors").
fn name_words(sort_name: &str) -> u8 {
    const SMALL: &[&str] = &[
        "a", "an", "and", "at", "by", "de", "del", "el", "for", "in", "la", "of", "on", "or",
        "the", "to", "with", "y",
    ];
    name_words_of(sort_name)
        .filter(|w| !SMALL.contains(w))
        .count()
        .clamp(1, u8::MAX as usize) as u8
}

/// A lowercased name's words (letters and digits; "o'fallon" is "o fallon").
fn name_words_of(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The counties of the towns a program's lowercased name says it is for: a town's name before
/// "office", "satellite", "courthouse", "branch", "area" or "residents" ("Peoria Office -
/// Legal help for seniors", "Free immigration help for Chicago residents", "Markham
/// Courthouse"). A town's name alone is not enough: "Justice" and "Normal" are Illinois towns,
/// and "in Central Illinois" is not about Central, Louisiana. `towns`: each town's name (its
/// `name_words_of`, joined by spaces) and its counties.
fn towns_named<'t>(sort_name: &str, towns: &'t HashMap<String, Vec<String>>) -> Vec<&'t str> {
    const AFTER: &[&str] = &[
        "office",
        "satellite",
        "courthouse",
        "branch",
        "area",
        "residents",
    ];
    let words: Vec<&str> = name_words_of(sort_name).collect();
    let mut out = Vec::new();
    for start in 0..words.len() {
        for end in start + 1..=(start + 3).min(words.len()) {
            let Some(counties) = towns.get(&words[start..end].join(" ")) else {
                continue;
            };
            if words.get(end).is_some_and(|w| AFTER.contains(w)) {
                out.extend(counties.iter().map(String::as_str));
            }
        }
    }
    out
}

/// The states a lowercased name ends by saying a program is in ("Legal help for immigration in
/// Indiana", "… in Illinois, Indiana and Wisconsin"): the words after its last "in" are state
/// names and nothing else. "in Central Illinois" names a region, and "in Washington Park" a
/// neighbourhood, so neither is read.
fn states_named(sort_name: &str) -> Vec<&'static str> {
    let words: Vec<&str> = name_words_of(sort_name).collect();
    let Some(after) = words.iter().rposition(|w| *w == "in").map(|i| i + 1) else {
        return Vec::new();
    };
    let (mut states, mut at) = (Vec::new(), after);
    while at < words.len() {
        // The longest state name here ("west virginia" before "virginia").
        let Some((code, len)) = (1..=3)
            .rev()
            .filter(|len| at + len <= words.len())
            .find_map(|len| Some((crate::us_states::code(&words[at..at + len].join(" "))?, len)))
        else {
            return Vec::new();
        };
        // A postal code alone ("in", "or", "me") is a word, not a state.
        if len == 1 && words[at].len() == 2 {
            return Vec::new();
        }
        states.push(code);
        at += len;
        // "Illinois, Indiana and Wisconsin": the comma is gone with the punctuation.
        if at < words.len() && matches!(words[at], "and" | "or") {
            at += 1;
            if at == words.len() {
                return Vec::new();
            }
        }
    }
    states
}

/// The part of a state a lowercased name ends by saying a program is in ("… in Southern
/// Illinois", "… in SW Illinois", "… in Central Illinois", "… in North Central Kentucky"):
/// the state, and which third of it from south to north and from west to east (`None`: any).
fn part_of_state_named(sort_name: &str) -> Option<(&'static str, Option<u8>, Option<u8>)> {
    let words: Vec<&str> = name_words_of(sort_name).collect();
    let after = words.iter().rposition(|w| *w == "in")? + 1;
    let (mut north, mut east, mut central) = (None, None, false);
    let mut at = after;
    while at < words.len() {
        let (n, e) = match words[at] {
            "north" | "northern" => (Some(2), None),
            "south" | "southern" => (Some(0), None),
            "east" | "eastern" => (None, Some(2)),
            "west" | "western" => (None, Some(0)),
            "northeast" | "northeastern" | "ne" => (Some(2), Some(2)),
            "northwest" | "northwestern" | "nw" => (Some(2), Some(0)),
            "southeast" | "southeastern" | "se" => (Some(0), Some(2)),
            "southwest" | "southwestern" | "sw" => (Some(0), Some(0)),
            "central" | "middle" => {
                central = true;
                (None, None)
            }
            _ => break,
        };
        north = north.or(n);
        east = east.or(e);
        at += 1;
    }
    if at == after || at == words.len() {
        return None;
    }
    let state = crate::us_states::code(&words[at..].join(" "))?;
    // "Central": the middle of whichever way the other words leave open.
    if central {
        north = north.or(Some(1));
        east = east.or(Some(1));
    }
    Some((state, north, east))
}

/// A part of a state, as a box of latitudes and longitudes (radians).
#[derive(Clone, Copy, Debug, PartialEq)]
struct PartOfState {
    state: Sym,
    south: f64,
    north: f64,
    west: f64,
    east: f64,
}

impl PartOfState {
    fn holds(&self, state: Option<Sym>, (latitude, longitude): (f64, f64)) -> bool {
        state == Some(self.state)
            && (self.south..=self.north).contains(&latitude)
            && (self.west..=self.east).contains(&longitude)
    }
}

/// The kinds of person some words name ("… for Seniors", "Summer Meals for Kids", "Veterans
/// Benefits Office Hours"), one bit each; as typed or as Postgres stems them ("senior", "kid").
/// Words that also name adults or families ("Shots for Children and Adults", "Kids and
/// Families") say the program is for everyone.
fn people_named<'a>(words: impl Iterator<Item = &'a str>) -> u8 {
    let (mut bits, mut everyone, mut previous) = (0, false, "");
    for w in words {
        bits |= match w {
            "senior" | "seniors" | "elder" | "elderly" | "older" | "aging" | "elders" => 1,
            "veteran" | "veterans" | "vet" | "vets" => 2,
            "kids" | "kid" | "children" | "youth" | "teen" | "teens" | "minors" => 4,
            "women" | "woman" | "mujeres" => 8,
            _ => 0,
        };
        everyone |=
            matches!(w, "adult" | "adults" | "families" | "everyone") && previous != "older";
        previous = w;
    }
    if everyone {
        0
    } else {
        bits
    }
}

/// The program's name says which county it is for ("Free legal forms in Peoria County"), not
/// that it is for every county ("… for all 102 Illinois counties").
fn names_a_county(e: &Entry) -> bool {
    let (mut county, mut every) = (false, false);
    for w in e.sort_name.split(|c: char| !c.is_alphanumeric()) {
        county |= matches!(w, "county" | "counties" | "condado" | "condados");
        every |= matches!(w, "all" | "every" | "any" | "statewide" | "todos" | "todas");
    }
    county && !every
}

/// Where one word occurs in one entry: `positions[start..start + len]`, each a position
/// (high 14 bits) and a field weight (low 2 bits: 3 = A, the program's name … 0 = D).
#[derive(Clone, Copy)]
struct Posting {
    entry: u32,
    start: u32,
    len: u16,
}

/// The index one server holds.
pub struct Index {
    generation: i64,
    entries: Vec<Entry>,
    symbols: Symbols,
    /// Each word's postings, in entry order.
    postings: Vec<Vec<Posting>>,
    words: HashMap<Box<str>, u32>,
    positions: Vec<u16>,
    /// Entries with a point, by one-degree cell, with their points: the cells around a place
    /// are mostly farther than its radius, and this drops those entries without reading them.
    cells: HashMap<(i32, i32), Vec<(u32, (f64, f64))>>,
    /// Entries with no point: looked at from anywhere.
    pointless: Vec<u32>,
    /// Entries by each state, county and ZIP code they serve as a whole.
    serving: HashMap<Sym, Vec<u32>>,
    /// Entries by the state they are in.
    by_state: HashMap<Sym, Vec<u32>>,
    /// Entries by the county they are in.
    by_county: HashMap<Sym, Vec<u32>>,
    /// Entries of no known place whose name says which town they are for: the counties of
    /// those towns ("Cook, IL": `towns_named`).
    named_towns: HashMap<u32, Box<[Sym]>>,
    /// Entries of no known place whose name says which part of a state they are for ("… in
    /// Southern Illinois"): that part (`part_of_state_named`).
    named_parts: HashMap<u32, PartOfState>,
    /// Each service's number.
    services: HashMap<Uuid, u32>,
}

/// How much a word counts in each field (weights D, C, B, A: the organization's name and who
/// may use the program, the description, the categories, the program's name). A program
/// whose description and categories say exactly what was asked is nearly as good a match as
/// one with the words in its name.
const FIELD_WEIGHTS: [f64; 4] = [0.2, 0.6, 0.9, 1.0];
/// Distance decay: a match this many miles away counts half as much as one next door.
const HALF_SCORE_MILES: f64 = 5.0;
/// A program for another county's people counts as this many miles farther off.
const OTHER_COUNTY_MILES: f64 = 15.0;
/// A program that speaks the language the resident wrote in counts this much more.
const SPOKEN_BOOST: f64 = 1.5;
/// What the words are about is read from this many of the programs they match best.
const TOPIC_FROM: usize = 3;
/// A match in none of their categories counts this much.
const OFF_TOPIC: f64 = 0.5;
/// A match for a kind of person the words do not name ("Help for unaccompanied immigrant
/// children" for "daca renewal", "Power Packs for Kids" for a food pantry) counts this much.
const FOR_OTHERS: f64 = 0.5;

impl Index {
    /// Which rebuild of the index this is (`search_generation`).
    pub fn generation(&self) -> i64 {
        self.generation
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn empty(generation: i64) -> Index {
        Index {
            generation,
            entries: Vec::new(),
            symbols: Symbols::default(),
            postings: Vec::new(),
            words: HashMap::new(),
            positions: Vec::new(),
            cells: HashMap::new(),
            pointless: Vec::new(),
            serving: HashMap::new(),
            by_state: HashMap::new(),
            by_county: HashMap::new(),
            named_towns: HashMap::new(),
            named_parts: HashMap::new(),
            services: HashMap::new(),
        }
    }

    /// Reads the index rows in one snapshot with the generation they belong to.
    pub async fn load(pool: &PgPool) -> Result<Index, sqlx::Error> {
        use futures::TryStreamExt;
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let generation: i64 = sqlx::query_scalar("SELECT generation FROM search_generation")
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
        let mut index = Index::empty(generation);
        {
            let mut rows = sqlx::query(
                "SELECT id, service_id, name, document::text AS document, category_ids,
                        latitude(earth) AS latitude, longitude(earth) AS longitude, state, county_fips,
                        area_states, area_counties, area_zips, is_free, minimum_age, maximum_age, languages,
                        CASE WHEN open_hours IS NOT NULL
                             THEN ARRAY(SELECT x FROM unnest(open_hours) r, LATERAL (VALUES (coalesce(lower(r), 0)), (coalesce(upper(r), 10080))) v(x)) END AS hours,
                        timezone, county_only
                   FROM search_entries ORDER BY id",
            )
            .fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                index.add(&row)?;
            }
        }
        if index.entries.iter().any(Entry::place_unknown) {
            // Each town's counties (one name can be a town in several states).
            let towns: HashMap<String, Vec<String>> = sqlx::query_as(
                "SELECT lower(city), array_agg(DISTINCT county || ', ' || state) FROM places
                  WHERE city IS NOT NULL AND county IS NOT NULL AND state IS NOT NULL GROUP BY 1",
            )
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(town, counties): (String, Vec<String>)| {
                (name_words_of(&town).collect::<Vec<_>>().join(" "), counties)
            })
            .collect();
            index.name_towns(&towns);
            // Each state's extent, from its places (ZIP codes).
            let extents: Vec<(String, f64, f64, f64, f64)> = sqlx::query_as(
                "SELECT state, min(latitude), max(latitude), min(longitude), max(longitude)
                   FROM places GROUP BY state",
            )
            .fetch_all(&mut *tx)
            .await?;
            index.name_parts_of_states(&extents);
        }
        tx.commit().await?;
        Ok(index)
    }

    fn add(&mut self, row: &sqlx::postgres::PgRow) -> Result<(), sqlx::Error> {
        let syms = |s: &mut Symbols, v: Vec<String>| -> Box<[Sym]> {
            let mut v: Vec<Sym> = v.iter().map(|x| s.add(x)).collect();
            v.sort_unstable();
            v.dedup();
            v.into()
        };
        let latitude: Option<f64> = row.try_get("latitude")?;
        let longitude: Option<f64> = row.try_get("longitude")?;
        let state: Option<String> = row.try_get("state")?;
        let county: Option<String> = row.try_get("county_fips")?;
        let timezone: Option<String> = row.try_get("timezone")?;
        // Each opening's start and end, one after the other.
        let hours: Option<Vec<i32>> = row.try_get("hours")?;
        let name: String = row.try_get("name")?;
        let service = self.service_number(row.try_get("service_id")?);
        // Read once per program when a server starts: the name is lowercased once.
        let sort_name = name.to_lowercase();
        let category_ids: Vec<String> = row.try_get("category_ids")?;
        let entry = Entry {
            id: row.try_get("id")?,
            service,
            name_words: name_words(&sort_name),
            sort_name: sort_name.into(),
            point: latitude
                .zip(longitude)
                .map(|(a, o)| (a.to_radians(), o.to_radians())),
            state: state.map(|s| self.symbols.add(&s)),
            county: county.map(|s| self.symbols.add(&s)),
            area_states: syms(&mut self.symbols, row.try_get("area_states")?),
            area_counties: syms(&mut self.symbols, row.try_get("area_counties")?),
            area_zips: syms(&mut self.symbols, row.try_get("area_zips")?),
            topics: topics_of(&category_ids),
            categories: syms(&mut self.symbols, category_ids),
            languages: syms(&mut self.symbols, row.try_get("languages")?),
            is_free: row.try_get("is_free")?,
            minimum_age: row.try_get("minimum_age")?,
            maximum_age: row.try_get("maximum_age")?,
            hours: hours.map(|h| h.chunks_exact(2).map(|r| (r[0], r[1])).collect()),
            timezone: timezone.map(|s| self.symbols.add(&s)),
            county_only: row.try_get("county_only")?,
            people: 0,
        };
        let document: String = row.try_get("document")?;
        self.push(entry, &document);
        Ok(())
    }

    /// Notes the towns named by the names of entries of no known place.
    fn name_towns(&mut self, towns: &HashMap<String, Vec<String>>) {
        for number in 0..self.entries.len() {
            if !self.entries[number].place_unknown() {
                continue;
            }
            let counties = towns_named(&self.entries[number].sort_name, towns);
            if !counties.is_empty() {
                let mut syms: Vec<Sym> = counties.iter().map(|c| self.symbols.add(c)).collect();
                syms.sort_unstable();
                syms.dedup();
                self.named_towns.insert(number as u32, syms.into());
            }
        }
    }

    /// Notes the parts of states named by the names of entries of no known place. `extents`:
    /// each state's southmost, northmost, westmost and eastmost places, in degrees.
    fn name_parts_of_states(&mut self, extents: &[(String, f64, f64, f64, f64)]) {
        // Thirds: 0 is the southern (western) one.
        let third = |low: f64, high: f64, which: Option<u8>| match which {
            None => (low, high),
            Some(i) => {
                let step = (high - low) / 3.0;
                (low + step * i as f64, low + step * (i as f64 + 1.0))
            }
        };
        for number in 0..self.entries.len() {
            if !self.entries[number].place_unknown() {
                continue;
            }
            let Some((state, north, east)) = part_of_state_named(&self.entries[number].sort_name)
            else {
                continue;
            };
            let Some((_, south_edge, north_edge, west_edge, east_edge)) =
                extents.iter().find(|e| e.0 == state)
            else {
                continue;
            };
            let (south, north) = third(*south_edge, *north_edge, north);
            let (west, east) = third(*west_edge, *east_edge, east);
            let part = PartOfState {
                state: self.symbols.add(state),
                south: south.to_radians(),
                north: north.to_radians(),
                west: west.to_radians(),
                east: east.to_radians(),
            };
            self.named_parts.insert(number as u32, part);
        }
    }

    fn service_number(&mut self, id: Uuid) -> u32 {
        let next = self.services.len() as u32;
        *self.services.entry(id).or_insert(next)
    }

    /// Adds one entry with its document (a `tsvector`'s text form) to every part of the index,
    /// with what its name says: whom it is for, and, given no place, the states it is in.
    fn push(&mut self, mut entry: Entry, document: &str) {
        let number = self.entries.len() as u32;
        // A feed that gives no place may still name the states in the program's name: a
        // program "in Indiana" serves Indiana, not an Illinois resident.
        entry.people = people_named(name_words_of(&entry.sort_name));
        if entry.place_unknown() {
            let named = states_named(&entry.sort_name);
            entry.area_states = named.iter().map(|s| self.symbols.add(s)).collect();
            entry.area_states.sort_unstable();
        }
        if let Some((lat, lon)) = entry.point {
            self.cells
                .entry(cell(lat.to_degrees(), lon.to_degrees()))
                .or_default()
                .push((number, (lat, lon)));
        }
        if entry.point.is_none() {
            self.pointless.push(number);
        }
        for area in entry
            .area_states
            .iter()
            .chain(entry.area_counties.iter())
            .chain(entry.area_zips.iter())
        {
            self.serving.entry(*area).or_default().push(number);
        }
        if let Some(s) = entry.state {
            self.by_state.entry(s).or_default().push(number);
        }
        if let Some(c) = entry.county {
            self.by_county.entry(c).or_default().push(number);
        }
        for (word, positions) in parse_tsvector(document) {
            let w = match self.words.get(word.as_str()) {
                Some(w) => *w,
                None => {
                    let w = self.postings.len() as u32;
                    self.words.insert(word.into(), w);
                    self.postings.push(Vec::new());
                    w
                }
            };
            let start = self.positions.len() as u32;
            let len = positions.len().min(u16::MAX as usize);
            self.positions.extend_from_slice(&positions[..len]);
            self.postings[w as usize].push(Posting {
                entry: number,
                start,
                len: len as u16,
            });
        }
        self.entries.push(entry);
    }
}

fn cell(latitude_deg: f64, longitude_deg: f64) -> (i32, i32) {
    (latitude_deg.floor() as i32, longitude_deg.floor() as i32)
}

/// Great-circle distance in meters between two points given in radians.
fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dlat, dlon) = (b.0 - a.0, b.1 - a.1);
    let h = (dlat / 2.0).sin().powi(2) + a.0.cos() * b.0.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// `'word':1A,5 'other':3B` → each word with its packed positions and weights (a position
/// without a letter is weight D).
fn parse_tsvector(text: &str) -> Vec<(String, Vec<u16>)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ') {
            chars.next();
        }
        if chars.next() != Some('\'') {
            break;
        }
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    word.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                }
                c => word.push(c),
            }
        }
        let mut positions = Vec::new();
        if chars.peek() == Some(&':') {
            chars.next();
            loop {
                let mut n = 0u32;
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    n = n * 10 + d;
                    chars.next();
                }
                let weight = match chars.peek() {
                    Some('A') => 3,
                    Some('B') => 2,
                    Some('C') => 1,
                    Some('D') => 0,
                    _ => 4,
                };
                if weight < 4 {
                    chars.next();
                }
                positions.push(((n.min(16383) as u16) << 2) | (weight % 4) as u16);
                if chars.peek() == Some(&',') {
                    chars.next();
                } else {
                    break;
                }
            }
        }
        out.push((word, positions));
    }
    out
}

/// A parsed `tsquery`: the words of one need, as Postgres stemmed them.
#[derive(Clone, Debug, PartialEq)]
pub enum Words {
    Word(String),
    /// `left <distance> right`: right follows left by exactly `distance` positions.
    Phrase(Box<Words>, Box<Words>, u16),
    And(Box<Words>, Box<Words>),
    Or(Box<Words>, Box<Words>),
    Not(Box<Words>),
}

impl Words {
    /// Reads a `tsquery`'s text form (`'babi' <-> 'formula' | 'infant'`). `None` when empty
    /// or not understood.
    pub fn parse(text: &str) -> Option<Words> {
        let tokens = tokenize(text)?;
        let mut at = 0;
        let words = parse_or(&tokens, &mut at)?;
        (at == tokens.len()).then_some(words)
    }

    /// The words that are by themselves one of a need's alternatives.
    fn single_words<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Words::Or(a, b) => {
                a.single_words(out);
                b.single_words(out);
            }
            Words::Word(w) => out.push(w),
            _ => {}
        }
    }

    fn collect(&self, out: &mut Vec<String>) {
        match self {
            Words::Word(w) => {
                if !out.contains(w) {
                    out.push(w.clone())
                }
            }
            Words::Phrase(a, b, _) | Words::And(a, b) | Words::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Words::Not(a) => a.collect(out),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    And,
    Or,
    Not,
    Follows(u16),
    Open,
    Close,
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' => {}
            '&' => out.push(Token::And),
            '|' => out.push(Token::Or),
            '!' => out.push(Token::Not),
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            '<' => {
                let mut inner = String::new();
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                    inner.push(c);
                }
                out.push(Token::Follows(if inner == "-" {
                    1
                } else {
                    inner.parse().ok()?
                }));
            }
            '\'' => {
                let mut word = String::new();
                loop {
                    match chars.next()? {
                        '\'' if chars.peek() == Some(&'\'') => {
                            chars.next();
                            word.push('\'');
                        }
                        '\'' => break,
                        '\\' => word.push(chars.next()?),
                        c => word.push(c),
                    }
                }
                // Weight or prefix marks (`:*`, `:AB`) are never written by our queries.
                if chars.peek() == Some(&':') {
                    chars.next();
                    while chars.peek().is_some_and(|c| "*ABCDabcd".contains(*c)) {
                        chars.next();
                    }
                }
                out.push(Token::Word(word));
            }
            _ => return None,
        }
    }
    Some(out)
}

// Precedence as Postgres has it: `!` binds tightest, then `<->`, then `&`, then `|`.
fn parse_or(t: &[Token], at: &mut usize) -> Option<Words> {
    let mut left = parse_and(t, at)?;
    while t.get(*at) == Some(&Token::Or) {
        *at += 1;
        left = Words::Or(Box::new(left), Box::new(parse_and(t, at)?));
    }
    Some(left)
}

fn parse_and(t: &[Token], at: &mut usize) -> Option<Words> {
    let mut left = parse_phrase(t, at)?;
    while t.get(*at) == Some(&Token::And) {
        *at += 1;
        left = Words::And(Box::new(left), Box::new(parse_phrase(t, at)?));
    }
    Some(left)
}

fn parse_phrase(t: &[Token], at: &mut usize) -> Option<Words> {
    let mut left = parse_unary(t, at)?;
    while let Some(Token::Follows(d)) = t.get(*at) {
        *at += 1;
        left = Words::Phrase(Box::new(left), Box::new(parse_unary(t, at)?), *d);
    }
    Some(left)
}

fn parse_unary(t: &[Token], at: &mut usize) -> Option<Words> {
    match t.get(*at)? {
        Token::Not => {
            *at += 1;
            Some(Words::Not(Box::new(parse_unary(t, at)?)))
        }
        Token::Open => {
            *at += 1;
            let inner = parse_or(t, at)?;
            (t.get(*at) == Some(&Token::Close)).then_some(())?;
            *at += 1;
            Some(inner)
        }
        Token::Word(w) => {
            *at += 1;
            Some(Words::Word(w.clone()))
        }
        _ => None,
    }
}

/// Where a query's words occur in one entry: for each word of the query, its packed positions.
struct Occurrences<'a> {
    words: &'a [String],
    positions: &'a [&'a [u16]],
    /// How much each word's match counts (`rarity`), or every word alike.
    rarity: Option<&'a [f64]>,
}

/// How much a match of a word counts for how few programs have it: 1 + ln(N / df), the
/// classic inverse document frequency. In a legal aid directory nearly every program says
/// "legal" and few say "lawyer": a program named for lawyers is a better answer to "lawyer"
/// than one that says "legal" twice.
fn rarity(entries: usize, with_word: usize) -> f64 {
    1.0 + (entries.max(1) as f64 / with_word.max(1) as f64).ln()
}

/// One match of a word or phrase: where it ends, and its words' weights as Postgres's
/// cover-density ranking sums them (a cover of n words counts n / Σ 1/weight).
#[derive(Clone, Copy)]
struct Hit {
    end: u16,
    words: u16,
    inverse_weights: f64,
}

impl Occurrences<'_> {
    /// Where a word occurs, and how much each of its matches counts.
    fn of(&self, word: &str) -> (&[u16], f64) {
        match self.words.iter().position(|w| w == word) {
            Some(i) => (self.positions[i], self.rarity.map_or(1.0, |r| r[i])),
            None => (&[], 1.0),
        }
    }

    /// Each match of a word or phrase (for `&`, `|` and `!`: only whether it matches).
    fn hits(&self, w: &Words) -> Vec<Hit> {
        match w {
            Words::Word(word) => {
                let (positions, rarity) = self.of(word);
                positions
                    .iter()
                    .map(|p| Hit {
                        end: p >> 2,
                        words: 1,
                        inverse_weights: 1.0 / (FIELD_WEIGHTS[(p & 3) as usize] * rarity),
                    })
                    .collect()
            }
            Words::Phrase(a, b, d) => {
                let (left, right) = (self.hits(a), self.hits(b));
                right
                    .iter()
                    .filter_map(|r| {
                        let l = left.iter().find(|l| l.end + d == r.end)?;
                        Some(Hit {
                            end: r.end,
                            words: l.words + r.words,
                            inverse_weights: l.inverse_weights + r.inverse_weights,
                        })
                    })
                    .collect()
            }
            _ => {
                if self.matches(w) {
                    vec![Hit {
                        end: 0,
                        words: 1,
                        inverse_weights: 1.0,
                    }]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn matches(&self, w: &Words) -> bool {
        match w {
            Words::Word(word) => !self.of(word).0.is_empty(),
            Words::Phrase(..) => !self.hits(w).is_empty(),
            Words::And(a, b) => self.matches(a) && self.matches(b),
            Words::Or(a, b) => self.matches(a) || self.matches(b),
            Words::Not(a) => !self.matches(a),
        }
    }

    /// How well a need matches: the sum over its matches of their weight (what `ts_rank_cd`
    /// gives a query of alternatives, each match being its own cover). 0: no match.
    fn score(&self, need: &Words) -> f64 {
        match need {
            Words::Or(a, b) => self.score(a) + self.score(b),
            // One word: each occurrence counts its field's weight (no list of matches needed).
            Words::Word(word) => {
                let (positions, rarity) = self.of(word);
                positions
                    .iter()
                    .map(|p| FIELD_WEIGHTS[(p & 3) as usize] * rarity)
                    .sum()
            }
            _ => self
                .hits(need)
                .iter()
                .map(|h| h.words as f64 / h.inverse_weights)
                .sum(),
        }
    }
}

/// What a search asks of the index.
pub struct Ask<'a> {
    /// One per need; a program that meets none is not found, unless it offers related help.
    pub needs: &'a [Words],
    /// Help next to the needs (general legal help for an eviction), by kind: programs that
    /// meet no need but offer this follow those that do, when those are at least one and fewer
    /// than `every_need_from`.
    pub related: &'a [Related],
    /// The words ask for a kind of help in general ("abogado gratis"): of the programs that
    /// meet them, those for help in general come first, and each name once before any twice.
    pub front_doors: bool,
    pub category: Option<&'a str>,
    pub open_now: bool,
    pub free_only: bool,
    pub age: Option<u32>,
    pub language: Option<&'a str>,
    /// The words were in this language (Spanish): programs that speak it come first among
    /// equals, without leaving the others out.
    pub spoken: Option<&'a str>,
    pub origin: Option<Origin<'a>>,
    /// With no place: the deployment's state.
    pub region: &'a str,
    pub by_distance: bool,
    /// Rank only programs that meet every need when there are at least this many of them.
    pub every_need_from: usize,
}

/// One kind of help next to the needs (general legal help; older adults' programs).
pub struct Related {
    pub words: Words,
    /// The subcategory of programs offering it in general ("legal-aid"): a program in another
    /// subcategory of the same category ("Immigration project") offers help with one other
    /// problem, not this.
    pub general: Option<&'static str>,
}

/// The resolved place of a search.
pub struct Origin<'a> {
    pub latitude: f64,
    pub longitude: f64,
    pub radius_m: f64,
    pub state: Option<&'a str>,
    pub county_fips: Option<&'a str>,
    /// The county's name as words: a program of no known place that names it is in it.
    pub county_words: Option<&'a Words>,
    /// The county's name ("Cook"): with `state`, it says which county the place is in in any
    /// state (county codes are known for the deployment's own state only).
    pub county: Option<&'a str>,
    pub zip: Option<&'a str>,
    /// A named place (a county or city) also finds programs in its county.
    pub named: bool,
}

impl Origin<'_> {
    pub fn named(place: &Option<Place>) -> bool {
        matches!(place, Some(Place::Named(_)))
    }
}

/// One program on a page of results.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The best of its locations for this search.
    pub id: Uuid,
    pub miles: Option<f64>,
    pub serves_area: bool,
    /// How many of its locations matched.
    pub locations: i64,
    /// It meets none of the needs but offers help next to them.
    pub related: bool,
}

/// A map keyed by a service's number, hashed with one multiplication: grouping a national
/// search's matches by program is hashing-bound with the standard library's default hasher.
type NumberMap<V> = HashMap<u32, V, std::hash::BuildHasherDefault<NumberHasher>>;

#[derive(Default)]
struct NumberHasher(u64);

impl std::hash::Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ *b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A match before the one-card-per-program step.
#[derive(Clone, Copy)]
struct Candidate {
    entry: u32,
    /// How many needs it meets; for related help, how many kinds of it it offers.
    needs_met: u16,
    score: f64,
    miles: Option<f64>,
    serves_area: bool,
    related: bool,
    /// The text score before distance.
    text: f64,
}

impl Index {
    /// The programs matching, best first (one per service), and how many there are.
    pub fn search(&self, ask: &Ask<'_>, offset: usize, limit: usize) -> (Vec<Found>, usize) {
        let mut candidates = self.candidates(ask, &[]);
        let programs = |candidates: &[Candidate], least: u16| {
            let mut p: Vec<u32> = candidates
                .iter()
                .filter(|c| c.needs_met >= least)
                .map(|c| self.entries[c.entry as usize].service)
                .collect();
            p.sort_unstable();
            p.dedup();
            p.len()
        };
        // Every word need not match: only when enough programs meet every need are the
        // partial matches (which rank after them anyway) left out.
        if ask.needs.len() > 1 {
            let every = ask.needs.len() as u16;
            if programs(&candidates, every) >= ask.every_need_from {
                candidates.retain(|c| c.needs_met == every);
            }
        }
        let topic = self.topic(ask, &candidates);
        // Related help fills a page that the needs leave short, never an empty one: with no
        // program meeting a need, the page says nothing matched (and which filter emptied it).
        // Looked for only then: its words are common ones ("help"), and most searches fill
        // their page without it.
        if !ask.related.is_empty() {
            let meeting = programs(&candidates, 1);
            if meeting > 0 && meeting < ask.every_need_from {
                let mut more = self.candidates(ask, ask.related);
                more.retain(|c| c.related);
                self.best_of_each_name(ask, &mut more, ask.every_need_from - meeting);
                candidates.extend(more);
            }
        }
        self.one_per_program(ask, candidates, topic, offset, limit)
    }

    /// What the words are about, read from the programs they match best, as pseudo-relevance
    /// feedback does: the top-level categories of the best few programs (most needs met, then
    /// the text score before distance, ties to the nearer). A program that matches the words
    /// but is in none of them (the hygiene closet for "food pantry", home weatherization that
    /// tells renters to ask their landlord, for "my landlord wont give back my deposit")
    /// counts half, as if twice as far (`one_per_program`). A program with no categories
    /// (feeds that give none) is left as it is. 0: no topic.
    fn topic(&self, ask: &Ask<'_>, candidates: &[Candidate]) -> u32 {
        if ask.needs.is_empty() || ask.category.is_some() {
            return 0;
        }
        let rank = |a: &Candidate, b: &Candidate| {
            b.needs_met
                .cmp(&a.needs_met)
                .then(b.text.total_cmp(&a.text))
                .then(b.score.total_cmp(&a.score))
        };
        // The best few, each program once.
        let mut best: Vec<Candidate> = Vec::with_capacity(TOPIC_FROM + 1);
        for c in candidates {
            // Most matches are no better than the few kept: one comparison each.
            if best.len() == TOPIC_FROM && best.last().is_some_and(|w| rank(c, w).is_ge()) {
                continue;
            }
            let e = &self.entries[c.entry as usize];
            if e.topics == 0 {
                continue;
            }
            let same = best
                .iter()
                .position(|b| self.entries[b.entry as usize].service == e.service);
            match same {
                Some(i) if rank(c, &best[i]).is_lt() => best[i] = *c,
                Some(_) => continue,
                None => best.push(*c),
            }
            best.sort_by(rank);
            best.truncate(TOPIC_FROM);
        }
        best.iter()
            .fold(0, |bits, b| bits | self.entries[b.entry as usize].topics)
    }

    /// Related help fills the page and no more, and shows different kinds of help, not ten of
    /// one: of the programs offering it under one name (each county bar's "Lawyer Referral
    /// Service"), only the best is kept; of the rest, the best `room`.
    fn best_of_each_name(&self, ask: &Ask<'_>, related: &mut Vec<Candidate>, room: usize) {
        related.sort_unstable_by(|a, b| self.order(ask, a, b));
        let mut named: HashMap<&str, u32> = HashMap::new();
        for c in related.iter() {
            let e = &self.entries[c.entry as usize];
            if named.len() == room {
                break;
            }
            named.entry(&e.sort_name).or_insert(e.service);
        }
        related.retain(|c| {
            let e = &self.entries[c.entry as usize];
            named.get(&*e.sort_name) == Some(&e.service)
        });
    }

    fn one_per_program(
        &self,
        ask: &Ask<'_>,
        candidates: Vec<Candidate>,
        topic: u32,
        offset: usize,
        limit: usize,
    ) -> (Vec<Found>, usize) {
        let order = |a: &Candidate, b: &Candidate| self.order(ask, a, b);
        // Each program's best location, and how many of its locations matched.
        let mut best: NumberMap<(Candidate, i64)> =
            NumberMap::with_capacity_and_hasher(candidates.len(), Default::default());
        for mut c in candidates {
            let e = &self.entries[c.entry as usize];
            if topic != 0 && !c.related && e.topics != 0 && e.topics & topic == 0 {
                c.score *= OFF_TOPIC;
            }
            best.entry(e.service)
                .and_modify(|(b, n)| {
                    *n += 1;
                    if order(&c, b).is_lt() {
                        *b = c;
                    }
                })
                .or_insert((c, 1));
        }
        let total = best.len();
        let mut programs: Vec<(Candidate, i64)> = best.into_values().collect();
        let wanted = (offset + limit).min(programs.len());
        if wanted == 0 {
            return (Vec::new(), total);
        }
        if ask.front_doors && !ask.by_distance {
            // Asked for help in general, a page shows different doors, not ten of one: each
            // name's best program first (the nearest "Ask-A-Lawyer Night"), then the others.
            programs.sort_unstable_by(|a, b| order(&a.0, &b.0));
            let mut seen: HashMap<&str, usize> = HashMap::new();
            let mut nth: Vec<(usize, (Candidate, i64))> = programs
                .into_iter()
                .map(|p| {
                    let n = seen
                        .entry(&self.entries[p.0.entry as usize].sort_name)
                        .or_default();
                    *n += 1;
                    (*n, p)
                })
                .collect();
            // Stable: within each round, the order above.
            nth.sort_by_key(|(n, _)| *n);
            programs = nth.into_iter().take(wanted).map(|(_, p)| p).collect();
        } else {
            if wanted < programs.len() {
                programs.select_nth_unstable_by(wanted - 1, |a, b| order(&a.0, &b.0));
                programs.truncate(wanted);
            }
            programs.sort_unstable_by(|a, b| order(&a.0, &b.0));
        }
        let page = programs
            .into_iter()
            .skip(offset)
            .map(|(c, locations)| Found {
                id: self.entries[c.entry as usize].id,
                miles: c.miles,
                serves_area: c.serves_area,
                locations,
                related: c.related,
            })
            .collect();
        (page, total)
    }

    /// By distance: programs near the place, nearest first, then those serving the area; best
    /// match first: programs that meet the most needs, then by score, decayed by distance.
    /// Related help comes after either. Ties: nearer, then by name, then by id (so pages never
    /// overlap).
    fn order(&self, ask: &Ask<'_>, a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
        let miles = |c: &Candidate| c.miles.unwrap_or(f64::INFINITY);
        let (ea, eb) = (
            &self.entries[a.entry as usize],
            &self.entries[b.entry as usize],
        );
        let rest = || {
            miles(a)
                .total_cmp(&miles(b))
                .then_with(|| ea.sort_name.cmp(&eb.sort_name))
                .then_with(|| ea.id.cmp(&eb.id))
        };
        if ask.by_distance {
            a.related
                .cmp(&b.related)
                .then_with(|| a.serves_area.cmp(&b.serves_area))
                .then_with(rest)
        } else {
            a.related
                .cmp(&b.related)
                .then_with(|| b.needs_met.cmp(&a.needs_met))
                .then_with(|| b.score.total_cmp(&a.score))
                .then_with(rest)
        }
    }

    /// Every entry that matches the words, the filters and the place; with `related`, also
    /// those that meet no need but offer one of its kinds.
    fn candidates(&self, ask: &Ask<'_>, related: &[Related]) -> Vec<Candidate> {
        let Some(mut filters) = Filters::new(self, ask) else {
            return Vec::new();
        };
        if let Some(county) = ask.origin.as_ref().and_then(|o| o.county_words) {
            let mut words = Vec::new();
            county.collect(&mut words);
            filters.county_postings = words.iter().map(|w| self.postings_of(w)).collect();
        }
        let place = self.entries_in_place(ask);
        let mut out = Vec::new();
        if ask.needs.is_empty() {
            for e in place {
                if let Some(c) = filters.candidate(e, 0, 1.0) {
                    out.push(c);
                }
            }
            return out;
        }
        let mut words = Vec::new();
        for need in ask.needs.iter().chain(related.iter().map(|r| &r.words)) {
            need.collect(&mut words);
        }
        // For each kind of related help with a general subcategory, the others of its
        // category: a program in one of them is about another problem. Asked for front doors,
        // the kinds next to the needs say which those are.
        let tree = super::categories::CategoryTree::get();
        let kinds = if ask.front_doors {
            ask.related
        } else {
            related
        };
        let elsewhere: Vec<Vec<Sym>> = kinds
            .iter()
            .map(|r| match r.general.and_then(|g| tree.sub(g)) {
                Some((category, general)) => category
                    .sub
                    .iter()
                    .filter(|s| s.id != general.id)
                    .filter_map(|s| self.symbols.get(&s.id))
                    .collect(),
                None => Vec::new(),
            })
            .collect();
        let lists: Vec<&[Posting]> = words.iter().map(|w| self.postings_of(w)).collect();
        let mut positions: Vec<&[u16]> = vec![&[]; lists.len()];
        // A need's words count by how few programs have them; related help's alike (it is
        // ranked by how general a program is, not by its words).
        let rarities: Vec<f64> = lists
            .iter()
            .map(|l| rarity(self.entries.len(), l.len()))
            .collect();
        let implied = self.implied_needs(ask.needs);
        // The kinds of person the words name ("for seniors", "kids"), or the help next to them
        // does ("for my mom"): a program for another kind of person counts half.
        let named_people = {
            let mut stems = words.clone();
            for r in ask.related {
                r.words.collect(&mut stems);
            }
            people_named(stems.iter().map(String::as_str))
        };
        let mut consider = |entry: u32, positions: &[&[u16]]| {
            let occurrences = Occurrences {
                words: &words,
                positions,
                rarity: Some(&rarities),
            };
            let plain = Occurrences {
                words: &words,
                positions,
                rarity: None,
            };
            let (mut needs_met, mut score, mut implied_met) = (0, 0.0, 0);
            for (need, implied) in ask.needs.iter().zip(&implied) {
                if occurrences.matches(need) {
                    needs_met += 1;
                    score += occurrences.score(need);
                } else if *implied {
                    implied_met += 1;
                }
            }
            let e = &self.entries[entry as usize];
            let about_another = || {
                e.categories
                    .iter()
                    .any(|c| elsewhere.iter().flatten().any(|o| o == c))
            };
            if needs_met > 0 {
                needs_met += implied_met;
                // Front doors first: a program named for help in general ("Legal Aid
                // Services", "Hotline") says so in fewer words than one for a kind of person,
                // problem or place, as with related help (below), and its match still counts
                // (capped there, it put "Benefits Denial Help" level with "Legal Aid Services"
                // for "free lawyer" in Kentucky). One about another problem ("Immigration
                // project" for a free lawyer) comes after them.
                if ask.front_doors {
                    score = if about_another() {
                        0.0
                    } else {
                        score / e.name_words as f64
                    };
                }
                if e.people & !named_people != 0 {
                    score *= FOR_OTHERS;
                }
                if let Some(c) = filters.candidate(entry, needs_met, score) {
                    out.push(c);
                }
            } else if !related.is_empty() {
                let (mut kinds, mut score) = (0, 0.0);
                for (r, elsewhere) in related.iter().zip(&elsewhere) {
                    if plain.matches(&r.words)
                        && !e.categories.iter().any(|c| elsewhere.contains(c))
                    {
                        kinds += 1;
                        score += plain.score(&r.words);
                    }
                }
                // Programs offering more kinds of the related help come first ("Legal help for
                // seniors" for a will for my mom); then those for help in general: "Hotline"
                // before "Bloomington Office - Legal help for seniors" for an eviction. A
                // program for one kind of person or place says so in more words; how often a
                // program repeats the related words (its categories' names, say) counts for no
                // more than one full match.
                if kinds > 0 {
                    let general = score.min(1.0) / e.name_words as f64;
                    if let Some(c) = filters.candidate(entry, kinds, general) {
                        out.push(Candidate { related: true, ..c });
                    }
                }
            }
        };
        let postings: usize = lists.iter().map(|l| l.len()).sum();
        if place.len() < postings {
            // Fewer programs in the place than mentions of the words (a common word in a
            // national directory): each program in the place looks its words up.
            for entry in place {
                let mut any = false;
                for (i, l) in lists.iter().enumerate() {
                    positions[i] = match l.binary_search_by_key(&entry, |p| p.entry) {
                        Ok(at) => {
                            any = true;
                            self.positions_of(&l[at])
                        }
                        Err(_) => &[],
                    };
                }
                if any {
                    consider(entry, &positions);
                }
            }
        } else {
            // A walk over the words' postings together, in entry order.
            let mut cursors = vec![0usize; lists.len()];
            loop {
                let next = lists
                    .iter()
                    .zip(&cursors)
                    .filter_map(|(l, c)| l.get(*c).map(|p| p.entry))
                    .min();
                let Some(entry) = next else { break };
                for (i, l) in lists.iter().enumerate() {
                    positions[i] = match l.get(cursors[i]) {
                        Some(p) if p.entry == entry => {
                            cursors[i] += 1;
                            self.positions_of(p)
                        }
                        _ => &[],
                    };
                }
                consider(entry, &positions);
            }
        }
        out
    }

    /// Which needs the directory itself meets: of several needs, one whose word nearly every
    /// program has ("legal" in a legal aid directory: 384 of its 429 programs) says nothing
    /// about which program is meant, as a word in every document has no inverse document
    /// frequency. Such a need is not required: "Suburban seniors" (a legal aid program that
    /// never says "legal") meets "free legal help for seniors". Its matches still add to the
    /// score. A need alone is what was asked for, and stays required.
    fn implied_needs(&self, needs: &[Words]) -> Vec<bool> {
        // Three quarters of the programs: far above any need in a general directory.
        let nearly_every = self.entries.len() * 3 / 4;
        needs
            .iter()
            .map(|need| {
                let mut words = Vec::new();
                need.single_words(&mut words);
                needs.len() > 1
                    && words
                        .iter()
                        .any(|w| self.postings_of(w).len() >= nearly_every.max(1))
            })
            .collect()
    }

    /// A word's postings, in entry order (none for a word no entry has).
    fn postings_of(&self, word: &str) -> &[Posting] {
        self.words
            .get(word)
            .map_or(&[][..], |n| &self.postings[*n as usize][..])
    }

    fn positions_of(&self, p: &Posting) -> &[u16] {
        &self.positions[p.start as usize..p.start as usize + p.len as usize]
    }

    /// Every entry the place may find, in entry order (the filters decide): those in the cells
    /// around the place, those serving its state, county or ZIP code, those in its county
    /// when the place is named, and those with no point; with no place, those in the
    /// deployment's state or serving it, and those with no point.
    fn entries_in_place(&self, ask: &Ask<'_>) -> Vec<u32> {
        let look = |s: Option<&str>| s.and_then(|s| self.symbols.get(s));
        let lists = |out: &mut Vec<u32>, map: &HashMap<Sym, Vec<u32>>, key: Option<Sym>| {
            if let Some(l) = key.and_then(|k| map.get(&k)) {
                out.extend_from_slice(l);
            }
        };
        let mut out: Vec<u32> = Vec::new();
        match &ask.origin {
            Some(o) => {
                let lat_span = (o.radius_m / EARTH_RADIUS_M).to_degrees();
                let lon_span = lat_span / o.latitude.to_radians().cos().abs().max(0.01);
                if lat_span > 30.0 || lon_span > 60.0 {
                    return (0..self.entries.len() as u32).collect();
                }
                let (lo, hi) = (
                    cell(o.latitude - lat_span, o.longitude - lon_span),
                    cell(o.latitude + lat_span, o.longitude + lon_span),
                );
                let from = (o.latitude.to_radians(), o.longitude.to_radians());
                // Only those within the radius: one farther is found only if it serves the
                // place, and the lists below bring those.
                for a in lo.0..=hi.0 {
                    for b in lo.1..=hi.1 {
                        if let Some(c) = self.cells.get(&(a, b)) {
                            out.extend(
                                c.iter()
                                    .filter(|(_, p)| distance_m(from, *p) <= o.radius_m)
                                    .map(|(e, _)| *e),
                            );
                        }
                    }
                }
                for area in [o.state, o.county_fips, o.zip] {
                    lists(&mut out, &self.serving, look(area));
                }
                if o.named {
                    lists(&mut out, &self.by_county, look(o.county_fips));
                }
            }
            None => {
                let region = look(Some(ask.region));
                lists(&mut out, &self.by_state, region);
                lists(&mut out, &self.serving, region);
            }
        }
        out.extend_from_slice(&self.pointless);
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The search's filters and place, with its values looked up once.
struct Filters<'a> {
    index: &'a Index,
    ask: &'a Ask<'a>,
    category: Option<Sym>,
    language: Option<Sym>,
    spoken: Option<Sym>,
    origin: Option<(f64, f64)>,
    state: Option<Sym>,
    county: Option<Sym>,
    zip: Option<Sym>,
    /// The place's county as programs naming a town know it ("Cook, IL"; `None` when no
    /// program names a town in it), and whether the place's county is known at all.
    town_county: Option<Sym>,
    county_known: bool,
    region: Option<Sym>,
    /// The minute of the week now, in each time zone (asked once per zone).
    now: Mutex<HashMap<Option<Sym>, i32>>,
    /// The postings of the words of the place's county's name.
    county_postings: Vec<&'a [Posting]>,
}

impl<'a> Filters<'a> {
    /// `None`: a filter names something no entry has (nothing can match).
    fn new(index: &'a Index, ask: &'a Ask<'a>) -> Option<Filters<'a>> {
        let category = match ask.category {
            Some(c) => Some(index.symbols.get(c)?),
            None => None,
        };
        let language = match ask.language {
            Some(l) => Some(index.symbols.get(l)?),
            None => None,
        };
        let look = |s: Option<&str>| s.and_then(|s| index.symbols.get(s));
        let county_name = ask
            .origin
            .as_ref()
            .and_then(|o| Some(format!("{}, {}", o.county?, o.state?)));
        Some(Filters {
            index,
            ask,
            category,
            language,
            spoken: ask.spoken.and_then(|l| index.symbols.get(l)),
            origin: ask
                .origin
                .as_ref()
                .map(|o| (o.latitude.to_radians(), o.longitude.to_radians())),
            state: look(ask.origin.as_ref().and_then(|o| o.state)),
            county: look(ask.origin.as_ref().and_then(|o| o.county_fips)),
            zip: look(ask.origin.as_ref().and_then(|o| o.zip)),
            town_county: county_name.as_deref().and_then(|n| index.symbols.get(n)),
            county_known: county_name.is_some(),
            region: index.symbols.get(ask.region),
            now: Mutex::new(HashMap::new()),
            county_postings: Vec::new(),
        })
    }

    fn minute_now(&self, zone: Option<Sym>) -> i32 {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now.entry(zone).or_insert_with(|| {
            let tz = zone
                .and_then(|z| {
                    self.index.symbols.names[z as usize]
                        .parse::<chrono_tz::Tz>()
                        .ok()
                })
                .unwrap_or(chrono_tz::America::New_York);
            let local = chrono::Utc::now().with_timezone(&tz);
            (local.weekday().num_days_from_monday() * 1440 + local.hour() * 60 + local.minute())
                as i32
        })
    }

    /// The entry's words hold the place's county's name.
    fn names_county(&self, number: u32) -> bool {
        !self.county_postings.is_empty()
            && self
                .county_postings
                .iter()
                .all(|l| l.binary_search_by_key(&number, |p| p.entry).is_ok())
    }

    fn candidate(&self, number: u32, needs_met: u16, score: f64) -> Option<Candidate> {
        let e = &self.index.entries[number as usize];
        // Speaking the resident's language counts as much as being 2.5 miles nearer.
        let score = match self.spoken {
            Some(l) if e.languages.binary_search(&l).is_ok() => score * SPOKEN_BOOST,
            _ => score,
        };
        let ask = self.ask;
        if let Some(c) = self.category {
            e.categories.binary_search(&c).ok()?;
        }
        if let Some(l) = self.language {
            e.languages.binary_search(&l).ok()?;
        }
        if ask.free_only && !e.is_free {
            return None;
        }
        if let Some(age) = ask.age {
            let age = age as i32;
            if e.minimum_age.unwrap_or(0) > age || e.maximum_age.unwrap_or(200) < age {
                return None;
            }
        }
        if ask.open_now {
            let hours = e.hours.as_ref()?;
            let now = self.minute_now(e.timezone);
            hours.iter().find(|(a, b)| *a <= now && now < *b)?;
        }
        let has = |list: &[Sym], s: Option<Sym>| s.is_some_and(|s| list.binary_search(&s).is_ok());
        match (&ask.origin, self.origin) {
            (Some(o), Some(from)) => {
                let meters = e.point.map(|p| distance_m(from, p));
                let near = meters.is_some_and(|m| m <= o.radius_m);
                let serving = has(&e.area_states, self.state)
                    || has(&e.area_counties, self.county)
                    || (o.named && self.county.is_some() && e.county == self.county)
                    || has(&e.area_zips, self.zip);
                let unknown = e.place_unknown();
                if !(near || serving || unknown) {
                    return None;
                }
                let miles = meters.map(|m| m / METERS_PER_MILE);
                // A program found because it serves the area (statewide, the county) counts as
                // a few miles off wherever its office is: a statewide hotline is as close to
                // Pikeville as to Louisville. One that gives no place but names the county
                // ("Free legal forms in Peoria County") is nearer than that: a feed with no
                // addresses has one such program per county, and the resident's comes first.
                // One that names another county ("... in Jackson County") or a town in
                // another ("Peoria Office - …") is for the people there: it counts as 15 miles
                // off, after what serves everyone.
                let towns = match unknown {
                    true => self.index.named_towns.get(&number),
                    false => None,
                };
                // A part of the state ("in Southern Illinois") counts as the county does.
                let part = match unknown {
                    true => self.index.named_parts.get(&number),
                    false => None,
                };
                let in_part = part.map(|p| p.holds(self.state, from));
                let in_county = self.names_county(number)
                    || towns.is_some_and(|t| has(t, self.town_county))
                    || in_part == Some(true);
                let other_county = (!self.county_postings.is_empty() && names_a_county(e))
                    || (towns.is_some() && self.county_known)
                    || in_part == Some(false);
                let decay = match (near, miles) {
                    (true, Some(miles)) => 1.0 + miles / HALF_SCORE_MILES,
                    _ if unknown && in_county => 1.5,
                    _ if unknown && other_county => 1.0 + OTHER_COUNTY_MILES / HALF_SCORE_MILES,
                    _ => 2.0,
                };
                // Only for its own county's residents, and the resident lives in another: a
                // call they would likely make for nothing. It counts as 15 miles farther off,
                // after what they can use, unless it serves their county or names it.
                let for_others = e.county_only
                    && e.county.is_some()
                    && self.county.is_some()
                    && e.county != self.county
                    && !has(&e.area_counties, self.county)
                    && !self.names_county(number);
                let decay = match for_others {
                    true => decay + OTHER_COUNTY_MILES / HALF_SCORE_MILES,
                    false => decay,
                };
                Some(Candidate {
                    entry: number,
                    needs_met,
                    score: score / decay,
                    miles,
                    serves_area: !near,
                    related: false,
                    text: score,
                })
            }
            _ => {
                let in_region = self.region.is_some()
                    && (e.state == self.region || has(&e.area_states, self.region));
                if !(in_region || e.place_unknown()) {
                    return None;
                }
                Some(Candidate {
                    entry: number,
                    needs_met,
                    score,
                    miles: None,
                    serves_area: false,
                    related: false,
                    text: score,
                })
            }
        }
    }
}

/// Each database's index as this process holds it (one server serves one database; the test
/// suite's servers share a process).
struct Held {
    index: Option<Arc<Index>>,
    checked: Instant,
    reloading: bool,
    /// Bumped by [`forget`]: a read that began before it is older than the import and is not
    /// kept.
    epoch: u64,
}

type Slot = Arc<tokio::sync::Mutex<()>>;

/// A database's entry before its index is first read.
fn empty_slot() -> (Held, Slot) {
    (
        Held {
            index: None,
            checked: Instant::now(),
            reloading: false,
            epoch: 0,
        },
        Arc::new(tokio::sync::Mutex::new(())),
    )
}

fn held() -> &'static Mutex<HashMap<String, (Held, Slot)>> {
    static HELD: OnceLock<Mutex<HashMap<String, (Held, Slot)>>> = OnceLock::new();
    HELD.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Which database a pool serves: what every per-server memory of the directory (this index,
/// [`super::recent`]'s searches and cards) is kept by. One server serves one database; the test
/// suite's servers share a process.
pub(super) fn database(pool: &PgPool) -> String {
    pool.connect_options()
        .get_database()
        .unwrap_or_default()
        .to_string()
}

/// The index for this database: the one held, or read now. A rebuild by another process is
/// noticed within a second and read in the background; until then the held copy answers.
pub async fn current(pool: &PgPool) -> Result<Arc<Index>, sqlx::Error> {
    let k = database(pool);
    let (index, loading, check) = {
        let mut all = held().lock().unwrap_or_else(|e| e.into_inner());
        let (h, loading) = all.entry(k.clone()).or_insert_with(empty_slot);
        let check = h.index.is_some() && !h.reloading && h.checked.elapsed() >= CHECK_EVERY;
        if check {
            h.checked = Instant::now();
        }
        (h.index.clone(), loading.clone(), check)
    };
    if let Some(index) = index {
        if check {
            // A failed look is not a failed search: the held copy answers, and the next
            // second looks again.
            match sqlx::query_scalar::<_, i64>("SELECT generation FROM search_generation")
                .fetch_optional(pool)
                .await
            {
                Ok(Some(g)) if g != index.generation => reload_in_background(pool.clone(), k),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not see whether the search index changed")
                }
            }
        }
        return Ok(index);
    }
    // Read it now; those asking meanwhile wait for this one reading.
    let _reading = loading.lock().await;
    let (held_now, epoch) = slot(&k);
    if let Some(index) = held_now {
        return Ok(index);
    }
    let index = Arc::new(Index::load(pool).await?);
    store(&k, index.clone(), epoch);
    Ok(index)
}

/// The index held for this database, and the epoch a read starting now belongs to.
fn slot(k: &str) -> (Option<Arc<Index>>, u64) {
    let all = held().lock().unwrap_or_else(|e| e.into_inner());
    all.get(k)
        .map_or((None, 0), |(h, _)| (h.index.clone(), h.epoch))
}

/// Keeps a read index, unless an import in this process came after the read began (its
/// epoch moved) or the index held is already newer.
fn store(k: &str, index: Arc<Index>, epoch: u64) {
    let mut all = held().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((h, _)) = all.get_mut(k) {
        h.reloading = false;
        let newer_held = h
            .index
            .as_ref()
            .is_some_and(|i| i.generation > index.generation);
        if h.epoch == epoch && !newer_held {
            h.index = Some(index);
            h.checked = Instant::now();
        }
    }
}

fn reload_in_background(pool: PgPool, k: String) {
    let epoch = {
        let mut all = held().lock().unwrap_or_else(|e| e.into_inner());
        match all.get_mut(&k) {
            Some((h, _)) if !h.reloading => {
                h.reloading = true;
                h.epoch
            }
            _ => return,
        }
    };
    tokio::spawn(async move {
        let started = Instant::now();
        match Index::load(&pool).await {
            Ok(index) => {
                tracing::info!(
                    programs = index.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "search index read again after a rebuild elsewhere"
                );
                store(&k, Arc::new(index), epoch);
                super::recent::forget_database(&k);
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the search index again failed; the held copy still answers");
                let mut all = held().lock().unwrap_or_else(|e| e.into_inner());
                if let Some((h, _)) = all.get_mut(&k) {
                    h.reloading = false;
                }
            }
        }
    });
}

/// Reads the index when the server starts, so the first resident does not wait for it.
pub async fn warm(pool: &PgPool) {
    let started = Instant::now();
    match current(pool).await {
        Ok(index) => tracing::info!(
            programs = index.len(),
            ms = started.elapsed().as_millis() as u64,
            "search index read"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "reading the search index failed; the first search will try again")
        }
    }
}

/// Drops the index held for this database (after an import into it in this process): the
/// next search reads it again.
pub fn forget(pool: &PgPool) {
    forget_database(&database(pool));
}

fn forget_database(k: &str) {
    let mut all = held().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((h, _)) = all.get_mut(k) {
        h.index = None;
        h.reloading = false;
        h.epoch += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsvectors_are_read_with_positions_and_weights() {
        let v = parse_tsvector("'babi':3A,10C 'it''s':4 'x\\\\y':7B");
        assert_eq!(v[0].0, "babi");
        assert_eq!(v[0].1, vec![(3 << 2) | 3, (10 << 2) | 1]);
        assert_eq!(v[1], ("it's".to_string(), vec![4 << 2]));
        assert_eq!(v[2], ("x\\y".to_string(), vec![(7 << 2) | 2]));
    }

    #[test]
    fn tsqueries_are_read_with_postgres_precedence() {
        let w = |s: &str| Box::new(Words::Word(s.into()));
        assert_eq!(
            Words::parse("'babi' <-> 'formula' | 'infant' <2> 'formula'"),
            Some(Words::Or(
                Box::new(Words::Phrase(w("babi"), w("formula"), 1)),
                Box::new(Words::Phrase(w("infant"), w("formula"), 2)),
            ))
        );
        assert_eq!(
            Words::parse("( 'a' | 'b' ) & !'c'"),
            Some(Words::And(
                Box::new(Words::Or(w("a"), w("b"))),
                Box::new(Words::Not(w("c"))),
            ))
        );
        assert_eq!(Words::parse(""), None);
        assert_eq!(Words::parse("'a' &"), None);
    }

    #[test]
    fn phrases_match_words_in_order_at_their_distance() {
        let words = vec!["babi".to_string(), "formula".to_string()];
        let (babi, formula) = (vec![(3 << 2) | 3, (9 << 2) | 1], vec![(4 << 2) | 3]);
        let positions: [&[u16]; 2] = [&babi, &formula];
        let o = Occurrences {
            words: &words,
            positions: &positions,
            rarity: None,
        };
        let phrase = Words::parse("'babi' <-> 'formula'").unwrap();
        assert!(o.matches(&phrase));
        assert!((o.score(&phrase) - 1.0).abs() < 1e-9);
        assert!(!o.matches(&Words::parse("'formula' <-> 'babi'").unwrap()));
        assert!(!o.matches(&Words::parse("'babi' <2> 'formula'").unwrap()));
        // Each occurrence of a single word counts its field's weight.
        let word = Words::parse("'babi'").unwrap();
        assert!((o.score(&word) - 1.6).abs() < 1e-9);
    }

    #[test]
    fn distances_agree_with_earthdistance() {
        // Louisville to Lexington: earth_distance(ll_to_earth(38.2527, -85.7585),
        // ll_to_earth(38.0406, -84.5037)) = 112,360.07 m.
        let d = distance_m(
            (38.2527f64.to_radians(), (-85.7585f64).to_radians()),
            (38.0406f64.to_radians(), (-84.5037f64).to_radians()),
        );
        assert!((d - 112_360.07).abs() < 0.5, "{d}");
    }

    /// A program at a point (degrees), or serving states, with a document.
    fn program(
        ix: &mut Index,
        service: u128,
        name: &str,
        point: Option<(f64, f64)>,
        states: &[&str],
        document: &str,
    ) {
        let entry = entry(ix, service, name, point, states);
        ix.push(entry, document);
    }

    /// A program in Kentucky, at `point`, serving `states`.
    fn entry(
        ix: &mut Index,
        service: u128,
        name: &str,
        point: Option<(f64, f64)>,
        states: &[&str],
    ) -> Entry {
        let area_states: Box<[Sym]> = states.iter().map(|s| ix.symbols.add(s)).collect();
        Entry {
            id: Uuid::from_u128(service * 1000 + ix.entries.len() as u128),
            service: ix.service_number(Uuid::from_u128(service)),
            topics: 0,
            name_words: name_words(&name.to_lowercase()),
            sort_name: name.to_lowercase().into(),
            point: point.map(|(a, o)| (a.to_radians(), o.to_radians())),
            state: Some(ix.symbols.add("KY")),
            county: None,
            area_states,
            area_counties: Box::new([]),
            area_zips: Box::new([]),
            categories: Box::new([]),
            languages: Box::new([]),
            is_free: false,
            minimum_age: None,
            maximum_age: None,
            hours: None,
            timezone: None,
            county_only: false,
            people: 0,
        }
    }

    fn near_pikeville<'a>(needs: &'a [Words]) -> Ask<'a> {
        Ask {
            needs,
            related: &[],
            front_doors: false,
            category: None,
            open_now: false,
            free_only: false,
            age: None,
            language: None,
            spoken: None,
            origin: Some(Origin {
                latitude: 37.4793,
                longitude: -82.5188,
                radius_m: 25.0 * METERS_PER_MILE,
                state: Some("KY"),
                county_fips: None,
                county_words: None,
                county: None,
                zip: None,
                named: false,
            }),
            region: "KY",
            by_distance: false,
            every_need_from: 20,
        }
    }

    /// The program added last is legal help with immigration: a sibling of general legal aid.
    fn about_immigration(ix: &mut Index) {
        let mut categories = vec![ix.symbols.add("immigration"), ix.symbols.add("legal")];
        categories.sort_unstable();
        ix.entries.last_mut().unwrap().categories = categories.into();
    }

    #[test]
    fn related_help_fills_a_short_page_after_every_program_that_meets_a_need() {
        let mut ix = Index::empty(1);
        program(
            &mut ix,
            1,
            "Wills Clinic",
            Some((37.60, -82.5188)),
            &[],
            "'clinic':2A 'will':1A",
        );
        // Next door, yet after the need's one program, 8 miles off. Of the two offering related
        // help, the line for legal help in general comes before the office for one kind of
        // person, however many related words each uses.
        program(
            &mut ix,
            2,
            "Bloomington Office - Legal help for seniors",
            Some((37.4793, -82.5188)),
            &[],
            "'bloomington':1A 'offic':2A 'legal':3A 'help':4A 'senior':6A 'legal':8C",
        );
        program(
            &mut ix,
            3,
            "Hotline",
            Some((37.48, -82.52)),
            &[],
            "'hotlin':1A 'legal':3C",
        );
        program(
            &mut ix,
            4,
            "Food Pantry",
            Some((37.48, -82.52)),
            &[],
            "'food':1A 'pantri':2A",
        );
        // Another organization's "Hotline": one of each name is enough.
        program(
            &mut ix,
            5,
            "Hotline",
            Some((37.55, -82.52)),
            &[],
            "'hotlin':1A 'legal':3C",
        );
        let needs = [Words::parse("'will'").unwrap()];
        let related = [Related {
            words: Words::parse("'legal' | 'senior'").unwrap(),
            general: None,
        }];
        let mut ask = near_pikeville(&needs);
        ask.related = &related;
        let (found, total) = ix.search(&ask, 0, 10);
        let order: Vec<(u128, bool)> = found
            .iter()
            .map(|f| (f.id.as_u128() / 1000, f.related))
            .collect();
        assert_eq!((order, total), (vec![(1, false), (3, true), (2, true)], 3));
        // Sorted by distance, related help still comes after.
        ask.by_distance = true;
        let (found, _) = ix.search(&ask, 0, 10);
        assert_eq!(found[0].id.as_u128() / 1000, 1);
        // It fills the page and no more: with room for one, the best.
        ask.by_distance = false;
        ask.every_need_from = 2;
        let (found, total) = ix.search(&ask, 0, 10);
        assert_eq!((found[1].id.as_u128() / 1000, total), (3, 2));
        // A page the need fills has no related help.
        ask.every_need_from = 1;
        assert_eq!(ix.search(&ask, 0, 10).1, 1);
        // Nor has a search that found nothing: it says so.
        let nothing = [Words::parse("'divorc'").unwrap()];
        ask.needs = &nothing;
        ask.every_need_from = 20;
        assert_eq!(ix.search(&ask, 0, 10).1, 0);

        // Legal help and help for older adults as two kinds: the office for seniors offers
        // both, and comes before the general line's one, for all its longer name. Legal help
        // with one other problem (immigration, a sibling of general legal aid) is no door for
        // a will, however short its name.
        program(
            &mut ix,
            6,
            "Immigration project",
            Some((37.48, -82.52)),
            &[],
            "'immigr':1A 'project':2A 'legal':4C",
        );
        about_immigration(&mut ix);
        let kinds = [
            Related {
                words: Words::parse("'legal'").unwrap(),
                general: Some("legal-aid"),
            },
            Related {
                words: Words::parse("'senior'").unwrap(),
                general: None,
            },
        ];
        let mut ask = near_pikeville(&needs);
        ask.related = &kinds;
        let (found, total) = ix.search(&ask, 0, 10);
        let order: Vec<u128> = found.iter().map(|f| f.id.as_u128() / 1000).collect();
        assert_eq!((order, total), (vec![1, 2, 3], 3));
    }

    #[test]
    fn asked_for_help_in_general_the_front_doors_come_first() {
        let mut ix = Index::empty(1);
        let here = Some((37.48, -82.52));
        // Each is legal aid; the office for one county says so twice, and is nearer.
        program(
            &mut ix,
            1,
            "Legal aid office in Pike County",
            Some((37.4793, -82.5188)),
            &[],
            "'legal':1A 'aid':2A 'offic':3A 'pike':5A 'counti':6A 'legal':8C 'aid':9C",
        );
        program(
            &mut ix,
            2,
            "Hotline",
            here,
            &[],
            "'hotlin':1A 'legal':3C 'aid':4C",
        );
        program(
            &mut ix,
            3,
            "Immigration project",
            here,
            &[],
            "'immigr':1A 'project':2A 'legal':4C 'aid':5C",
        );
        about_immigration(&mut ix);
        let needs = [Words::parse("'legal' <-> 'aid'").unwrap()];
        let related = [Related {
            words: Words::parse("'legal'").unwrap(),
            general: Some("legal-aid"),
        }];
        let mut ask = near_pikeville(&needs);
        ask.related = &related;
        let order = |ix: &Index, ask: &Ask<'_>| -> Vec<u128> {
            let (found, _) = ix.search(ask, 0, 10);
            found.iter().map(|f| f.id.as_u128() / 1000).collect()
        };
        // Legal aid for one problem: the best match first.
        assert_eq!(order(&ix, &ask)[0], 1);
        // "abogado gratis": the line for anyone first, then the office for one place; the
        // project for one other problem last.
        ask.front_doors = true;
        assert_eq!(order(&ix, &ask), vec![2, 1, 3]);
        // Another organization's "Hotline", as near: each name once before the second of one.
        program(
            &mut ix,
            4,
            "Hotline",
            here,
            &[],
            "'hotlin':1A 'legal':3C 'aid':4C",
        );
        assert_eq!(order(&ix, &ask), vec![2, 1, 3, 4]);
    }

    #[test]
    fn a_rare_word_counts_more_than_one_every_program_says() {
        let mut ix = Index::empty(1);
        let here = Some((37.48, -82.52));
        program(
            &mut ix,
            1,
            "Legal Aid Legal Clinic",
            here,
            &[],
            "'legal':1A,3A 'aid':2A 'clinic':4A",
        );
        program(
            &mut ix,
            2,
            "Lawyer Referral Service",
            here,
            &[],
            "'lawyer':1A 'referr':2A 'servic':3A",
        );
        for n in 3..6 {
            program(
                &mut ix,
                n,
                "Legal Hotline",
                here,
                &[],
                "'legal':1A 'hotlin':2A",
            );
        }
        let needs = [Words::parse("'lawyer' | 'legal'").unwrap()];
        let (found, _) = ix.search(&near_pikeville(&needs), 0, 10);
        // "legal" twice in a name is worth less than "lawyer" once, when most programs say
        // "legal".
        assert_eq!(found[0].id.as_u128() / 1000, 2);
        assert_eq!(found[1].id.as_u128() / 1000, 1);
    }

    #[test]
    fn a_match_outside_what_the_best_matches_are_about_counts_half() {
        let mut ix = Index::empty(1);
        let in_categories = |ix: &mut Index, ids: &[&str]| {
            let mut c: Vec<Sym> = ids.iter().map(|id| ix.symbols.add(id)).collect();
            c.sort_unstable();
            let entry = ix.entries.last_mut().unwrap();
            entry.categories = c.into();
            entry.topics = topics_of(ids);
        };
        // Next door, a hygiene closet that calls itself a pantry.
        program(
            &mut ix,
            1,
            "Hygiene Pantry",
            Some((37.4793, -82.5188)),
            &[],
            "'hygien':1A 'pantri':2A",
        );
        in_categories(&mut ix, &["clothing-household", "hygiene"]);
        // Food pantries ten miles off, their categories saying so too.
        for (n, lat) in [(2, 37.62), (3, 37.63), (4, 37.64)] {
            program(
                &mut ix,
                n,
                "Emergency Food Pantry",
                Some((lat, -82.5188)),
                &[],
                "'emerg':1A 'food':2A,4B 'pantri':3A,5B",
            );
            in_categories(&mut ix, &["food", "food-pantries"]);
        }
        let needs = [Words::parse("'pantri'").unwrap()];
        let (found, _) = ix.search(&near_pikeville(&needs), 0, 10);
        let order: Vec<u128> = found.iter().map(|f| f.id.as_u128() / 1000).collect();
        assert_eq!(order, vec![2, 3, 4, 1]);
        // Asked for what it is, it comes first.
        let needs = [Words::parse("'hygien' | 'pantri'").unwrap()];
        let (found, _) = ix.search(&near_pikeville(&needs), 0, 10);
        assert_eq!(found[0].id.as_u128() / 1000, 1);
    }

    #[test]
    fn a_need_nearly_every_program_meets_is_not_required_beside_another() {
        let mut ix = Index::empty(1);
        let here = Some((37.48, -82.52));
        for n in 1..4 {
            program(
                &mut ix,
                n,
                "Legal Hotline",
                here,
                &[],
                "'legal':1A 'hotlin':2A",
            );
        }
        program(
            &mut ix,
            4,
            "Legal Help for Seniors",
            here,
            &[],
            "'legal':1A 'help':2A 'senior':4A",
        );
        // A legal aid program that never says "legal".
        program(
            &mut ix,
            5,
            "Suburban Seniors",
            here,
            &[],
            "'suburban':1A 'senior':2A",
        );
        let needs = [
            Words::parse("'lawyer' | 'legal'").unwrap(),
            Words::parse("'senior'").unwrap(),
        ];
        let mut ask = near_pikeville(&needs);
        // Only programs meeting every need, as soon as there is one.
        ask.every_need_from = 1;
        let (found, total) = ix.search(&ask, 0, 10);
        let order: Vec<u128> = found.iter().map(|f| f.id.as_u128() / 1000).collect();
        // "legal" is in four of five programs: the seniors' programs meet both needs, the
        // one that says "legal" first; the hotlines meet one.
        assert_eq!((order, total), (vec![4, 5], 2));
        // Asked alone, "legal" is what the resident wants.
        let (found, _) = ix.search(&near_pikeville(&needs[..1]), 0, 10);
        let order: Vec<u128> = found.iter().map(|f| f.id.as_u128() / 1000).collect();
        assert_eq!(order.len(), 4);
        assert!(!order.contains(&5));
    }

    #[test]
    fn nearby_description_matches_beat_far_name_matches_and_statewide_programs_count_as_near() {
        let mut ix = Index::empty(1);
        // A statewide hotline with its office in Louisville, 140 miles off: found because it
        // serves the state, it counts as a few miles away, not as far as its office.
        program(
            &mut ix,
            1,
            "Tenant Hotline",
            Some((38.2527, -85.7585)),
            &["KY"],
            "'hotlin':2A 'tenant':1A",
        );
        // Next door, the word only in its description.
        program(
            &mut ix,
            2,
            "Housing Desk",
            Some((37.4793, -82.5188)),
            &[],
            "'desk':2A 'hous':1A 'tenant':5C",
        );
        // 15 miles off, the word only in its description.
        program(
            &mut ix,
            3,
            "Aid Office",
            Some((37.6900, -82.5188)),
            &[],
            "'aid':1A 'tenant':4C",
        );
        // Far away, in its name, serving no area: not found at all.
        program(
            &mut ix,
            4,
            "Tenant Union",
            Some((38.0406, -84.5037)),
            &[],
            "'tenant':1A 'union':2A",
        );
        let needs = [Words::parse("'tenant'").unwrap()];
        let (found, total) = ix.search(&near_pikeville(&needs), 0, 10);
        let order: Vec<u128> = found.iter().map(|f| f.id.as_u128() / 1000).collect();
        assert_eq!((order, total), (vec![2, 1, 3], 3));
        assert!(found[1].serves_area && !found[0].serves_area);
    }

    #[test]
    fn a_program_of_no_known_place_that_names_the_county_comes_before_its_twins() {
        // A feed with no addresses (ILAO's): one self-help center per county, the county only
        // in the name. Alphabetically Adair comes first; near Pikeville, Pike's does, and the
        // other counties' come after one for everyone.
        let mut ix = Index::empty(1);
        for (service, county) in [(1, "adair"), (2, "pike"), (3, "boyd")] {
            program(
                &mut ix,
                service,
                &format!("Legal forms in {county} County"),
                None,
                &[],
                &format!("'{county}':4A 'counti':5A 'form':2A 'legal':1A"),
            );
        }
        // One for everyone comes before other counties' own, as does one for every county.
        program(
            &mut ix,
            4,
            "Legal forms for everyone",
            None,
            &[],
            "'everyon':4A 'form':2A 'legal':1A",
        );
        program(
            &mut ix,
            5,
            "Legal forms for all counties",
            None,
            &[],
            "'counti':5A 'form':2A 'legal':1A",
        );
        for e in &mut ix.entries {
            e.state = None;
        }
        let needs = [Words::parse("'form'").unwrap()];
        let county = Words::parse("'pike'").unwrap();
        let mut ask = near_pikeville(&needs);
        if let Some(o) = ask.origin.as_mut() {
            o.county_words = Some(&county);
        }
        let (found, total) = ix.search(&ask, 0, 10);
        let order: Vec<u128> = found.iter().map(|f| f.id.as_u128() / 1000).collect();
        assert_eq!((order, total), (vec![2, 5, 4, 1, 3], 5));
    }

    #[test]
    fn a_program_of_no_known_place_named_for_another_state_is_not_found_here() {
        assert_eq!(
            states_named("legal help for immigration in indiana"),
            ["IN"]
        );
        assert_eq!(
            states_named("legal help for immigration in illinois, indiana and wisconsin"),
            ["IL", "IN", "WI"]
        );
        assert_eq!(states_named("legal aid in west virginia"), ["WV"]);
        for region_or_place in [
            "legal help for domestic abuse in central illinois",
            "legal clinic in washington park",
            "help in ok",
            "clinic in new york and",
            "help for indiana residents",
        ] {
            assert!(
                states_named(region_or_place).is_empty(),
                "{region_or_place}"
            );
        }

        // A feed that gives no place: the name is read when the program is added.
        let mut ix = Index::empty(1);
        for (service, name) in [
            (1, "Legal help for immigration in Indiana"),
            (2, "Legal help for immigration in Kentucky and Indiana"),
            (3, "Legal help for immigration in Central Kentucky"),
        ] {
            let no_place = Entry {
                state: None,
                ..entry(&mut ix, service, name, None, &[])
            };
            ix.push(no_place, "'immigr':4A 'legal':1A");
        }
        let needs = [Words::parse("'immigr'").unwrap()];
        let mut ask = near_pikeville(&needs);
        let found = |ix: &Index, ask: &Ask<'_>| -> Vec<u128> {
            let (found, _) = ix.search(ask, 0, 10);
            let mut ids: Vec<u128> = found.iter().map(|f| f.id.as_u128() / 1000).collect();
            ids.sort();
            ids
        };
        assert_eq!(found(&ix, &ask), vec![2, 3]);
        // With no place, the deployment's state.
        ask.origin = None;
        assert_eq!(found(&ix, &ask), vec![2, 3]);
    }

    #[test]
    fn a_program_for_a_part_of_the_state_comes_first_there_and_after_elsewhere() {
        assert_eq!(
            part_of_state_named("legal help for domestic abuse in sw illinois"),
            Some(("IL", Some(0), Some(0)))
        );
        assert_eq!(
            part_of_state_named("legal help in southern illinois"),
            Some(("IL", Some(0), None))
        );
        assert_eq!(
            part_of_state_named("legal help in central illinois"),
            Some(("IL", Some(1), Some(1)))
        );
        assert_eq!(
            part_of_state_named("legal help in north central kentucky"),
            Some(("KY", Some(2), Some(1)))
        );
        for not_a_part in [
            "legal help in illinois",
            "legal help in the north",
            "legal help in western springs",
            "legal help in central",
        ] {
            assert_eq!(part_of_state_named(not_a_part), None, "{not_a_part}");
        }

        // Near Pikeville, in the east of Kentucky: the eastern program first, then the one for
        // everyone, then the western one, as if in another county.
        let mut ix = Index::empty(1);
        for (service, name) in [
            (1, "Legal help in Western Kentucky"),
            (2, "Legal help in Eastern Kentucky"),
            (3, "Legal help for everyone"),
        ] {
            let no_place = Entry {
                state: None,
                ..entry(&mut ix, service, name, None, &[])
            };
            ix.push(no_place, "'help':2A 'legal':1A");
        }
        ix.name_parts_of_states(&[("KY".into(), 36.54, 39.11, -89.19, -82.08)]);
        let needs = [Words::parse("'legal'").unwrap()];
        let (found, _) = ix.search(&near_pikeville(&needs), 0, 10);
        let order: Vec<u128> = found.iter().map(|f| f.id.as_u128() / 1000).collect();
        assert_eq!(order, vec![2, 3, 1]);
    }

    #[test]
    fn a_program_for_another_kind_of_person_counts_half() {
        assert_eq!(
            people_named(["summer", "meals", "for", "kids"].into_iter()),
            4
        );
        assert_eq!(people_named(["food", "pantry"].into_iter()), 0);
        assert_eq!(
            people_named(["meals", "for", "older", "adults"].into_iter()),
            1
        );
        let everyone = "shots for children and adults".split(' ');
        assert_eq!(people_named(everyone), 0);
        let mut ix = Index::empty(1);
        // Next door, but for older adults; the other three miles off, for anyone.
        program(
            &mut ix,
            1,
            "Food Pantry for Seniors",
            Some((37.4793, -82.5188)),
            &[],
            "'food':1A 'pantri':2A 'senior':4A",
        );
        program(
            &mut ix,
            2,
            "Food Pantry",
            Some((37.5228, -82.5188)),
            &[],
            "'food':1A 'pantri':2A",
        );
        let order = |ix: &Index, ask: &Ask<'_>| -> Vec<u128> {
            let (found, _) = ix.search(ask, 0, 10);
            found.iter().map(|f| f.id.as_u128() / 1000).collect()
        };
        let pantry = [Words::parse("'pantri'").unwrap()];
        assert_eq!(order(&ix, &near_pikeville(&pantry)), vec![2, 1]);
        // Asked for seniors, or with help for older adults next to the need ("for my mom"),
        // the nearer comes first.
        let for_seniors = [
            Words::parse("'pantri'").unwrap(),
            Words::parse("'senior'").unwrap(),
        ];
        assert_eq!(order(&ix, &near_pikeville(&for_seniors)), vec![1, 2]);
        let related = [Related {
            words: Words::parse("'senior' | 'older' <-> 'adult'").unwrap(),
            general: None,
        }];
        let mut ask = near_pikeville(&pantry);
        ask.related = &related;
        assert_eq!(order(&ix, &ask), vec![1, 2]);
    }

    #[test]
    fn programs_that_speak_the_residents_language_come_first_among_equals() {
        let mut ix = Index::empty(1);
        for (service, name) in [(1, "Aardvark Child Care"), (2, "Zebra Child Care")] {
            program(
                &mut ix,
                service,
                name,
                Some((37.4793, -82.5188)),
                &[],
                "'care':3A 'child':2A",
            );
        }
        let es = ix.symbols.add("es");
        ix.entries[1].languages = Box::new([es]);
        let needs = [Words::parse("'child' <-> 'care'").unwrap()];
        let order = |ask: &Ask<'_>| -> Vec<u128> {
            let (found, _) = ix.search(ask, 0, 10);
            found.iter().map(|f| f.id.as_u128() / 1000).collect()
        };
        let mut ask = near_pikeville(&needs);
        assert_eq!(order(&ask), vec![1, 2]);
        ask.spoken = Some("es");
        assert_eq!(order(&ask), vec![2, 1]);
    }

    #[test]
    fn a_program_only_for_its_own_countys_residents_comes_after_what_the_resident_can_use() {
        let mut ix = Index::empty(1);
        // Pike County's own pantry is 10 miles off; Floyd County's, for Floyd County's
        // residents only, is 3 miles off.
        for (service, name, point) in [
            (1, "Pike Pantry", (37.4793 + 0.145, -82.5188)),
            (2, "Floyd Pantry", (37.4793 + 0.0435, -82.5188)),
        ] {
            program(&mut ix, service, name, Some(point), &[], "'pantri':2A");
        }
        let (pike, floyd) = (ix.symbols.add("21195"), ix.symbols.add("21071"));
        ix.entries[0].county = Some(pike);
        ix.entries[1].county = Some(floyd);
        ix.entries[1].county_only = true;
        let needs = [Words::parse("'pantri'").unwrap()];
        let order = |ix: &Index, ask: &Ask<'_>| -> Vec<u128> {
            let (found, _) = ix.search(ask, 0, 10);
            found.iter().map(|f| f.id.as_u128() / 1000).collect()
        };
        let mut ask = near_pikeville(&needs);
        // Where the resident's county is not known, nearest first.
        assert_eq!(order(&ix, &ask), vec![2, 1]);
        // A Pike County resident: their own county's pantry first, Floyd's still shown.
        if let Some(o) = ask.origin.as_mut() {
            o.county_fips = Some("21195");
        }
        assert_eq!(order(&ix, &ask), vec![1, 2]);
        // A Floyd County resident: theirs, the nearer, first.
        if let Some(o) = ask.origin.as_mut() {
            o.county_fips = Some("21071");
        }
        assert_eq!(order(&ix, &ask), vec![2, 1]);
        // Floyd's pantry also serves Pike County: nearest first again.
        ix.entries[1].area_counties = Box::new([pike]);
        if let Some(o) = ask.origin.as_mut() {
            o.county_fips = Some("21195");
        }
        assert_eq!(order(&ix, &ask), vec![2, 1]);
    }

    #[test]
    fn a_program_of_no_known_place_for_a_town_comes_first_in_its_county_and_after_elsewhere() {
        let towns: HashMap<String, Vec<String>> = [
            ("rockford", "Winnebago, IL"),
            ("peoria", "Peoria, IL"),
            ("chicago", "Cook, IL"),
            ("rock island", "Rock Island, IL"),
            ("justice", "Cook, IL"),
            ("central", "Ascension, LA"),
        ]
        .into_iter()
        .map(|(t, c)| (t.to_string(), vec![c.to_string()]))
        .collect();
        // A town's name counts only where the words say the program is for it.
        assert_eq!(
            towns_named("rockford office - legal help for seniors", &towns),
            ["Winnebago, IL"]
        );
        assert_eq!(
            towns_named("rock island office - legal help", &towns),
            ["Rock Island, IL"]
        );
        assert_eq!(
            towns_named("free immigration help for chicago residents", &towns),
            ["Cook, IL"]
        );
        assert!(towns_named("legal help in central illinois", &towns).is_empty());
        assert!(towns_named("justice entrepreneurs project", &towns).is_empty());
        assert!(towns_named("legal advocates for seniors", &towns).is_empty());

        let mut ix = Index::empty(1);
        for (service, name) in [
            (1, "Peoria Office - Legal help for seniors"),
            (2, "Legal advocates for seniors"),
            (3, "Rockford Office - Legal help for seniors"),
        ] {
            program(&mut ix, service, name, None, &[], "'senior':2A");
        }
        for e in ix.entries.iter_mut() {
            e.state = None;
        }
        ix.name_towns(&towns);
        let needs = [Words::parse("'senior'").unwrap()];
        let order = |ix: &Index, county: Option<&str>| -> Vec<u128> {
            let mut ask = near_pikeville(&needs);
            if let Some(o) = ask.origin.as_mut() {
                o.county = county;
                o.state = Some("IL");
            }
            let (found, _) = ix.search(&ask, 0, 10);
            found.iter().map(|f| f.id.as_u128() / 1000).collect()
        };
        // From Rockford's county: its office, then help for anyone, then another town's.
        assert_eq!(order(&ix, Some("Winnebago")), vec![3, 2, 1]);
        // From a county no program names: help for anyone first.
        assert_eq!(order(&ix, Some("McLean")), vec![2, 1, 3]);
        // Where the resident's county is not known, nothing is held back (best match, then
        // name).
        assert_eq!(order(&ix, None), vec![2, 1, 3]);
    }

    #[test]
    fn several_locations_of_a_program_are_one_card_at_the_nearest() {
        let mut ix = Index::empty(1);
        program(
            &mut ix,
            7,
            "Food Pantry",
            Some((37.5500, -82.5188)),
            &[],
            "'food':1A 'pantri':2A",
        );
        program(
            &mut ix,
            7,
            "Food Pantry",
            Some((37.4900, -82.5188)),
            &[],
            "'food':1A 'pantri':2A",
        );
        program(
            &mut ix,
            8,
            "Meals",
            Some((37.5000, -82.5188)),
            &[],
            "'food':3C 'meal':1A",
        );
        let needs = [Words::parse("'food' <-> 'pantri' | 'food'").unwrap()];
        let (found, total) = ix.search(&near_pikeville(&needs), 0, 10);
        assert_eq!(total, 2);
        assert_eq!(found[0].locations, 2);
        assert_eq!(
            found[0].id,
            Uuid::from_u128(7 * 1000 + 1),
            "the nearer location"
        );
        assert!(found[0].miles.unwrap() < 1.0);
        // Pages do not overlap.
        let (second, _) = ix.search(&near_pikeville(&needs), 1, 1);
        assert_eq!(second[0].id.as_u128() / 1000, 8);
    }

    #[test]
    fn a_read_that_began_before_an_import_is_not_kept() {
        let k = "held-epoch-test";
        held().lock().unwrap().insert(k.into(), empty_slot());
        let (_, epoch) = slot(k);
        // An import in this process finishes while the read is under way.
        forget_database(k);
        store(k, Arc::new(Index::empty(1)), epoch);
        assert!(
            slot(k).0.is_none(),
            "the read from before the import is dropped"
        );
        let (_, epoch) = slot(k);
        store(k, Arc::new(Index::empty(3)), epoch);
        // A slower read of an older generation does not replace a newer one.
        store(k, Arc::new(Index::empty(2)), epoch);
        assert_eq!(slot(k).0.unwrap().generation, 3);
    }
}
