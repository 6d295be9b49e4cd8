//! Stored rows as HSDS 3.0 JSON records: organizations, services, locations, service at
//! locations and taxonomy terms, plus our own category tree published as a taxonomy.
//!
//! Every record that came from a feed carries `x_source`: the feed's short name and the record's
//! id in that feed, so a 211 can match our records to theirs. HSDS 3.0 allows extra properties;
//! the `x_` prefix is the usual mark of an extension.

use crate::hsds::write::record_id;
use app::directory::categories::{CategoryTree, OUR_TAXONOMY};
use serde_json::{json, Map, Value};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use uuid::Uuid;

pub const ORG_COLUMNS: &str = "o.id AS o_id, o.name AS o_name, o.description AS o_description, o.alternate_name AS o_alternate_name,
    o.email AS o_email, o.website AS o_website, o.tax_status AS o_tax_status, o.year_incorporated AS o_year_incorporated,
    o.legal_status AS o_legal_status, o.logo AS o_logo, o.uri AS o_uri, o.phones AS o_phones,
    o.source AS o_source, o.source_id AS o_source_id, o.placeholder AS o_placeholder";

pub const SERVICE_COLUMNS: &str = "s.id, s.organization_id, s.name, s.alternate_name, s.description, s.url, s.email, s.status, s.active,
    s.interpretation_services, s.application_process, s.fees_description, s.wait_time, s.eligibility_description,
    s.minimum_age, s.maximum_age, s.accreditations, s.licenses, s.alert, s.assured_date, s.last_modified, s.updated_at,
    s.phones, s.schedules, s.languages, s.required_documents, s.cost_options, s.service_areas, s.contacts,
    s.taxonomy_term_ids, s.category_ids, s.program_name, s.source AS s_source, s.source_id AS s_source_id";

pub const LOCATION_COLUMNS: &str = "l.id AS l_id, l.location_type AS l_location_type, l.organization_id AS l_organization_id,
    l.name AS l_name, l.alternate_name AS l_alternate_name, l.description AS l_description, l.transportation AS l_transportation,
    l.url AS l_url, l.latitude AS l_latitude, l.longitude AS l_longitude, l.address_1 AS l_address_1, l.address_2 AS l_address_2,
    l.city AS l_city, l.region AS l_region, l.state_province AS l_state_province, l.postal_code AS l_postal_code,
    l.country AS l_country, l.phones AS l_phones, l.schedules AS l_schedules, l.languages AS l_languages,
    l.accessibility AS l_accessibility, l.source AS l_source, l.source_id AS l_source_id";

/// A service at a location's own columns (`sal_` prefix), to go with the service's and the
/// location's.
pub const SAL_COLUMNS: &str = "sal.id AS sal_id, sal.service_id AS sal_service_id, sal.description AS sal_description,
    sal.phones AS sal_phones, sal.schedules AS sal_schedules, sal.source AS sal_source, sal.source_id AS sal_source_id";

/// The feed a record came from and its id there.
fn x_source(r: &PgRow, prefix: &str) -> Result<Value, sqlx::Error> {
    Ok(json!({
        "feed": r.try_get::<String, _>(format!("{prefix}source").as_str())?,
        "id": r.try_get::<String, _>(format!("{prefix}source_id").as_str())?,
    }))
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<String>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        m.insert(key.into(), Value::String(v));
    }
}

fn absolute_url(v: Option<String>) -> Option<String> {
    v.and_then(|u| app::directory::model::web_link(&u))
}

fn email(v: Option<String>) -> Option<String> {
    v.filter(|e| e.contains('@') && !e.contains(char::is_whitespace))
}

