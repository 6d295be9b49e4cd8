//! The demo directory: a deterministic generator that writes an HSDS 3.0 tabular datapackage
//! (the same format a 211 sends), loaded through the normal importer. Kentucky scale: every
//! county, real ZIP codes and coordinates, ~12,000+ services. National scale (for benchmarks):
//! every US county, ~1.1 million services.
//!
//! Organizations, names and phone numbers are fictional (phones use the 555-01xx range that is
//! reserved for fiction); places are real.

pub mod accounts;
pub mod activity;
pub mod residents;

use crate::places::Place;
use anyhow::Context;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
struct Templates {
    provider: Vec<Provider>,
    template: Vec<Template>,
}

#[derive(Debug, Deserialize)]
struct Provider {
    kind: String,
    org_type: String,
    tax_status: String,
    #[serde(default)]
    per_county: f64,
    #[serde(default)]
    statewide: bool,
    #[serde(default)]
    count: u32,
    names: Vec<String>,
    description: String,
    website_slug: String,
}

#[derive(Debug, Deserialize)]
struct Template {
    /// Where the template's AIRS code should land; a unit test holds the two together.
    #[allow(dead_code)]
    subcategory: String,
    airs_code: String,
    taxonomy_name: String,
    providers: Vec<String>,
    weight: u32,
    names: Vec<String>,
    description: String,
    eligibility: String,
    min_age: Option<u32>,
    max_age: Option<u32>,
    fee: String,
    application_process: String,
    #[serde(default)]
    required_documents: Vec<String>,
    schedule: String,
    area: String,
    #[serde(default)]
    languages: Vec<String>,
}

fn templates() -> Templates {
    toml::from_str(include_str!("templates.toml"))
        .expect("templates.toml is checked by a unit test")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Kentucky,
    National,
}

/// Area development districts of Kentucky, by a town near their centre: a county belongs to
/// the nearest. Gives organizations regional names ("Pennyrile ...").
const KY_REGIONS: &[(&str, f64, f64)] = &[
    ("Purchase", 37.08, -88.60),
    ("Pennyrile", 36.87, -87.49),
    ("Green River", 37.77, -87.11),
    ("Barren River", 36.99, -86.44),
    ("Lincoln Trail", 37.69, -85.86),
    ("KIPDA", 38.25, -85.76),
    ("Northern Kentucky", 38.99, -84.63),
    ("Buffalo Trace", 38.64, -83.74),
    ("Gateway", 38.18, -83.43),
    ("FIVCO", 38.48, -82.64),
    ("Big Sandy", 37.67, -82.77),
    ("Kentucky River", 37.25, -83.19),
    ("Cumberland Valley", 37.13, -84.08),
    ("Lake Cumberland", 37.09, -84.60),
    ("Bluegrass", 38.04, -84.50),
];

const STREETS: &[&str] = &[
    "Main",
    "Broadway",
    "Maple",
    "Walnut",
    "High",
    "Court",
    "Church",
    "Market",
    "Mill",
    "Spring",
    "Elm",
    "Oak",
    "Cedar",
    "Poplar",
    "Chestnut",
    "Depot",
    "College",
    "Water",
    "Pike",
    "Lexington",
    "Louisville",
    "Center",
];
const SUFFIXES: &[&str] = &["St", "Ave", "Rd", "Dr", "Blvd", "Ln", "Way", "Pike"];

/// A county and its ZIP codes.
struct County {
    state: String,
    name: String,
    region: String,
    places: Vec<Place>,
}

fn counties(scale: Scale) -> Vec<County> {
    let places = match scale {
        Scale::Kentucky => crate::places::kentucky(),
        Scale::National => crate::places::all(),
    };
    let mut by_county: BTreeMap<(String, String), Vec<Place>> = BTreeMap::new();
    for p in places {
        if let Some(c) = p.county.clone() {
            by_county.entry((p.state.clone(), c)).or_default().push(p);
        }
    }
    by_county
        .into_iter()
        .map(|((state, name), places)| {
            let (lat, lon) = centroid(&places);
            let region = if state == "KY" {
                KY_REGIONS
                    .iter()
                    .min_by(|a, b| dist2(lat, lon, a.1, a.2).total_cmp(&dist2(lat, lon, b.1, b.2)))
                    .map(|r| r.0.to_string())
                    .unwrap_or_default()
            } else {
                format!("{name} Area")
            };
            County {
                state,
                name,
                region,
                places,
            }
        })
        .collect()
}

