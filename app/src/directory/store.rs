//! The directory's SQL: resolving places, searching, and reading one program with its three
//! sections. Every value a resident typed reaches Postgres as a bound parameter.

use super::categories::CategoryTree;
use super::held::{self, Words};
use super::hours::WeeklyHours;
use super::model::*;
use super::query::{Field, FieldError, Place, Problem, SearchQuery, Sort};
use super::understand;
use super::DirectoryError;
use crate::config::Deployment;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, QueryBuilder, Row};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use uuid::Uuid;

const METERS_PER_MILE: f64 = 1609.344;

/// A county of the deployment's state named among the words when no place was given: how it
/// was named ("Cook County"), the place, and the rest of the words.
async fn county_in_words(
    pool: &PgPool,
    keywords: Option<&str>,
    deployment: &Deployment,
) -> Result<Option<(String, ResolvedPlace, String)>, DirectoryError> {
    let state = [
        deployment.region.state.as_str(),
        deployment.region.state_name.as_str(),
    ];
    let readings = understand::counties_named(keywords.unwrap_or_default(), &state);
    if readings.is_empty() {
        return Ok(None);
    }
    // Every reading is asked in one round trip, however many times the words say "county".
    // Compared as the words are read: "St. Clair" and "O'Brien" as "st clair" and "obrien".
    let names: Vec<&str> = readings.iter().map(|(c, _)| c.as_str()).collect();
    let counties: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT ON (read) read, county
         FROM (SELECT county, trim(regexp_replace(translate(lower(county), $3, ''), '[^[:alnum:]]+', ' ', 'g')) AS read
               FROM places WHERE state = $1) p
         WHERE read = ANY($2)",
    )
    .bind(&deployment.region.state)
    .bind(&names)
    .bind("'’")
    .fetch_all(pool)
    .await?;
    let found = readings.into_iter().find_map(|(read, rest)| {
        counties
            .iter()
            .find(|(r, _)| *r == read)
            .map(|(_, county)| (county.clone(), rest))
    });
    let Some((county, rest)) = found else {
        return Ok(None);
    };
    let named = format!("{county} County");
    let place = resolve_place(pool, &Place::Named(named.clone()), deployment).await?;
    Ok(Some((named, place, rest)))
}

fn unknown_place() -> DirectoryError {
    DirectoryError::Invalid(vec![FieldError {
        field: Field::Place,
        problem: Problem::UnknownPlace,
    }])
}

/// Turns what the resident typed (ZIP, county, city, or the phone's position) into a point and
/// the county/state whose area-wide programs apply there.
pub async fn resolve_place(
    pool: &PgPool,
    place: &Place,
    deployment: &Deployment,
) -> Result<ResolvedPlace, DirectoryError> {
    let state = deployment.region.state.as_str();
    // Places are reference data: the table is loaded from the ZIP file built into this binary
    // (`server migrate`), so a ZIP once found stays as it is for the life of the process. Most
    // searches name a ZIP, and each skips a round trip.
    type Kept = HashMap<String, ResolvedPlace>;
    static ZIPS: OnceLock<Mutex<Kept>> = OnceLock::new();
    const KEPT_ZIPS: usize = 50_000;
    let zips = ZIPS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Place::Zip(zip) = place {
        if let Some(found) = zips.lock().unwrap_or_else(|e| e.into_inner()).get(zip) {
            return Ok(found.clone());
        }
    }
    let row: Option<PgRow> = match place {
        Place::Zip(zip) => {
            sqlx::query(
                "SELECT zip || ' (' || city || ', ' || state || ')' AS label, latitude, longitude, state, county_fips, county, zip
                 FROM places WHERE zip = $1",
            )
            .bind(zip)
            .fetch_optional(pool)
            .await?
        }
        Place::Point { latitude, longitude } => {
            // The nearest ZIP says which county and state the phone is in.
            sqlx::query(
                "SELECT NULL::text AS label, $1::float8 AS latitude, $2::float8 AS longitude, state, county_fips, county, zip
                 FROM places
                 ORDER BY ll_to_earth(latitude, longitude) <-> ll_to_earth($1, $2) LIMIT 1",
            )
            .bind(latitude)
            .bind(longitude)
            .fetch_optional(pool)
            .await?
        }
        Place::Named(name) => {
            let (name, in_state) = split_state(name, state);
            let county = name.strip_suffix(" county").or_else(|| name.strip_suffix(" co"));
            let by_city = || {
                sqlx::query(
                    "SELECT min(city) || ', ' || state AS label, avg(latitude) AS latitude, avg(longitude) AS longitude,
                            state, mode() WITHIN GROUP (ORDER BY county_fips) AS county_fips,
                            mode() WITHIN GROUP (ORDER BY county) AS county, NULL::text AS zip
                     FROM places WHERE lower(city) = $1 AND state = $2 GROUP BY state",
                )
                .bind(name.clone())
                .bind(in_state.clone())
            };
            let by_county = |county: String| {
                sqlx::query(
                    "SELECT min(county) || ' County, ' || state AS label, avg(latitude) AS latitude, avg(longitude) AS longitude,
                            state, min(county_fips) AS county_fips, min(county) AS county, NULL::text AS zip
                     FROM places WHERE lower(county) = $1 AND state = $2 GROUP BY state",
                )
                .bind(county)
                .bind(in_state.clone())
            };
            match county {
                Some(county) => by_county(county.trim().to_string()).fetch_optional(pool).await?,
                None => match by_city().fetch_optional(pool).await? {
                    Some(row) => Some(row),
                    None => by_county(name.clone()).fetch_optional(pool).await?,
                },
            }
        }
    };
    let row = row.ok_or_else(unknown_place)?;
    let latitude: f64 = row.try_get("latitude")?;
    let longitude: f64 = row.try_get("longitude")?;
    let label: Option<String> = row.try_get("label")?;
    let resolved = ResolvedPlace {
        label: label.unwrap_or_default(),
        latitude,
        longitude,
        state: row.try_get("state")?,
        county_fips: row.try_get("county_fips")?,
        county: row.try_get("county")?,
        zip: row.try_get("zip")?,
    };
    if let Place::Zip(zip) = place {
        let mut kept = zips.lock().unwrap_or_else(|e| e.into_inner());
        // Only found ZIPs are kept, and never more than there are ZIPs.
        if kept.len() >= KEPT_ZIPS {
            kept.clear();
        }
        kept.insert(zip.clone(), resolved.clone());
    }
    Ok(resolved)
}