/// Child records as stored (feed shape) → HSDS shape: each gets a stable UUID, numbers become
/// numbers, links that are not absolute URLs and malformed e-mails are left out.
pub fn children(parent: Uuid, kind: &str, items: &Value) -> Value {
    const NUMBERS: &[&str] = &["extension", "timezone", "count", "interval", "amount"];
    const URLS: &[&str] = &["schedule_link", "uri", "url", "term_uri", "website"];
    const DROPPED: &[&str] = &[
        "service_id",
        "location_id",
        "organization_id",
        "contact_id",
        "service_at_location_id",
        "phone_id",
    ];
    let list = items.as_array().cloned().unwrap_or_default();
    Value::Array(
        list.into_iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let Value::Object(o) = item else { return None };
                let mut out = Map::new();
                out.insert(
                    "id".into(),
                    Value::String(
                        Uuid::new_v5(&parent, format!("{kind}:{i}").as_bytes()).to_string(),
                    ),
                );
                for (k, v) in o {
                    if k == "id" || DROPPED.contains(&k.as_str()) || v.is_null() {
                        continue;
                    }
                    let v = if NUMBERS.contains(&k.as_str()) {
                        match &v {
                            Value::Number(_) => v,
                            Value::String(s) => match s.trim().parse::<f64>() {
                                Ok(n) => json!(n),
                                Err(_) => continue,
                            },
                            _ => continue,
                        }
                    } else if URLS.contains(&k.as_str()) {
                        match absolute_url(v.as_str().map(String::from)) {
                            Some(u) => Value::String(u),
                            None => continue,
                        }
                    } else if k == "email" {
                        match email(v.as_str().map(String::from)) {
                            Some(e) => Value::String(e),
                            None => continue,
                        }
                    } else if k == "languages" {
                        children(parent, &format!("{kind}:{i}:language"), &v)
                    } else {
                        v
                    };
                    out.insert(k, v);
                }
                Some(Value::Object(out))
            })
            .collect(),
    )
}

/// An organization's own fields; `with_phones` adds its phones (the full form).
pub fn organization(r: &PgRow, with_phones: bool) -> Result<Value, sqlx::Error> {
    let id: Uuid = r.try_get("o_id")?;
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("name".into(), json!(r.try_get::<String, _>("o_name")?));
    m.insert(
        "description".into(),
        json!(r
            .try_get::<Option<String>, _>("o_description")?
            .unwrap_or_default()),
    );
    put(&mut m, "alternate_name", r.try_get("o_alternate_name")?);
    put(&mut m, "email", email(r.try_get("o_email")?));
    put(&mut m, "website", absolute_url(r.try_get("o_website")?));
    put(&mut m, "tax_status", r.try_get("o_tax_status")?);
    if let Some(y) = r.try_get::<Option<i32>, _>("o_year_incorporated")? {
        m.insert("year_incorporated".into(), json!(y));
    }
    put(&mut m, "legal_status", r.try_get("o_legal_status")?);
    put(&mut m, "logo", absolute_url(r.try_get("o_logo")?));
    put(&mut m, "uri", absolute_url(r.try_get("o_uri")?));
    if with_phones {
        m.insert(
            "phones".into(),
            children(id, "phone", &r.try_get::<Value, _>("o_phones")?),
        );
    }
    // A made-up organization (the feed named none) has no id of its own in the feed.
    if !r.try_get::<bool, _>("o_placeholder")? {
        m.insert("x_source".into(), x_source(r, "o_")?);
    }
    Ok(Value::Object(m))
}