fn centroid(places: &[Place]) -> (f64, f64) {
    let n = places.len().max(1) as f64;
    (
        places.iter().map(|p| p.latitude).sum::<f64>() / n,
        places.iter().map(|p| p.longitude).sum::<f64>() / n,
    )
}

fn dist2(a: f64, b: f64, c: f64, d: f64) -> f64 {
    (a - c).powi(2) + (b - d).powi(2)
}

fn id(kind: &str, n: u64) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("wraparound-demo:{kind}:{n}").as_bytes(),
    )
    .to_string()
}

fn fill(pattern: &str, county: &County, city: &str) -> String {
    pattern
        .replace("{county}", &county.name)
        .replace("{region}", &county.region)
        .replace("{city}", city)
}

fn slug(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Kentucky area codes by region (western / central / eastern); elsewhere a fixed fictional one.
fn area_code(county: &County, lon: f64) -> &'static str {
    if county.state != "KY" {
        return "555";
    }
    if county.name == "Jefferson" || county.region == "KIPDA" {
        "502"
    } else if lon < -86.2 {
        "270"
    } else if lon > -83.9 {
        "606"
    } else {
        "859"
    }
}

/// Weekly hours of a schedule pattern: (days, opens, closes).
fn schedule_rules(pattern: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    match pattern {
        "weekday_9_5" => vec![("MO,TU,WE,TH,FR", "09:00", "17:00")],
        "weekday_8_430" => vec![("MO,TU,WE,TH,FR", "08:00", "16:30")],
        "weekday_evenings" => vec![("MO,TU,WE,TH", "17:30", "20:30")],
        "tue_thu_10_2" => vec![("TU,TH", "10:00", "14:00")],
        "mon_wed_fri_9_12" => vec![("MO,WE,FR", "09:00", "12:00")],
        "saturday_morning" => vec![("SA", "09:00", "12:00")],
        "daily_meals" => vec![
            ("MO,TU,WE,TH,FR,SA,SU", "11:00", "13:00"),
            ("MO,TU,WE,TH,FR,SA,SU", "17:00", "18:30"),
        ],
        "always_open" => vec![("MO,TU,WE,TH,FR,SA,SU", "00:00", "24:00")],
        _ => vec![],
    }
}

/// CSV writers for every table of the datapackage.
struct Package {
    tables: BTreeMap<&'static str, csv::Writer<std::io::BufWriter<std::fs::File>>>,
}

const TABLES: &[(&str, &[&str])] = &[
    (
        "organizations",
        &[
            "id",
            "name",
            "alternate_name",
            "description",
            "email",
            "website",
            "tax_status",
            "tax_id",
            "year_incorporated",
            "legal_status",
        ],
    ),
    (
        "locations",
        &[
            "id",
            "location_type",
            "organization_id",
            "name",
            "description",
            "transportation",
            "latitude",
            "longitude",
        ],
    ),
    (
        "addresses",
        &[
            "id",
            "location_id",
            "address_1",
            "address_2",
            "city",
            "region",
            "state_province",
            "postal_code",
            "country",
            "address_type",
        ],
    ),
    (
        "services",
        &[
            "id",
            "organization_id",
            "name",
            "alternate_name",
            "description",
            "url",
            "email",
            "status",
            "application_process",
            "fees_description",
            "eligibility_description",
            "minimum_age",
            "maximum_age",
            "assured_date",
            "last_modified",
        ],
    ),
    (
        "service_at_location",
        &["id", "service_id", "location_id", "description"],
    ),
    (
        "phones",
        &[
            "id",
            "location_id",
            "service_id",
            "organization_id",
            "service_at_location_id",
            "number",
            "extension",
            "type",
            "description",
        ],
    ),
    (
        "schedules",
        &[
            "id",
            "service_id",
            "location_id",
            "service_at_location_id",
            "freq",
            "byday",
            "opens_at",
            "closes_at",
            "description",
        ],
    ),
    (
        "languages",
        &["id", "service_id", "location_id", "name", "code"],
    ),
    (
        "service_areas",
        &["id", "service_id", "name", "description", "extent_type"],
    ),
    ("required_documents", &["id", "service_id", "document"]),
    (
        "cost_options",
        &[
            "id",
            "service_id",
            "option",
            "currency",
            "amount",
            "amount_description",
        ],
    ),
    (
        "taxonomies",
        &["id", "name", "description", "uri", "version"],
    ),
    (
        "taxonomy_terms",
        &[
            "id",
            "code",
            "name",
            "description",
            "parent_id",
            "taxonomy",
            "language",
            "taxonomy_id",
            "term_uri",
        ],
    ),
    (
        "attributes",
        &[
            "id",
            "link_id",
            "taxonomy_term_id",
            "link_type",
            "link_entity",
            "value",
        ],
    ),
];