/// "Bowling Green, KY" → ("bowling green", "KY"); without a state, the deployment's.
fn split_state(name: &str, default_state: &str) -> (String, String) {
    let lower = name.trim().to_lowercase();
    if let Some((place, st)) = lower.rsplit_once(',') {
        let st = st.trim();
        if st.len() == 2 && st.chars().all(|c| c.is_ascii_alphabetic()) {
            return (place.trim().to_string(), st.to_uppercase());
        }
    }
    (lower, default_state.to_string())
}

/// Words the search corrects: in neither the directory's vocabulary (the words of its names,
/// categories and descriptions) nor an English dictionary (so "finish" is never turned into
/// "find"), at least four letters. Each is replaced by the closest vocabulary word, when one
/// is close enough.
pub async fn correct_words(
    pool: &PgPool,
    words: &[String],
) -> Result<Vec<(String, String)>, DirectoryError> {
    let unknown: Vec<String> = words
        .iter()
        .filter(|w| w.chars().count() >= 4 && w.chars().all(|c| c.is_ascii_alphabetic()))
        .filter(|w| !super::dictionary::is_word(w))
        .cloned()
        .collect();
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT w, (SELECT word FROM search_words WHERE word % w ORDER BY levenshtein(word, w), similarity(word, w) DESC, word LIMIT 1) AS best
         FROM unnest($1::text[]) AS w
         WHERE NOT EXISTS (SELECT 1 FROM search_words WHERE word = w)",
    )
    .bind(&unknown)
    .fetch_all(pool)
    .await?;
    let mut fixes = Vec::new();
    for row in rows {
        let (typed, best): (String, Option<String>) = (row.try_get("w")?, row.try_get("best")?);
        if let Some(best) = best {
            fixes.push((typed, best));
        }
    }
    Ok(fixes)
}

/// A search read and resolved: the place, the words understood (corrected, "free" taken as
/// the filter), the text queries.
struct Prepared {
    query: SearchQuery,
    origin: Option<ResolvedPlace>,
    /// The place's county name, as words.
    county_words: Option<Words>,
    /// One per need that has searchable words.
    needs: Vec<Words>,
    /// Help next to the needs, shown after the programs that meet one: each kind once.
    related: Vec<held::Related>,
    /// The words ask for a kind of help in general (`Understood::front_doors`).
    front_doors: bool,
    corrected_keywords: Option<String>,
    free_from_words: bool,
    /// The words were Spanish: programs that speak it come first among equals.
    spanish: bool,
}