/// A service's own fields with its organization (the list form); `full` adds its child records
/// (phones, schedules, languages...). Attributes and service at locations come from
/// [`complete_services`].
pub fn service(r: &PgRow, full: bool) -> Result<Value, sqlx::Error> {
    let id: Uuid = r.try_get("id")?;
    let active: bool = r.try_get("active")?;
    let status: String = r.try_get("status")?;
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert(
        "organization_id".into(),
        json!(r.try_get::<Uuid, _>("organization_id")?),
    );
    m.insert("name".into(), json!(r.try_get::<String, _>("name")?));
    m.insert(
        "status".into(),
        json!(if active {
            status
        } else {
            "inactive".to_string()
        }),
    );
    for c in [
        "alternate_name",
        "description",
        "interpretation_services",
        "application_process",
        "fees_description",
        "wait_time",
        "eligibility_description",
        "accreditations",
        "licenses",
        "alert",
    ] {
        put(&mut m, c, r.try_get(c)?);
    }
    put(&mut m, "url", absolute_url(r.try_get("url")?));
    put(&mut m, "email", email(r.try_get("email")?));
    for c in ["minimum_age", "maximum_age"] {
        if let Some(a) = r.try_get::<Option<i32>, _>(c)? {
            m.insert(c.into(), json!(a));
        }
    }
    if let Some(d) = r.try_get::<Option<chrono::NaiveDate>, _>("assured_date")? {
        m.insert("assured_date".into(), json!(d.to_string()));
    }
    m.insert("last_modified".into(), json!(last_modified(r)?));
    m.insert("organization".into(), organization(r, full)?);
    m.insert("x_source".into(), x_source(r, "s_")?);
    if full {
        if let Some(p) = r.try_get::<Option<String>, _>("program_name")? {
            m.insert(
                "program".into(),
                json!({
                    "id": Uuid::new_v5(&id, b"program"),
                    "organization_id": r.try_get::<Uuid, _>("organization_id")?,
                    "name": p, "description": p,
                }),
            );
        }
        for (key, kind) in [
            ("phones", "phone"),
            ("schedules", "schedule"),
            ("languages", "language"),
            ("required_documents", "required_document"),
            ("cost_options", "cost_option"),
            ("service_areas", "service_area"),
            ("contacts", "contact"),
        ] {
            m.insert(key.into(), children(id, kind, &r.try_get::<Value, _>(key)?));
        }
    }
    Ok(Value::Object(m))
}