impl Package {
    fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut tables = BTreeMap::new();
        for (name, columns) in TABLES {
            let file = std::fs::File::create(dir.join(format!("{name}.csv")))?;
            let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
            w.write_record(*columns)?;
            tables.insert(*name, w);
        }
        let resources: Vec<serde_json::Value> = TABLES
            .iter()
            .map(|(name, _)| serde_json::json!({"name": name, "path": format!("{name}.csv"), "format": "csv"}))
            .collect();
        let package = serde_json::json!({
            "name": "wraparound-demo-directory",
            "title": "Wraparound demo directory (fictional organizations at real places)",
            "version": "3.0",
            "profile": "tabular-data-package",
            "resources": resources,
        });
        std::fs::write(
            dir.join("datapackage.json"),
            serde_json::to_vec_pretty(&package)?,
        )?;
        Ok(Package { tables })
    }

    fn row(&mut self, table: &'static str, values: &[&str]) -> anyhow::Result<()> {
        self.tables
            .get_mut(table)
            .context("unknown table")?
            .write_record(values)?;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        for w in self.tables.values_mut() {
            w.flush()?;
        }
        Ok(())
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub organizations: u64,
    pub locations: u64,
    pub services: u64,
    pub service_at_locations: u64,
    pub counties: u64,
}

struct Generator<'a> {
    rng: SmallRng,
    out: Package,
    templates: &'a Templates,
    summary: Summary,
    counter: u64,
}

