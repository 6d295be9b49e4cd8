//! Our directory as an Open Referral HSDS 3.0 read API (`/api/hsds/...`), so other systems can
//! use it. Response shapes follow the HSDS 3.0 OpenAPI document; tests validate them against
//! its JSON schemas. Only public directory data is served here.

use super::write::record_id;
use app::directory::categories::{CategoryTree, OUR_TAXONOMY};
use app::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

const MAX_PER_PAGE: i64 = 200;
const DEFAULT_PER_PAGE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hsds", get(meta))
        .route("/api/hsds/services", get(list_services))
        .route("/api/hsds/services/{id}", get(one_service))
        .route(
            "/api/hsds/service_at_locations",
            get(list_service_at_locations),
        )
        .route("/api/hsds/organizations/{id}", get(one_organization))
        .route("/api/hsds/taxonomy_terms", get(list_taxonomy_terms))
}

/// API errors: a status and a message safe to show; database details go to the log.
pub enum ApiError {
    BadRequest(String),
    NotFound,
    Unavailable,
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "HSDS API query failed");
        ApiError::Unavailable
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found".to_string()),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the directory is unavailable; try again later".into(),
            ),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// The query string, checked: only known parameters with well-formed values.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<String>, allowed: &[&str]) -> Result<Params, ApiError> {
        let raw = raw.unwrap_or_default();
        if raw.len() > 2000 {
            return Err(ApiError::BadRequest("query string too long".into()));
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.trim().to_string()))
            .collect();
        for (k, v) in &pairs {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter {k:?}; allowed: {}",
                    allowed.join(", ")
                )));
            }
            if v.len() > 200 {
                return Err(ApiError::BadRequest(format!("{k} is too long")));
            }
        }
        Ok(Params(pairs))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn int(&self, key: &str, min: i64, max: i64, default: i64) -> Result<i64, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::BadRequest(format!(
                    "{key} must be a whole number from {min} to {max}"
                ))),
            },
        }
    }

    fn uuid(&self, key: &str) -> Result<Option<Uuid>, ApiError> {
        self.get(key)
            .map(|v| {
                Uuid::parse_str(v)
                    .map_err(|_| ApiError::BadRequest(format!("{key} must be a UUID")))
            })
            .transpose()
    }

    fn page(&self) -> Result<(i64, i64), ApiError> {
        Ok((
            self.int("page", 1, 100_000, 1)?,
            self.int("per_page", 1, MAX_PER_PAGE, DEFAULT_PER_PAGE)?,
        ))
    }
}

fn page_json(total: i64, page: i64, per_page: i64, contents: Vec<Value>) -> Value {
    let total_pages = if total == 0 {
        0
    } else {
        (total + per_page - 1) / per_page
    };
    json!({
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": contents.len(),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": contents.is_empty(),
        "contents": contents,
    })
}

async fn meta() -> Json<Value> {
    Json(json!({
        "version": "3.0",
        "profile": "https://docs.openreferral.org/en/v3.0/",
        "openapi_url": "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json",
    }))
}