async fn prepare(
    pool: &PgPool,
    query: &SearchQuery,
    deployment: &Deployment,
) -> Result<Prepared, DirectoryError> {
    let mut query = query.clone();
    let mut understood = query.keywords.as_deref().map(understand::understand);
    // Spanish is read from all the words ("vivienda condado de fayette" is Spanish even
    // once the county is taken out).
    let spanish = understood.as_ref().is_some_and(|u| u.spanish);
    // "legal help for seniors cook county": the county is the place, not words to find.
    let mut county_named = None;
    let origin = match &query.place {
        Some(place) => Some(resolve_place(pool, place, deployment).await?),
        None => match county_in_words(pool, query.keywords.as_deref(), deployment).await? {
            Some((county, place, rest)) => {
                query.place = Some(Place::Named(county.clone()));
                query.keywords = (!rest.is_empty()).then_some(rest);
                understood = query.keywords.as_deref().map(understand::understand);
                county_named = Some(county);
                Some(place)
            }
            None => None,
        },
    };
    // A word that is in neither the directory nor a dictionary finds nothing as typed: it is
    // corrected to the closest directory word (never in a Spanish query, never when the
    // resident asked for their words exactly), and the page says so.
    let mut corrected_keywords = None;
    if let (Some(u), false) = (&understood, query.exact) {
        if !spanish {
            let fixes = correct_words(pool, &u.plain_words).await?;
            if !fixes.is_empty() {
                let keywords = query.keywords.clone().unwrap_or_default();
                let fixed = understand::words(&keywords)
                    .into_iter()
                    .map(|w| {
                        fixes
                            .iter()
                            .find(|(typed, _)| *typed == w)
                            .map_or(w, |(_, best)| best.clone())
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                understood = Some(understand::understand(&fixed));
                // What the page says was searched keeps the county the words named.
                corrected_keywords = Some(match &county_named {
                    Some(county) => format!("{fixed} {}", county.to_lowercase()),
                    None => fixed,
                });
            }
        }
    }
    // "free" among the words is the free filter (the page says so).
    let free_from_words = understood.as_ref().is_some_and(|u| u.free) && !query.free_only;
    query.free_only |= free_from_words;
    // A resident's search names a few needs; past eight (only possible by pasting a
    // paragraph) the rest are left out, which bounds a search's work.
    const MOST_NEEDS: usize = 8;
    // The needs and the related help (last), parsed in one round trip.
    let (needs, related) = match &understood {
        Some(u) => {
            let mut asked = u.needs[..u.needs.len().min(MOST_NEEDS)].to_vec();
            let needs = asked.len();
            if needs > 0 {
                asked.extend(u.related.iter().map(|r| r.phrases.to_vec()));
            }
            let mut parsed = text_query(pool, &asked).await?;
            let related = parsed
                .split_off(needs)
                .into_iter()
                .zip(&u.related)
                .filter_map(|(words, r)| {
                    Some(held::Related {
                        words: words?,
                        general: r.general,
                    })
                })
                .collect();
            (parsed.into_iter().flatten().collect(), related)
        }
        None => (Vec::new(), Vec::new()),
    };
    // The county's name as the index holds words, for programs that name it but give no place.
    let county_words = match origin.as_ref().and_then(|o| o.county.clone()) {
        Some(county) => text_query(pool, &[vec![county]]).await?.pop().flatten(),
        None => None,
    };
    let front_doors = understood.as_ref().is_some_and(|u| u.front_doors);
    Ok(Prepared {
        query,
        origin,
        county_words,
        needs,
        related,
        front_doors,
        corrected_keywords,
        free_from_words,
        spanish,
    })
}

impl Prepared {
    fn search<'a>(&'a self, deployment: &'a Deployment) -> Search<'a> {
        Search {
            query: &self.query,
            needs: self.needs.as_slice(),
            related: &self.related,
            front_doors: self.front_doors,
            origin: self.origin.as_ref(),
            county_words: self.county_words.as_ref(),
            spoken: self.spanish.then_some("es"),
            radius_m: self.query.radius_miles as f64 * METERS_PER_MILE,
            region: &deployment.region.state,
            page_size: deployment.search.page_size as usize,
        }
    }
}

/// How many programs a search finds (up to `MAX_COUNTED` + 1), without a page: "which filter
/// emptied the results" asks it once per filter.
pub async fn count(
    pool: &PgPool,
    query: &SearchQuery,
    deployment: &Deployment,
) -> Result<i64, DirectoryError> {
    let p = prepare(pool, query, deployment).await?;
    let index = held::current(pool).await?;
    // Programs that meet every need when there are any, else those that meet some.
    let (_, total) = index.search(&p.search(deployment).ask(1), 0, 0);
    Ok((total as i64).min(MAX_COUNTED + 1))
}

/// [`search`], answered from this minute's identical search when there was one (see
/// [`super::recent`]).
pub async fn search_recent(
    pool: &PgPool,
    query: &SearchQuery,
    deployment: &Deployment,
) -> Result<SearchResults, DirectoryError> {
    super::recent::results(pool, query, search(pool, query, deployment)).await
}

/// Which programs match and in what order is decided by this server's copy of the search
/// index ([`held`]); Postgres gives the page's cards.
pub async fn search(
    pool: &PgPool,
    query: &SearchQuery,
    deployment: &Deployment,
) -> Result<SearchResults, DirectoryError> {
    let p = prepare(pool, query, deployment).await?;
    let index = held::current(pool).await?;
    let search = p.search(deployment);
    let offset = (p.query.page.max(1) as usize - 1) * search.page_size;
    // Every word need not match: with fewer programs meeting every need than fill a page,
    // those meeting some of them follow.
    let (found, total) = index.search(&search.ask(search.page_size), offset, search.page_size);
    let cards = cards(pool, index.generation(), &found).await?;
    let total = total as i64;
    Ok(SearchResults {
        total: total.min(MAX_COUNTED),
        capped: total > MAX_COUNTED,
        page: p.query.page,
        page_size: deployment.search.page_size,
        cards,
        corrected_keywords: p.corrected_keywords,
        free_from_words: p.free_from_words,
        origin: p.origin,
    })
}

/// Counting stops here: "1,000+ results" says enough.
pub const MAX_COUNTED: i64 = 1000;

/// The needs as Postgres parses them (English stemming, accents ignored; each need matches by
/// any of its phrases), read back as text and parsed for the held index, in the order given.
/// One round trip. A need of stop words only ("the") has no searchable words: `None`.
async fn text_query(
    pool: &PgPool,
    needs: &[Vec<String>],
) -> Result<Vec<Option<Words>>, DirectoryError> {
    if needs.is_empty() {
        return Ok(Vec::new());
    }
    // The same words always parse the same way (the text search configuration is fixed by the
    // migrations): parsed words are kept, up to a bound, and a repeated search skips the trip.
    type Parsed = HashMap<Vec<Vec<String>>, Vec<Option<Words>>>;
    static PARSED: OnceLock<Mutex<Parsed>> = OnceLock::new();
    const KEPT: usize = 20_000;
    let parsed = PARSED.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(words) = parsed.lock().unwrap_or_else(|e| e.into_inner()).get(needs) {
        return Ok(words.clone());
    }
    let mut b = QueryBuilder::<sqlx::Postgres>::new("SELECT ARRAY[");
    for (i, need) in needs.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.push("(");
        for (j, phrase) in need.iter().enumerate() {
            if j > 0 {
                b.push(" || ");
            }
            b.push("phraseto_tsquery('english', unaccent(")
                .push_bind(phrase.clone())
                .push("))");
        }
        b.push(")::text");
    }
    b.push("]");
    let texts: Vec<String> = b.build_query_scalar().fetch_one(pool).await?;
    let words: Vec<Option<Words>> = texts.iter().map(|t| Words::parse(t)).collect();
    let mut kept = parsed.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() >= KEPT {
        kept.clear();
    }
    kept.insert(needs.to_vec(), words.clone());
    Ok(words)
}

/// One search, ready to ask of the held index.
struct Search<'a> {
    query: &'a SearchQuery,
    needs: &'a [Words],
    related: &'a [held::Related],
    front_doors: bool,
    origin: Option<&'a ResolvedPlace>,
    county_words: Option<&'a Words>,
    /// The language the words were in, when not English.
    spoken: Option<&'a str>,
    radius_m: f64,
    /// Searches with no place cover the deployment's state.
    region: &'a str,
    page_size: usize,
}