impl Generator<'_> {
    fn next_id(&mut self, kind: &str) -> String {
        self.counter += 1;
        id(kind, self.counter)
    }

    /// Writes a row whose first column is a new id.
    fn write(&mut self, table: &'static str, kind: &str, rest: &[&str]) -> anyhow::Result<String> {
        let id = self.next_id(kind);
        let mut row = vec![id.as_str()];
        row.extend_from_slice(rest);
        self.out.row(table, &row)?;
        Ok(id)
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn phone(&mut self, county: &County, lon: f64) -> String {
        format!(
            "({}) 555-01{:02}",
            area_code(county, lon),
            self.rng.random_range(0..100)
        )
    }

    /// An organization with its offices (locations) in one county.
    fn provider(
        &mut self,
        p: &Provider,
        county: &County,
        offices: usize,
        services: usize,
    ) -> anyhow::Result<()> {
        let home = self.pick(&county.places).clone();
        let name = fill(self.pick(&p.names).as_str(), county, &home.city);
        let org_id = self.next_id("organization");
        let slug = format!("{}-{}", p.website_slug, slug(&county.name));
        let website = format!("https://{slug}.example.org");
        let email = format!("info@{slug}.example.org");
        let year = self.rng.random_range(1965..2020).to_string();
        let description = fill(&p.description, county, &home.city);
        self.out.row(
            "organizations",
            &[
                &org_id,
                &name,
                "",
                &description,
                &email,
                &website,
                &p.tax_status,
                "",
                &year,
                &p.org_type,
            ],
        )?;
        self.summary.organizations += 1;

        let mut locations = Vec::new();
        for i in 0..offices {
            let place = if i == 0 {
                home.clone()
            } else {
                self.pick(&county.places).clone()
            };
            let loc_id = self.next_id("location");
            let lat = place.latitude + self.rng.random_range(-0.015..0.015);
            let lon = place.longitude + self.rng.random_range(-0.015..0.015);
            let office = if i == 0 {
                format!("{name} – Main Office")
            } else {
                format!("{name} – {} Office", place.city)
            };
            let street = format!(
                "{} {} {}",
                self.rng.random_range(100..4999),
                self.pick(STREETS),
                self.pick(SUFFIXES)
            );
            let transportation = if self.rng.random_bool(0.3) {
                "On a local bus route. Free parking in the lot behind the building."
            } else {
                ""
            };
            self.out.row(
                "locations",
                &[
                    &loc_id,
                    "physical",
                    &org_id,
                    &office,
                    "",
                    transportation,
                    &format!("{lat:.5}"),
                    &format!("{lon:.5}"),
                ],
            )?;
            let suite = if self.rng.random_bool(0.2) {
                format!("Suite {}", self.rng.random_range(100..300))
            } else {
                String::new()
            };
            self.write(
                "addresses",
                "address",
                &[
                    &loc_id,
                    &street,
                    &suite,
                    &place.city,
                    &county.name,
                    &county.state,
                    &place.zip,
                    "US",
                    "physical",
                ],
            )?;
            let phone = self.phone(county, lon);
            self.write(
                "phones",
                "phone",
                &[&loc_id, "", "", "", &phone, "", "voice", "Front desk"],
            )?;
            locations.push((loc_id, place));
            self.summary.locations += 1;
        }

        // Services: several templates this kind of provider offers, more common ones more often.
        let offered: Vec<&Template> = self
            .templates
            .template
            .iter()
            .filter(|t| t.providers.contains(&p.kind))
            .collect();
        let mut chosen: Vec<&Template> = Vec::new();
        let total_weight: u32 = offered.iter().map(|t| t.weight).sum();
        let mut tries = 0;
        while chosen.len() < services.min(offered.len()) && tries < 200 && total_weight > 0 {
            tries += 1;
            let mut roll = self.rng.random_range(0..total_weight);
            let t = offered.iter().find(|t| {
                if roll < t.weight {
                    true
                } else {
                    roll -= t.weight;
                    false
                }
            });
            if let Some(t) = t {
                if !chosen.iter().any(|c| std::ptr::eq(*c, *t)) {
                    chosen.push(t);
                }
            }
        }
        for t in chosen {
            self.service(t, p, county, &org_id, &email, &website, &locations)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn service(
        &mut self,
        t: &Template,
        p: &Provider,
        county: &County,
        org_id: &str,
        email: &str,
        website: &str,
        locations: &[(String, Place)],
    ) -> anyhow::Result<()> {
        let service_id = self.next_id("service");
        let name = self.pick(&t.names).clone();
        let (fees, cost_amount) = if t.fee == "free" {
            ("Free".to_string(), Some("0"))
        } else {
            (t.fee.clone(), None)
        };
        let min_age = t.min_age.map(|a| a.to_string()).unwrap_or_default();
        let max_age = t.max_age.map(|a| a.to_string()).unwrap_or_default();
        let verified = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date")
            - chrono::Duration::days(self.rng.random_range(0..540));
        let url = format!("{website}/{}", slug(&name));
        self.out.row(
            "services",
            &[
                &service_id,
                org_id,
                &name,
                "",
                &t.description,
                &url,
                email,
                "active",
                &t.application_process,
                &fees,
                &t.eligibility,
                &min_age,
                &max_age,
                &verified.to_string(),
                &format!("{verified}T12:00:00Z"),
            ],
        )?;
        self.summary.services += 1;
        if let Some(amount) = cost_amount {
            self.write(
                "cost_options",
                "cost",
                &[&service_id, "Everyone", "USD", amount, "No charge"],
            )?;
        }
        for d in &t.required_documents {
            self.write("required_documents", "document", &[&service_id, d])?;
        }
        let mut languages: Vec<&str> = t.languages.iter().map(String::as_str).collect();
        if languages.is_empty() {
            languages.push("en");
        }
        if !languages.contains(&"es") && self.rng.random_bool(0.25) {
            languages.push("es");
        }
        if self.rng.random_bool(0.03) {
            languages.push(*self.pick(&["ar", "sw", "vi", "ne", "so", "uk", "fr", "zh"]));
        }
        for code in languages {
            let name = crate::hsds::values::language(code)["name"]
                .as_str()
                .unwrap_or(code)
                .to_string();
            self.write("languages", "language", &[&service_id, "", &name, code])?;
        }
        let area = match t.area.as_str() {
            "statewide" => Some(match county.state.as_str() {
                "KY" => "Statewide (Kentucky)".to_string(),
                st => format!("Statewide ({st})"),
            }),
            "county" => Some(format!("{} County, {}", county.name, county.state)),
            _ => None,
        };
        if let Some(area) = area {
            self.write("service_areas", "area", &[&service_id, &area, "", "text"])?;
        }
        let term = record_term(&t.airs_code);
        self.write(
            "attributes",
            "attribute",
            &[&service_id, &term, "", "service", &t.taxonomy_name],
        )?;
        for (days, opens, closes) in schedule_rules(&t.schedule) {
            self.write(
                "schedules",
                "schedule",
                &[&service_id, "", "", "WEEKLY", days, opens, closes, ""],
            )?;
        }
        if t.schedule == "by_appointment" {
            self.write(
                "schedules",
                "schedule",
                &[
                    &service_id,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "By appointment. Call to schedule.",
                ],
            )?;
        }
        // Where it is offered: statewide programs of statewide organizations may have no office.
        let at: usize = if locations.is_empty() {
            0
        } else if locations.len() > 1 && self.rng.random_bool(0.4) {
            2
        } else {
            1
        };
        for (loc_id, _) in locations.iter().take(at) {
            let sal_id = self.next_id("sal");
            self.out
                .row("service_at_location", &[&sal_id, &service_id, loc_id, ""])?;
            self.summary.service_at_locations += 1;
        }
        if self.rng.random_bool(0.35) {
            let lon = locations.first().map(|l| l.1.longitude).unwrap_or(-85.0);
            let phone = self.phone(county, lon);
            let ext = if self.rng.random_bool(0.3) {
                self.rng.random_range(10..400).to_string()
            } else {
                String::new()
            };
            self.write(
                "phones",
                "phone",
                &[
                    "",
                    &service_id,
                    "",
                    "",
                    &phone,
                    &ext,
                    "voice",
                    &format!("{name} line"),
                ],
            )?;
        }
        let _ = p;
        Ok(())
    }
}

/// The taxonomy term id of an AIRS code (one term per code used).
fn record_term(code: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("wraparound-demo:term:{code}").as_bytes(),
    )
    .to_string()
}

/// `seed-demo` plants accounts with a published password (a state administrator among them): it
/// may only do that to a demo database. One is a database whose directory is only the demo's
/// and that has no accounts yet, or one it seeded before.
pub async fn check_demo_only(pool: &sqlx::PgPool, allow_other_data: bool) -> anyhow::Result<()> {
    if allow_other_data {
        return Ok(());
    }
    let (seeded, other_sources, accounts): (bool, i64, i64) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) LIKE '%@' || $1),
                (SELECT count(*) FROM sources WHERE id <> 'ky-demo'),
                (SELECT count(*) FROM users)",
    )
    .bind(accounts::DOMAIN)
    .fetch_one(pool)
    .await?;
    if seeded {
        return Ok(());
    }
    anyhow::ensure!(
        other_sources == 0 && accounts == 0,
        "this database is not a demo database ({other_sources} other directory sources, {accounts} accounts): \
         refusing to create demo accounts with published passwords. Use an empty database, or pass \
         --allow-other-data if you really mean it"
    );
    Ok(())
}