// ---------------------------------------------------------------------------------------------
// Turning stored rows into HSDS JSON.

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
fn children(parent: Uuid, kind: &str, items: &Value) -> Value {
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

fn organization_json(r: &PgRow, prefix: &str) -> Result<Value, sqlx::Error> {
    let col = |c: &str| format!("{prefix}{c}");
    let id: Uuid = r.try_get(col("id").as_str())?;
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert(
        "name".into(),
        json!(r.try_get::<String, _>(col("name").as_str())?),
    );
    m.insert(
        "description".into(),
        json!(r
            .try_get::<Option<String>, _>(col("description").as_str())?
            .unwrap_or_default()),
    );
    put(
        &mut m,
        "alternate_name",
        r.try_get(col("alternate_name").as_str())?,
    );
    put(&mut m, "email", email(r.try_get(col("email").as_str())?));
    put(
        &mut m,
        "website",
        absolute_url(r.try_get(col("website").as_str())?),
    );
    put(&mut m, "tax_status", r.try_get(col("tax_status").as_str())?);
    if let Some(y) = r.try_get::<Option<i32>, _>(col("year_incorporated").as_str())? {
        m.insert("year_incorporated".into(), json!(y));
    }
    put(
        &mut m,
        "legal_status",
        r.try_get(col("legal_status").as_str())?,
    );
    put(
        &mut m,
        "logo",
        absolute_url(r.try_get(col("logo").as_str())?),
    );
    put(&mut m, "uri", absolute_url(r.try_get(col("uri").as_str())?));
    Ok(Value::Object(m))
}

const ORG_COLUMNS: &str = "o.id AS o_id, o.name AS o_name, o.description AS o_description, o.alternate_name AS o_alternate_name,
    o.email AS o_email, o.website AS o_website, o.tax_status AS o_tax_status, o.year_incorporated AS o_year_incorporated,
    o.legal_status AS o_legal_status, o.logo AS o_logo, o.uri AS o_uri, o.phones AS o_phones";

const SERVICE_COLUMNS: &str = "s.id, s.organization_id, s.name, s.alternate_name, s.description, s.url, s.email, s.status, s.active,
    s.interpretation_services, s.application_process, s.fees_description, s.wait_time, s.eligibility_description,
    s.minimum_age, s.maximum_age, s.accreditations, s.licenses, s.alert, s.assured_date, s.last_modified, s.updated_at,
    s.phones, s.schedules, s.languages, s.required_documents, s.cost_options, s.service_areas, s.contacts,
    s.taxonomy_term_ids, s.category_ids, s.program_name";

/// A service's own fields (the list form); `full` adds its child records.
fn service_json(r: &PgRow, full: bool) -> Result<Value, sqlx::Error> {
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
    let modified: chrono::DateTime<chrono::Utc> = r
        .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>("last_modified")?
        .unwrap_or(r.try_get("updated_at")?);
    m.insert(
        "last_modified".into(),
        json!(modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    );
    m.insert("organization".into(), organization_json(r, "o_")?);
    if full {
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

fn location_json(r: &PgRow) -> Result<Value, sqlx::Error> {
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
        // HSDS requires these four; an address we only partly know still says what it can.
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
    Ok(Value::Object(m))
}

const LOCATION_COLUMNS: &str = "l.id AS l_id, l.location_type AS l_location_type, l.organization_id AS l_organization_id,
    l.name AS l_name, l.alternate_name AS l_alternate_name, l.description AS l_description, l.transportation AS l_transportation,
    l.url AS l_url, l.latitude AS l_latitude, l.longitude AS l_longitude, l.address_1 AS l_address_1, l.address_2 AS l_address_2,
    l.city AS l_city, l.region AS l_region, l.state_province AS l_state_province, l.postal_code AS l_postal_code,
    l.country AS l_country, l.phones AS l_phones, l.schedules AS l_schedules, l.languages AS l_languages,
    l.accessibility AS l_accessibility";

/// Taxonomy terms as HSDS attributes of a service: the feed's own terms and our categories.
async fn attributes(
    state: &AppState,
    service: Uuid,
    term_ids: &[Uuid],
    categories: &[String],
) -> Result<Value, sqlx::Error> {
    let rows = sqlx::query("SELECT id, code, name, description, parent_id, taxonomy, language, term_uri FROM taxonomy_terms WHERE id = ANY($1)")
        .bind(term_ids)
        .fetch_all(&state.pool)
        .await?;
    let mut out: Vec<Value> = Vec::new();
    for r in &rows {
        let term = term_json(r)?;
        out.push(json!({
            "id": Uuid::new_v5(&service, format!("attribute:{}", term["id"]).as_bytes()),
            "link_id": service, "link_type": "service", "link_entity": "service",
            "taxonomy_term_id": term["id"], "taxonomy_term": term,
        }));
    }
    let tree = CategoryTree::get();
    for c in tree.with_parents(categories) {
        let term = category_term(&c);
        out.push(json!({
            "id": Uuid::new_v5(&service, format!("attribute:{c}").as_bytes()),
            "link_id": service, "link_type": "service", "link_entity": "service",
            "taxonomy_term_id": term["id"], "taxonomy_term": term,
        }));
    }
    Ok(Value::Array(out))
}

fn term_json(r: &PgRow) -> Result<Value, sqlx::Error> {
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
    put(&mut m, "taxonomy", r.try_get("taxonomy")?);
    put(&mut m, "language", r.try_get("language")?);
    put(&mut m, "term_uri", absolute_url(r.try_get("term_uri")?));
    Ok(Value::Object(m))
}

/// Our own category tree published as an HSDS taxonomy ("wraparound"); its terms' codes are
/// our category ids, so a feed of ours imported elsewhere (or back here) lands in place.
fn category_term(id: &str) -> Value {
    let tree = CategoryTree::get();
    let term_id = |c: &str| record_id(OUR_TAXONOMY, "category", c);
    match tree.sub(id) {
        Some((parent, sub)) => json!({
            "id": term_id(&sub.id), "code": sub.id, "name": sub.en, "description": sub.en,
            "parent_id": term_id(&parent.id), "taxonomy": OUR_TAXONOMY, "language": "en",
        }),
        None => {
            let top = tree.top(id);
            json!({
                "id": term_id(id), "code": id,
                "name": top.map(|t| t.en.clone()).unwrap_or_default(),
                "description": top.map(|t| t.en_description.clone()).unwrap_or_default(),
                "taxonomy": OUR_TAXONOMY, "language": "en",
            })
        }
    }
}

fn category_for_term(term: Uuid) -> Option<String> {
    let tree = CategoryTree::get();
    tree.categories
        .iter()
        .flat_map(|c| std::iter::once(c.id.clone()).chain(c.sub.iter().map(|s| s.id.clone())))
        .find(|c| record_id(OUR_TAXONOMY, "category", c) == term)
}

// ---------------------------------------------------------------------------------------------
// Handlers.

async fn list_services(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(
        raw,
        &[
            "search",
            "taxonomy_term_id",
            "taxonomy_id",
            "organization_id",
            "modified_after",
            "page",
            "per_page",
            "full",
            "format",
            "minimal",
        ],
    )?;
    let (page, per_page) = p.page()?;
    let term = p.uuid("taxonomy_term_id")?;
    let org = p.uuid("organization_id")?;
    let modified_after = p
        .get("modified_after")
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v).map_err(|_| {
                ApiError::BadRequest("modified_after must be an RFC 3339 date-time".into())
            })
        })
        .transpose()?;
    let category = term.and_then(category_for_term);
    let mut b = sqlx::QueryBuilder::new(format!(
        "SELECT {SERVICE_COLUMNS}, {ORG_COLUMNS}, count(*) OVER () AS total
         FROM services s JOIN organizations o ON o.id = s.organization_id WHERE s.active"
    ));
    if let Some(q) = p.get("search") {
        b.push(" AND s.id IN (SELECT service_id FROM search_entries WHERE document @@ websearch_to_tsquery('english', unaccent(")
            .push_bind(q.to_string())
            .push(")))");
    }
    match (category, term) {
        (Some(c), _) => {
            b.push(
                " AND s.id IN (SELECT service_id FROM search_entries WHERE category_ids @> ARRAY[",
            )
            .push_bind(c)
            .push("]::text[])");
        }
        (None, Some(t)) => {
            b.push(" AND s.taxonomy_term_ids @> ARRAY[")
                .push_bind(t)
                .push("]::uuid[]");
        }
        (None, None) => {}
    }
    if let Some(o) = org {
        b.push(" AND s.organization_id = ").push_bind(o);
    }
    if let Some(m) = modified_after {
        b.push(" AND s.updated_at >= ")
            .push_bind(m.with_timezone(&chrono::Utc));
    }
    b.push(" ORDER BY s.name, s.id LIMIT ")
        .push_bind(per_page)
        .push(" OFFSET ")
        .push_bind((page - 1) * per_page);
    let rows = b.build().fetch_all(&state.pool).await?;
    let total = rows
        .first()
        .map(|r| r.try_get::<i64, _>("total"))
        .transpose()?
        .unwrap_or(0);
    let contents = rows
        .iter()
        .map(|r| service_json(r, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(page_json(total, page, per_page, contents)))
}

async fn one_service(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let row = sqlx::query(&format!(
        "SELECT {SERVICE_COLUMNS}, {ORG_COLUMNS} FROM services s JOIN organizations o ON o.id = s.organization_id WHERE s.id = $1"
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    let mut service = service_json(&row, true)?;
    let term_ids: Vec<Uuid> = row.try_get("taxonomy_term_ids")?;
    let categories: Vec<String> = row.try_get("category_ids")?;
    service["attributes"] = attributes(&state, id, &term_ids, &categories).await?;
    let sal_rows = sqlx::query(&format!(
        "SELECT sal.id, sal.description, sal.phones, sal.schedules, {LOCATION_COLUMNS}
         FROM service_at_locations sal JOIN locations l ON l.id = sal.location_id
         WHERE sal.service_id = $1 AND sal.active ORDER BY sal.id"
    ))
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let mut sals = Vec::new();
    for r in &sal_rows {
        let sal_id: Uuid = r.try_get("id")?;
        let mut m = Map::new();
        m.insert("id".into(), json!(sal_id));
        m.insert("service_id".into(), json!(id));
        m.insert("location_id".into(), json!(r.try_get::<Uuid, _>("l_id")?));
        put(&mut m, "description", r.try_get("description")?);
        m.insert(
            "phones".into(),
            children(sal_id, "phone", &r.try_get::<Value, _>("phones")?),
        );
        m.insert(
            "schedules".into(),
            children(sal_id, "schedule", &r.try_get::<Value, _>("schedules")?),
        );
        m.insert("location".into(), location_json(r)?);
        sals.push(Value::Object(m));
    }
    service["service_at_locations"] = Value::Array(sals);
    Ok(Json(service))
}

async fn list_service_at_locations(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(
        raw,
        &[
            "search",
            "taxonomy_term_id",
            "taxonomy_id",
            "organization_id",
            "modified_after",
            "full",
            "page",
            "per_page",
            "format",
            "postcode",
            "proximity",
        ],
    )?;
    let (page, per_page) = p.page()?;
    let term = p.uuid("taxonomy_term_id")?;
    let org = p.uuid("organization_id")?;
    let proximity = match p.get("proximity") {
        None => None,
        Some(v) => match v.parse::<f64>() {
            Ok(m) if m > 0.0 && m <= 500_000.0 => Some(m),
            _ => {
                return Err(ApiError::BadRequest(
                    "proximity must be a distance in meters, more than 0 and at most 500000".into(),
                ))
            }
        },
    };
    let postcode = match p.get("postcode") {
        None => None,
        Some(z) if z.len() == 5 && z.bytes().all(|b| b.is_ascii_digit()) => Some(z.to_string()),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "postcode must be a 5-digit ZIP code".into(),
            ))
        }
    };
    if proximity.is_some() && postcode.is_none() {
        return Err(ApiError::BadRequest("proximity needs a postcode".into()));
    }
    let centre: Option<(f64, f64, Option<String>, String)> = match &postcode {
        Some(z) => Some(
            sqlx::query_as(
                "SELECT latitude, longitude, county_fips, state FROM places WHERE zip = $1",
            )
            .bind(z)
            .fetch_optional(&state.pool)
            .await?
            .ok_or_else(|| ApiError::BadRequest(format!("unknown postcode {z}")))?,
        ),
        None => None,
    };
    let category = term.and_then(category_for_term);
    let mut b = sqlx::QueryBuilder::new(format!(
        "SELECT e.id AS sal_id, sal.description AS sal_description, {SERVICE_COLUMNS}, {ORG_COLUMNS}, {LOCATION_COLUMNS},
                count(*) OVER () AS total
         FROM search_entries e
         JOIN service_at_locations sal ON sal.id = e.id
         JOIN services s ON s.id = e.service_id
         JOIN organizations o ON o.id = s.organization_id
         JOIN locations l ON l.id = e.location_id
         WHERE true"
    ));
    if let Some(q) = p.get("search") {
        b.push(" AND e.document @@ websearch_to_tsquery('english', unaccent(")
            .push_bind(q.to_string())
            .push("))");
    }
    match (category, term) {
        (Some(c), _) => {
            b.push(" AND e.category_ids @> ARRAY[")
                .push_bind(c)
                .push("]::text[]");
        }
        (None, Some(t)) => {
            b.push(" AND s.taxonomy_term_ids @> ARRAY[")
                .push_bind(t)
                .push("]::uuid[]");
        }
        (None, None) => {}
    }
    if let Some(o) = org {
        b.push(" AND s.organization_id = ").push_bind(o);
    }
    if let (Some(z), Some((lat, lon, county, st))) = (&postcode, &centre) {
        match proximity {
            // Within `proximity` meters of the postcode's centroid.
            Some(m) => {
                b.push(" AND earth_box(ll_to_earth(")
                    .push_bind(*lat)
                    .push(", ")
                    .push_bind(*lon)
                    .push("), ")
                    .push_bind(m);
                b.push(") @> e.earth AND earth_distance(e.earth, ll_to_earth(")
                    .push_bind(*lat)
                    .push(", ")
                    .push_bind(*lon);
                b.push(")) <= ").push_bind(m);
            }
            // Services whose area covers the postcode.
            None => {
                b.push(" AND (e.area_zips @> ARRAY[")
                    .push_bind(z.clone())
                    .push("]::text[] OR e.area_states @> ARRAY[");
                b.push_bind(st.clone()).push("]::text[]");
                if let Some(c) = county {
                    b.push(" OR e.area_counties @> ARRAY[")
                        .push_bind(c.clone())
                        .push("]::text[] OR e.county_fips = ")
                        .push_bind(c.clone());
                }
                b.push(")");
            }
        }
    }
    b.push(" ORDER BY s.name, e.id LIMIT ")
        .push_bind(per_page)
        .push(" OFFSET ")
        .push_bind((page - 1) * per_page);
    let rows = b.build().fetch_all(&state.pool).await?;
    let total = rows
        .first()
        .map(|r| r.try_get::<i64, _>("total"))
        .transpose()?
        .unwrap_or(0);
    let mut contents = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut m = Map::new();
        m.insert("id".into(), json!(r.try_get::<Uuid, _>("sal_id")?));
        m.insert("service_id".into(), json!(r.try_get::<Uuid, _>("id")?));
        m.insert("location_id".into(), json!(r.try_get::<Uuid, _>("l_id")?));
        put(&mut m, "description", r.try_get("sal_description")?);
        m.insert("service".into(), service_json(r, false)?);
        m.insert("location".into(), location_json(r)?);
        contents.push(Value::Object(m));
    }
    Ok(Json(page_json(total, page, per_page, contents)))
}