impl Search<'_> {
    /// Sorted by distance when asked (with a place), or by default when there are no words.
    fn by_distance(&self) -> bool {
        match self.query.sort {
            Some(Sort::Distance) => self.origin.is_some(),
            Some(Sort::Relevance) => false,
            None => self.needs.is_empty() && self.origin.is_some(),
        }
    }

    fn ask(&self, every_need_from: usize) -> held::Ask<'_> {
        held::Ask {
            needs: self.needs,
            related: self.related,
            front_doors: self.front_doors,
            category: self.query.category.as_deref(),
            open_now: self.query.open_now,
            free_only: self.query.free_only,
            age: self.query.age,
            language: self.query.language.as_deref(),
            spoken: self.spoken,
            origin: self.origin.map(|o| held::Origin {
                latitude: o.latitude,
                longitude: o.longitude,
                radius_m: self.radius_m,
                state: o.state.as_deref(),
                county_fips: o.county_fips.as_deref(),
                county_words: self.county_words,
                county: o.county.as_deref(),
                zip: o.zip.as_deref(),
                named: held::Origin::named(&self.query.place),
            }),
            region: self.region,
            by_distance: self.by_distance(),
            every_need_from,
        }
    }
}

/// The cards of a page of programs the held index (of `generation`) found, in its order:
/// those shown this minute from memory ([`super::recent::cards`]), the rest from Postgres. A
/// program the index still holds but an import has just removed is left out.
async fn cards(
    pool: &PgPool,
    generation: i64,
    found: &[held::Found],
) -> Result<Vec<ServiceCard>, DirectoryError> {
    let minute = super::recent::this_minute();
    let kept = super::recent::cards(pool, generation, minute, found.iter().map(|f| f.id));
    let missing: Vec<&held::Found> = found
        .iter()
        .zip(&kept)
        .filter(|(_, k)| k.is_none())
        .map(|(f, _)| f)
        .collect();
    let mut read: HashMap<Uuid, ServiceCard> = HashMap::new();
    if !missing.is_empty() {
        let cards = read_cards(pool, &missing).await?;
        super::recent::keep_cards(pool, generation, minute, &cards);
        read = cards.into_iter().map(|c| (c.id, c)).collect();
    }
    Ok(found
        .iter()
        .zip(kept)
        .filter_map(|(f, kept)| {
            let mut card = kept.or_else(|| read.remove(&f.id))?;
            card.distance_miles = f.miles;
            card.serves_area = f.serves_area;
            card.locations = f.locations;
            card.related = f.related;
            Some(card)
        })
        .collect())
}