/// When the service last changed: the feed's own date, else when we last stored a change.
fn last_modified(r: &PgRow) -> Result<String, sqlx::Error> {
    let modified: chrono::DateTime<chrono::Utc> = r
        .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>("last_modified")?
        .unwrap_or(r.try_get("updated_at")?);
    Ok(modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The minimal form of a service: what a client needs to tell what changed.
pub fn minimal_service(r: &PgRow) -> Result<Value, sqlx::Error> {
    let active: bool = r.try_get("active")?;
    Ok(json!({
        "id": r.try_get::<Uuid, _>("id")?,
        "name": r.try_get::<String, _>("name")?,
        "status": if active { r.try_get::<String, _>("status")? } else { "inactive".into() },
        "last_modified": last_modified(r)?,
    }))
}

pub fn location(r: &PgRow) -> Result<Value, sqlx::Error> {
    let id: Uuid = r.try_get("l_id")?;
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert(
        "location_type".into(),
        json!(r.try_get::<String, _>("l_location_type")?),
    );
    if let Some(org) = r.try_get::<Option<Uuid>, _>("l_organization_id")? {
        m.insert("organization_id".into(), json!(org));
    }
    for (c, key) in [
        ("l_name", "name"),
        ("l_alternate_name", "alternate_name"),
        ("l_description", "description"),
        ("l_transportation", "transportation"),
    ] {
        put(&mut m, key, r.try_get(c)?);
    }
    put(&mut m, "url", absolute_url(r.try_get("l_url")?));
    for (c, key) in [("l_latitude", "latitude"), ("l_longitude", "longitude")] {
        if let Some(v) = r.try_get::<Option<f64>, _>(c)? {
            m.insert(key.into(), json!(v));
        }
    }
    let address_1: Option<String> = r.try_get("l_address_1")?;
    if address_1.is_some() || r.try_get::<Option<String>, _>("l_city")?.is_some() {
        let mut a = Map::new();
        a.insert("id".into(), json!(Uuid::new_v5(&id, b"address:0")));
        a.insert("address_type".into(), json!("physical"));
        for (c, key) in [
            ("l_address_1", "address_1"),
            ("l_address_2", "address_2"),
            ("l_city", "city"),
            ("l_region", "region"),
            ("l_state_province", "state_province"),
            ("l_postal_code", "postal_code"),
            ("l_country", "country"),
        ] {
            put(&mut a, key, r.try_get(c)?);
        }
        // HSDS requires these; an address we only partly know still says what it can.
        for key in [
            "address_1",
            "city",
            "state_province",
            "postal_code",
            "country",
        ] {
            a.entry(key).or_insert(json!(""));
        }
        m.insert("addresses".into(), json!([a]));
    }
    for (c, key, kind) in [
        ("l_phones", "phones", "phone"),
        ("l_schedules", "schedules", "schedule"),
        ("l_languages", "languages", "language"),
        ("l_accessibility", "accessibility", "accessibility"),
    ] {
        m.insert(key.into(), children(id, kind, &r.try_get::<Value, _>(c)?));
    }
    m.insert("x_source".into(), x_source(r, "l_")?);
    Ok(Value::Object(m))
}

/// A service at a location from a row with [`SAL_COLUMNS`] and [`LOCATION_COLUMNS`]; its
/// service is added by the caller when the form asks for it.
pub fn service_at_location(r: &PgRow) -> Result<Value, sqlx::Error> {
    let sal_id: Uuid = r.try_get("sal_id")?;
    let mut m = Map::new();
    m.insert("id".into(), json!(sal_id));
    m.insert(
        "service_id".into(),
        json!(r.try_get::<Uuid, _>("sal_service_id")?),
    );
    m.insert("location_id".into(), json!(r.try_get::<Uuid, _>("l_id")?));
    put(&mut m, "description", r.try_get("sal_description")?);
    m.insert(
        "phones".into(),
        children(sal_id, "phone", &r.try_get::<Value, _>("sal_phones")?),
    );
    m.insert(
        "schedules".into(),
        children(sal_id, "schedule", &r.try_get::<Value, _>("sal_schedules")?),
    );
    m.insert("location".into(), location(r)?);
    m.insert("x_source".into(), x_source(r, "sal_")?);
    Ok(Value::Object(m))
}

/// Makes full services of list-form ones (rows with [`SERVICE_COLUMNS`], in the same order):
/// their taxonomy terms as attributes and their service at locations with each location. Two
/// queries for the whole page, whatever its size.
pub async fn complete_services(
    pool: &PgPool,
    rows: &[PgRow],
    services: &mut [Value],
) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    let mut term_ids: Vec<Uuid> = Vec::new();
    for r in rows {
        term_ids.extend(r.try_get::<Vec<Uuid>, _>("taxonomy_term_ids")?);
    }
    term_ids.sort();
    term_ids.dedup();
    let sal_sql = format!(
        "SELECT {SAL_COLUMNS}, {LOCATION_COLUMNS}
         FROM service_at_locations sal JOIN locations l ON l.id = sal.location_id
         WHERE sal.service_id = ANY($1) AND sal.active ORDER BY sal.service_id, sal.id"
    );
    let (term_rows, sal_rows) = tokio::try_join!(
        sqlx::query(
            "SELECT id, code, name, description, parent_id, taxonomy, language, term_uri, source, source_id
             FROM taxonomy_terms WHERE id = ANY($1)"
        )
        .bind(&term_ids)
        .fetch_all(pool),
        sqlx::query(&sal_sql)
        .bind(&ids)
        .fetch_all(pool),
    )?;
    let terms: HashMap<Uuid, Value> = term_rows
        .iter()
        .map(|r| Ok((r.try_get("id")?, term(r)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let mut sals: HashMap<Uuid, Vec<Value>> = HashMap::new();
    for r in &sal_rows {
        sals.entry(r.try_get("sal_service_id")?)
            .or_default()
            .push(service_at_location(r)?);
    }
    for (r, service) in rows.iter().zip(services.iter_mut()) {
        let id: Uuid = r.try_get("id")?;
        let own: Vec<Uuid> = r.try_get("taxonomy_term_ids")?;
        let categories: Vec<String> = r.try_get("category_ids")?;
        let mut attributes: Vec<Value> = own
            .iter()
            .filter_map(|t| terms.get(t))
            .map(|t| attribute(id, &t["id"].to_string(), t.clone()))
            .collect();
        for c in CategoryTree::get().with_parents(&categories) {
            attributes.push(attribute(id, &c, category_term(&c)));
        }
        service["attributes"] = Value::Array(attributes);
        service["service_at_locations"] = Value::Array(sals.remove(&id).unwrap_or_default());
    }
    Ok(())
}

/// A taxonomy term linked to a service.
fn attribute(service: Uuid, key: &str, term: Value) -> Value {
    json!({
        "id": Uuid::new_v5(&service, format!("attribute:{key}").as_bytes()),
        "link_id": service, "link_type": "service", "link_entity": "service",
        "taxonomy_term_id": term["id"], "taxonomy_term": term,
    })
}

/// A taxonomy's id: stable, from its name.
pub fn taxonomy_id(name: &str) -> Uuid {
    record_id("hsds-api", "taxonomy", name)
}

/// A stored taxonomy term (columns of `taxonomy_terms`).
pub fn term(r: &PgRow) -> Result<Value, sqlx::Error> {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.try_get::<Uuid, _>("id")?));
    m.insert("name".into(), json!(r.try_get::<String, _>("name")?));
    m.insert(
        "description".into(),
        json!(r
            .try_get::<Option<String>, _>("description")?
            .unwrap_or_default()),
    );
    put(&mut m, "code", r.try_get("code")?);
    if let Some(p) = r.try_get::<Option<Uuid>, _>("parent_id")? {
        m.insert("parent_id".into(), json!(p));
    }
    if let Some(t) = r.try_get::<Option<String>, _>("taxonomy")? {
        m.insert("taxonomy_id".into(), json!(taxonomy_id(&t)));
        m.insert("taxonomy".into(), json!(t));
    }
    put(&mut m, "language", r.try_get("language")?);
    put(&mut m, "term_uri", absolute_url(r.try_get("term_uri")?));
    m.insert("x_source".into(), x_source(r, "")?);
    Ok(Value::Object(m))
}

/// Our own category tree published as an HSDS taxonomy ("wraparound"); its terms' codes are
/// our category ids, so a feed of ours imported elsewhere (or back here) lands in place.
pub fn category_term(id: &str) -> Value {
    let tree = CategoryTree::get();
    let term_id = |c: &str| record_id(OUR_TAXONOMY, "category", c);
    let taxonomy = taxonomy_id(OUR_TAXONOMY);
    match tree.sub(id) {
        Some((parent, sub)) => json!({
            "id": term_id(&sub.id), "code": sub.id, "name": sub.en, "description": sub.en,
            "parent_id": term_id(&parent.id), "taxonomy": OUR_TAXONOMY, "taxonomy_id": taxonomy,
            "language": "en",
        }),
        None => {
            let top = tree.top(id);
            json!({
                "id": term_id(id), "code": id,
                "name": top.map(|t| t.en.clone()).unwrap_or_default(),
                "description": top.map(|t| t.en_description.clone()).unwrap_or_default(),
                "taxonomy": OUR_TAXONOMY, "taxonomy_id": taxonomy, "language": "en",
            })
        }
    }
}

/// Every term of our category tree, parents before their subcategories.
pub fn category_terms() -> Vec<Value> {
    CategoryTree::get()
        .categories
        .iter()
        .flat_map(|c| std::iter::once(c.id.as_str()).chain(c.sub.iter().map(|s| s.id.as_str())))
        .map(category_term)
        .collect()
}

/// The category a term id of our tree stands for.
pub fn category_for_term(term: Uuid) -> Option<String> {
    let tree = CategoryTree::get();
    tree.categories
        .iter()
        .flat_map(|c| std::iter::once(c.id.clone()).chain(c.sub.iter().map(|s| s.id.clone())))
        .find(|c| record_id(OUR_TAXONOMY, "category", c) == term)
}