async fn one_organization(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let row = sqlx::query(&format!(
        "SELECT {ORG_COLUMNS} FROM organizations o WHERE o.id = $1"
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    let mut org = organization_json(&row, "o_")?;
    org["phones"] = children(id, "phone", &row.try_get::<Value, _>("o_phones")?);
    let services = sqlx::query(&format!(
        "SELECT {SERVICE_COLUMNS}, {ORG_COLUMNS} FROM services s JOIN organizations o ON o.id = s.organization_id
         WHERE s.organization_id = $1 AND s.active ORDER BY s.name, s.id"
    ))
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    org["services"] = Value::Array(
        services
            .iter()
            .map(|r| {
                let mut s = service_json(r, false)?;
                s.as_object_mut().map(|o| o.remove("organization"));
                Ok(s)
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?,
    );
    let locations = sqlx::query(&format!(
        "SELECT {LOCATION_COLUMNS} FROM locations l WHERE l.organization_id = $1 AND l.active ORDER BY l.name, l.id"
    ))
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    org["locations"] = Value::Array(
        locations
            .iter()
            .map(location_json)
            .collect::<Result<Vec<_>, _>>()?,
    );
    Ok(Json(org))
}

async fn list_taxonomy_terms(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(
        raw,
        &[
            "search",
            "taxonomy_id",
            "page",
            "per_page",
            "format",
            "parent_id",
            "top_only",
        ],
    )?;
    let (page, per_page) = p.page()?;
    // Our category tree first (it is what the directory is browsed by), then the feeds' terms.
    let tree = CategoryTree::get();
    let ours: Vec<Value> = tree
        .categories
        .iter()
        .flat_map(|c| std::iter::once(c.id.as_str()).chain(c.sub.iter().map(|s| s.id.as_str())))
        .map(category_term)
        .collect();
    let (feed_total,): (i64,) = sqlx::query_as("SELECT count(*) FROM taxonomy_terms WHERE active")
        .fetch_one(&state.pool)
        .await?;
    let total = ours.len() as i64 + feed_total;
    let start = (page - 1) * per_page;
    let mut contents: Vec<Value> = ours
        .into_iter()
        .skip(start as usize)
        .take(per_page as usize)
        .collect();
    let ours_len = tree
        .categories
        .iter()
        .map(|c| 1 + c.sub.len())
        .sum::<usize>() as i64;
    let remaining = per_page - contents.len() as i64;
    if remaining > 0 {
        let offset = (start - ours_len).max(0);
        let rows = sqlx::query(
            "SELECT id, code, name, description, parent_id, taxonomy, language, term_uri FROM taxonomy_terms
             WHERE active ORDER BY taxonomy NULLS LAST, code NULLS LAST, name, id LIMIT $1 OFFSET $2",
        )
        .bind(remaining)
        .bind(offset)
        .fetch_all(&state.pool)
        .await?;
        for r in &rows {
            contents.push(term_json(r)?);
        }
    }
    Ok(Json(page_json(total, page, per_page, contents)))
}