/// Cards read from Postgres, in the order found.
async fn read_cards(
    pool: &PgPool,
    found: &[&held::Found],
) -> Result<Vec<ServiceCard>, DirectoryError> {
    let ids: Vec<Uuid> = found.iter().map(|f| f.id).collect();
    let miles: Vec<Option<f64>> = found.iter().map(|f| f.miles).collect();
    let serves_area: Vec<bool> = found.iter().map(|f| f.serves_area).collect();
    let locations: Vec<i64> = found.iter().map(|f| f.locations).collect();
    let sql = format!(
        "WITH hits AS (
            SELECT h.id, e.service_id, e.location_id, e.is_free, h.miles, h.serves_area, h.locations, h.nth,
                   CASE WHEN e.open_hours IS NULL THEN NULL ELSE e.open_hours @> minute_of_week(now(), e.timezone) END AS open_now
              FROM unnest($1::uuid[], $2::float8[], $3::bool[], $4::int8[]) WITH ORDINALITY AS h(id, miles, serves_area, locations, nth)
              JOIN search_entries e ON e.id = h.id
         ) {CARD_SELECT} ORDER BY hits.nth"
    );
    let rows = sqlx::query(&sql)
        .bind(&ids)
        .bind(&miles)
        .bind(&serves_area)
        .bind(&locations)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(card_from_row).collect::<Result<_, _>>()?)
}

/// Joins a page of hits (`hits` CTE: id, service_id, location_id, is_free, sort_name,
/// miles, open_now, serves_area, locations) to what a card shows.
const CARD_SELECT: &str = r#"
    SELECT hits.id, hits.is_free, hits.miles, hits.open_now, hits.serves_area, hits.locations, sv.name, o.name AS organization, sv.category_ids,
           coalesce(sal.phones -> 0, sv.phones -> 0, l.phones -> 0, o.phones -> 0) AS phone,
           l.address_1, l.address_2, l.city, l.state_province, l.postal_code,
           EXISTS (SELECT 1 FROM partner_organizations po
                    WHERE po.organization_id = o.id AND po.onboarded_at IS NOT NULL) AS is_partner,
           opening.now_minute, opening.opens_at
    FROM hits
    LEFT JOIN LATERAL (
        SELECT minute_of_week(now(), x.timezone) AS now_minute,
               next_opening(x.open_hours, minute_of_week(now(), x.timezone)) AS opens_at
          FROM search_entries x WHERE x.id = hits.id AND hits.open_now IS FALSE) opening ON true
    JOIN services sv ON sv.id = hits.service_id
    JOIN organizations o ON o.id = sv.organization_id
    LEFT JOIN service_at_locations sal ON sal.id = hits.id
    LEFT JOIN locations l ON l.id = hits.location_id
"#;

fn phone_from_json(v: Option<serde_json::Value>) -> Option<Phone> {
    let v = v?;
    let text = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    Some(Phone {
        number: text("number")?,
        extension: text("extension"),
        description: text("description"),
    })
}

fn address_from_row(row: &PgRow) -> Result<Option<Address>, sqlx::Error> {
    let a = Address {
        line1: row.try_get("address_1")?,
        line2: row.try_get("address_2")?,
        city: row.try_get("city")?,
        state: row.try_get("state_province")?,
        postal_code: row.try_get("postal_code")?,
    };
    Ok((!a.is_empty()).then_some(a))
}