/// Writes the datapackage for `scale` into `dir`. `target_services` scales the number of
/// providers so the total lands near it (Kentucky: 12,500; national: 1,100,000).
pub fn generate(dir: &Path, scale: Scale, target_services: Option<u64>) -> anyhow::Result<Summary> {
    let templates = templates();
    let counties = counties(scale);
    let target = target_services.unwrap_or(match scale {
        Scale::Kentucky => 12_500,
        Scale::National => 1_125_000,
    }) as f64;
    // Bigger counties (more ZIP codes) get more providers; `density` scales all of them so the
    // expected total meets the target.
    let weight = |c: &County| (c.places.len() as f64 / 4.0).clamp(1.0, 8.0);
    let per_provider = 5.5;
    let providers_per_unit: f64 = templates
        .provider
        .iter()
        .filter(|p| !p.statewide)
        .map(|p| p.per_county)
        .sum();
    let units: f64 = counties.iter().map(weight).sum();
    let statewide_services: f64 = templates
        .provider
        .iter()
        .filter(|p| p.statewide)
        .map(|p| p.count as f64 * per_provider)
        .sum();
    let density =
        ((target - statewide_services) / (units * providers_per_unit * per_provider)).max(0.05);

    let mut g = Generator {
        rng: SmallRng::seed_from_u64(20261128),
        out: Package::create(dir)?,
        templates: &templates,
        summary: Summary {
            counties: counties.len() as u64,
            ..Default::default()
        },
        counter: 0,
    };

    // The taxonomy: every AIRS code the templates use.
    let taxonomy_id = id("taxonomy", 0);
    g.out.row(
        "taxonomies",
        &[
            &taxonomy_id,
            "AIRS",
            "211 LA County / Inform USA taxonomy (codes only)",
            "https://www.211taxonomy.org",
            "demo",
        ],
    )?;
    let mut codes: BTreeMap<&str, &str> = BTreeMap::new();
    for t in &templates.template {
        codes
            .entry(t.airs_code.as_str())
            .or_insert(t.taxonomy_name.as_str());
    }
    for (code, name) in codes {
        g.out.row(
            "taxonomy_terms",
            &[
                &record_term(code),
                code,
                name,
                name,
                "",
                "AIRS",
                "en",
                &taxonomy_id,
                "",
            ],
        )?;
    }

    // Every county has at least its most common kind of provider, however small the target.
    let anchor = templates
        .provider
        .iter()
        .filter(|p| !p.statewide)
        .max_by(|a, b| a.per_county.total_cmp(&b.per_county))
        .context("templates.toml has no county providers")?;
    for county in &counties {
        let w = weight(county) * density;
        let before = g.summary.organizations;
        for p in templates.provider.iter().filter(|p| !p.statewide) {
            let expected = p.per_county * w;
            let mut n = expected.floor() as usize;
            if g.rng
                .random_bool((expected - expected.floor()).clamp(0.0, 1.0))
            {
                n += 1;
            }
            for _ in 0..n {
                // Most providers have one office; many have a branch or two in other towns.
                let offices = match (county.places.len(), g.rng.random_range(0..100)) {
                    (1, _) => 1,
                    (_, 0..40) => 1,
                    (2, _) | (_, 40..70) => 2,
                    _ => 3,
                };
                let services = g.rng.random_range(4..=7);
                g.provider(p, county, offices, services)?;
            }
        }
        if g.summary.organizations == before {
            g.provider(anchor, county, 1, 5)?;
        }
    }
    // Statewide organizations: an office in the capital county (or the first county), services
    // with statewide areas.
    let capital = counties
        .iter()
        .find(|c| c.state == "KY" && c.name == "Franklin")
        .unwrap_or(&counties[0]);
    for p in templates.provider.iter().filter(|p| p.statewide) {
        for i in 0..p.count.max(1) {
            let offices = usize::from(i % 2 == 0);
            g.provider(p, capital, offices, 6)?;
        }
    }
    let summary = g.summary.clone();
    g.out.finish()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_consistent_with_the_category_tree() {
        let t = templates();
        let tree = app::directory::categories::CategoryTree::get();
        let kinds: Vec<&str> = t.provider.iter().map(|p| p.kind.as_str()).collect();
        for tpl in &t.template {
            let (_, sub) = tree
                .sub(&tpl.subcategory)
                .unwrap_or_else(|| panic!("unknown subcategory {}", tpl.subcategory));
            assert!(
                sub.airs
                    .iter()
                    .any(|p| tpl.airs_code.starts_with(p.as_str())),
                "{} does not map to {}",
                tpl.airs_code,
                sub.id
            );
            for p in &tpl.providers {
                assert!(kinds.contains(&p.as_str()), "unknown provider kind {p}");
            }
            assert!(
                !schedule_rules(&tpl.schedule).is_empty() || tpl.schedule == "by_appointment",
                "{}",
                tpl.schedule
            );
        }
        for c in &tree.categories {
            // Kinds of help found only by Open Eligibility terms (no 211 code) have no demo
            // programs: the demo's feed speaks 211 codes.
            for s in c.sub.iter().filter(|s| !s.airs.is_empty()) {
                assert!(
                    t.template.iter().filter(|x| x.subcategory == s.id).count() >= 2,
                    "{} has too few templates",
                    s.id
                );
            }
        }
    }

    #[test]
    fn kentucky_counties_get_regions() {
        let c = counties(Scale::Kentucky);
        assert_eq!(c.len(), 120);
        assert_eq!(
            c.iter().find(|c| c.name == "McCracken").unwrap().region,
            "Purchase"
        );
        assert_eq!(
            c.iter().find(|c| c.name == "Fayette").unwrap().region,
            "Bluegrass"
        );
    }
}