fn card_from_row(row: &PgRow) -> Result<ServiceCard, sqlx::Error> {
    Ok(ServiceCard {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        organization: row.try_get("organization")?,
        category_ids: row.try_get("category_ids")?,
        distance_miles: row.try_get("miles")?,
        open_now: row.try_get("open_now")?,
        phone: phone_from_json(row.try_get("phone")?),
        address: address_from_row(row)?,
        is_free: row.try_get("is_free")?,
        serves_area: row.try_get("serves_area")?,
        related: false,
        locations: row.try_get("locations")?,
        is_partner: row.try_get("is_partner")?,
        opens: match (
            row.try_get::<Option<i32>, _>("now_minute")?,
            row.try_get::<Option<i32>, _>("opens_at")?,
        ) {
            (Some(now), Some(at)) => Some(NextOpening {
                now_minute: now,
                opens_at: at,
            }),
            _ => None,
        },
    })
}

fn json_list(v: &serde_json::Value, key: &str) -> Vec<String> {
    v.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|x| x.get(key).and_then(|s| s.as_str()))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Finds a program by its page id (a service at a location, or a location-less service) or by
/// its short share code. Returns the page id and the service it belongs to.
pub async fn find_program(
    pool: &PgPool,
    key: ProgramKey<'_>,
) -> Result<(Uuid, Uuid), DirectoryError> {
    const BY_ID: &str = "SELECT id, service_id FROM service_at_locations WHERE id = $1
                         UNION ALL SELECT id, id FROM services WHERE id = $1 LIMIT 1";
    const BY_CODE: &str = "SELECT id, service_id FROM service_at_locations WHERE share_code = $1
                           UNION ALL SELECT id, id FROM services WHERE share_code = $1 LIMIT 1";
    let row: Option<(Uuid, Uuid)> = match key {
        ProgramKey::Id(id) => sqlx::query_as(BY_ID).bind(id).fetch_optional(pool).await?,
        ProgramKey::ShareCode(code) => {
            sqlx::query_as(BY_CODE)
                .bind(code)
                .fetch_optional(pool)
                .await?
        }
    };
    row.ok_or(DirectoryError::NotFound)
}

#[derive(Clone, Copy, Debug)]
pub enum ProgramKey<'a> {
    Id(Uuid),
    ShareCode(&'a str),
}

pub async fn program(pool: &PgPool, id: Uuid, service_id: Uuid) -> Result<Program, DirectoryError> {
    let row = sqlx::query(
        r#"
        SELECT coalesce(sal.id, sv.id) AS id, coalesce(sal.share_code, sv.share_code) AS share_code,
               sv.name, sv.alternate_name, sv.description, sv.category_ids, sv.eligibility_description,
               sv.minimum_age, sv.maximum_age, sv.fees_description, sv.is_free, sv.application_process,
               sv.required_documents, sv.languages AS service_languages, sv.interpretation_services,
               sv.email, sv.url, sv.service_areas, sv.wait_time, sv.alert, sv.assured_date,
               (sv.active AND sv.status = 'active' AND coalesce(sal.active AND l.active, true)) AS active,
               CASE WHEN jsonb_array_length(coalesce(sal.schedules, '[]')) > 0 THEN sal.schedules
                    WHEN jsonb_array_length(sv.schedules) > 0 THEN sv.schedules
                    ELSE coalesce(l.schedules, '[]') END AS schedules,
               coalesce(sal.phones, '[]') || sv.phones || coalesce(l.phones, '[]') || o.phones AS phones,
               coalesce(l.languages, '[]') AS location_languages,
               e.open_hours IS NOT NULL AND e.open_hours @> minute_of_week(now(), e.timezone) AS open_now,
               o.id AS organization_id, o.name AS organization_name, o.description AS organization_description,
               o.website AS organization_website,
               EXISTS (SELECT 1 FROM partner_organizations po
                        WHERE po.organization_id = o.id AND po.onboarded_at IS NOT NULL) AS is_partner,
               l.id AS location_id, l.name AS location_name, l.latitude, l.longitude, l.transportation,
               l.address_1, l.address_2, l.city, l.state_province, l.postal_code
        FROM services sv
        LEFT JOIN service_at_locations sal ON sal.id = $1 AND sal.service_id = sv.id
        LEFT JOIN locations l ON l.id = sal.location_id
        JOIN organizations o ON o.id = sv.organization_id
        LEFT JOIN search_entries e ON e.id = $1
        WHERE sv.id = $2
        "#,
    )
    .bind(id)
    .bind(service_id)
    .fetch_optional(pool)
    .await?
    .ok_or(DirectoryError::NotFound)?;

    let schedules: serde_json::Value = row.try_get("schedules")?;
    let schedule_list = schedules.as_array().cloned().unwrap_or_default();
    let hours = WeeklyHours::from_schedules(&schedule_list);
    let mut phones: Vec<Phone> = Vec::new();
    let phone_json: serde_json::Value = row.try_get("phones")?;
    for p in phone_json.as_array().into_iter().flatten() {
        if let Some(phone) = phone_from_json(Some(p.clone())) {
            if !phones.iter().any(|x| x.number == phone.number) {
                phones.push(phone);
            }
        }
    }
    let mut languages = json_list(&row.try_get("service_languages")?, "name");
    for l in json_list(&row.try_get("location_languages")?, "name") {
        if !languages.contains(&l) {
            languages.push(l);
        }
    }
    let location_id: Option<Uuid> = row.try_get("location_id")?;
    let location = match location_id {
        Some(_) => Some(ProgramLocation {
            name: row.try_get("location_name")?,
            address: address_from_row(&row)?,
            latitude: row.try_get("latitude")?,
            longitude: row.try_get("longitude")?,
            transportation: row.try_get("transportation")?,
        }),
        None => None,
    };
    let open_now: bool = row.try_get("open_now")?;
    // Feed links are shown only if they are web addresses (a `javascript:` URL is not a link).
    let website = row
        .try_get::<Option<String>, _>("url")?
        .and_then(|u| web_link(&u));
    let organization_website = row
        .try_get::<Option<String>, _>("organization_website")?
        .and_then(|u| web_link(&u));
    Ok(Program {
        id: row.try_get("id")?,
        share_code: row.try_get("share_code")?,
        name: row.try_get("name")?,
        alternate_name: row.try_get("alternate_name")?,
        description: row.try_get("description")?,
        organization: OrganizationSummary {
            id: row.try_get("organization_id")?,
            name: row.try_get("organization_name")?,
            description: row.try_get("organization_description")?,
            website: organization_website.clone(),
            is_partner: row.try_get("is_partner")?,
        },
        category_ids: row.try_get("category_ids")?,
        eligibility: row.try_get("eligibility_description")?,
        minimum_age: row.try_get("minimum_age")?,
        maximum_age: row.try_get("maximum_age")?,
        fees: row.try_get("fees_description")?,
        is_free: row.try_get("is_free")?,
        application_process: row.try_get("application_process")?,
        required_documents: json_list(&row.try_get("required_documents")?, "document"),
        open_now: hours.as_ref().map(|_| open_now),
        hours,
        hours_notes: json_list(&schedules, "description"),
        languages,
        interpretation_services: row.try_get("interpretation_services")?,
        phones,
        email: row.try_get("email")?,
        website: website.or(organization_website),
        location,
        service_areas: json_list(&row.try_get("service_areas")?, "name"),
        wait_time: row.try_get("wait_time")?,
        alert: row.try_get("alert")?,
        last_verified: row.try_get("assured_date")?,
        active: row.try_get("active")?,
    })
}

/// The program page: the program and its three sections.
pub async fn program_page(
    pool: &PgPool,
    key: ProgramKey<'_>,
    paired_minimum_residents: i64,
) -> Result<ProgramPage, DirectoryError> {
    let (id, service_id) = find_program(pool, key).await?;
    let program = program(pool, id, service_id).await?;
    let here = program
        .location
        .as_ref()
        .and_then(|l| l.latitude.zip(l.longitude));
    let other_here = other_services_here(pool, id).await?;
    let subcategory = program.category_ids.first().cloned();
    let related = match &subcategory {
        Some(sub) => nearest_in_category(pool, sub, here, id, 5).await?,
        None => Vec::new(),
    };
    let mut paired = Vec::new();
    if let Some((_, sub)) = subcategory
        .as_deref()
        .and_then(|s| CategoryTree::get().sub(s))
    {
        for other in sub.often_with.iter().take(3) {
            let nearest = nearest_in_category(pool, other, here, id, 1)
                .await?
                .into_iter()
                .next();
            paired.push(PairedSuggestion {
                subcategory_id: other.clone(),
                nearest,
            });
        }
    }
    let paired_by_referrals =
        paired_by_referrals(pool, service_id, here, paired_minimum_residents).await?;
    Ok(ProgramPage {
        program,
        other_here,
        related,
        paired,
        paired_by_referrals,
    })
}

/// Programs residents referred here were also referred to (within 30 days), most residents
/// first, each at its location nearest this one. Only pairs shared by enough residents show,
/// so no one's referrals can be read off the page.
async fn paired_by_referrals(
    pool: &PgPool,
    service_id: Uuid,
    here: Option<(f64, f64)>,
    minimum: i64,
) -> Result<Vec<ServiceCard>, DirectoryError> {
    let (lat, lon) = match here {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let sql = format!(
        "WITH top AS (
            SELECT paired_service_id, residents FROM paired_services
             WHERE service_id = $1 AND residents >= $2 ORDER BY residents DESC, paired_service_id LIMIT 3),
         hits AS (
            SELECT DISTINCT ON (e.service_id) e.id, e.service_id, e.location_id, e.is_free, false AS serves_area, 1::bigint AS locations,
                   earth_distance(e.earth, ll_to_earth($3, $4)) / {METERS_PER_MILE} AS miles,
                   CASE WHEN e.open_hours IS NULL THEN NULL ELSE e.open_hours @> minute_of_week(now(), e.timezone) END AS open_now,
                   top.residents
              FROM search_entries e JOIN top ON top.paired_service_id = e.service_id
             ORDER BY e.service_id, e.earth <-> ll_to_earth($3, $4), e.id
         ) {CARD_SELECT} ORDER BY hits.residents DESC, hits.id"
    );
    let rows = sqlx::query(&sql)
        .bind(service_id)
        .bind(minimum)
        .bind(lat)
        .bind(lon)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(card_from_row).collect::<Result<_, _>>()?)
}

async fn other_services_here(pool: &PgPool, id: Uuid) -> Result<Vec<ServiceCard>, DirectoryError> {
    let sql = format!(
        "WITH hits AS (
            SELECT e.id, e.service_id, e.location_id, e.is_free, NULL::float8 AS miles, false AS serves_area, 1::bigint AS locations,
                   CASE WHEN e.open_hours IS NULL THEN NULL ELSE e.open_hours @> minute_of_week(now(), e.timezone) END AS open_now
            FROM search_entries e
            WHERE e.location_id = (SELECT location_id FROM search_entries WHERE id = $1) AND e.id <> $1
            ORDER BY e.name, e.id LIMIT 12
         ) {CARD_SELECT} ORDER BY sv.name, hits.id"
    );
    let rows = sqlx::query(&sql).bind(id).fetch_all(pool).await?;
    Ok(rows.iter().map(card_from_row).collect::<Result<_, _>>()?)
}

/// Programs in a category, nearest to `here` first (any order when the program has no place).
async fn nearest_in_category(
    pool: &PgPool,
    category: &str,
    here: Option<(f64, f64)>,
    except: Uuid,
    limit: i64,
) -> Result<Vec<ServiceCard>, DirectoryError> {
    let (lat, lon) = match here {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    // KNN on the earth cube: the GiST index walks outward from the point.
    let sql = format!(
        "WITH hits AS (
            SELECT e.id, e.service_id, e.location_id, e.is_free, false AS serves_area, 1::bigint AS locations,
                   earth_distance(e.earth, ll_to_earth($3, $4)) / {METERS_PER_MILE} AS miles,
                   CASE WHEN e.open_hours IS NULL THEN NULL ELSE e.open_hours @> minute_of_week(now(), e.timezone) END AS open_now
            FROM search_entries e
            WHERE e.category_ids @> ARRAY[$1]::text[] AND e.id <> $2
              AND e.location_id IS DISTINCT FROM (SELECT location_id FROM search_entries WHERE id = $2)
            ORDER BY e.earth <-> ll_to_earth($3, $4), e.id
            LIMIT $5
         ) {CARD_SELECT} ORDER BY hits.miles NULLS LAST, hits.id"
    );
    let rows = sqlx::query(&sql)
        .bind(category)
        .bind(except)
        .bind(lat)
        .bind(lon)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(card_from_row).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_state_code_is_split_off() {
        assert_eq!(
            split_state("Bowling Green, KY", "KY"),
            ("bowling green".into(), "KY".into())
        );
        assert_eq!(
            split_state("Cincinnati, oh", "KY"),
            ("cincinnati".into(), "OH".into())
        );
        assert_eq!(
            split_state("Franklin County", "KY"),
            ("franklin county".into(), "KY".into())
        );
    }
}

/// Programs by their page ids, in the order given (ids that are no longer there are left out).
pub async fn program_summaries(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Vec<ProgramSummary>> {
    sqlx::query_as(
        "SELECT b.id AS program_id, sv.name, o.name AS organization, sv.category_ids,
                EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = o.id
                          AND p.onboarded_at IS NOT NULL) AS receiver_onboarded,
                coalesce(sal.phones -> 0, sv.phones -> 0, o.phones -> 0) AS phone
           FROM unnest($1::uuid[]) WITH ORDINALITY AS b(id, n)
           LEFT JOIN service_at_locations sal ON sal.id = b.id
           JOIN services sv ON sv.id = coalesce(sal.service_id, b.id)
           JOIN organizations o ON o.id = sv.organization_id
          ORDER BY b.n",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}
