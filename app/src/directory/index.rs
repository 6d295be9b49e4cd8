//! The search index (`search_entries`, `search_words`): derived from the directory tables,
//! rebuilt for one source after each import that changed something. Readers keep seeing the old
//! rows until the importer's transaction commits.

use super::categories::CategoryTree;
use sqlx::{PgConnection, Postgres, Transaction};

/// How [`rebuild`] makes the rows. Raise it when they are made differently (which texts go
/// in, what a field weighs): `server migrate` then rebuilds rows an older version made
/// ([`rebuild_if_outdated`]). 2: who may use a program (its eligibility) weighs as little as
/// its organization's name.
pub const DOCUMENT_VERSION: i32 = 2;

/// Rebuilds every source's rows when an older [`DOCUMENT_VERSION`] made them, in one
/// transaction (servers keep answering from the old rows until it commits). Returns the
/// sources rebuilt: none when the rows are current.
pub async fn rebuild_if_outdated(
    pool: &sqlx::PgPool,
    default_timezone: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let made_by: i32 =
        sqlx::query_scalar("SELECT document_version FROM search_generation FOR UPDATE")
            .fetch_one(&mut *tx)
            .await?;
    if made_by >= DOCUMENT_VERSION {
        return Ok(Vec::new());
    }
    let sources: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT source FROM search_entries ORDER BY source")
            .fetch_all(&mut *tx)
            .await?;
    for source in &sources {
        rebuild(&mut tx, source, default_timezone).await?;
    }
    sqlx::query("UPDATE search_generation SET document_version = $1")
        .bind(DOCUMENT_VERSION)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(sources)
}

/// Rebuilds the index rows of one source. Runs inside the caller's transaction.
pub async fn rebuild(
    tx: &mut Transaction<'_, Postgres>,
    source: &str,
    default_timezone: &str,
) -> Result<u64, sqlx::Error> {
    let (names, parents) = category_lookup();
    // Statistics that count what the caller's transaction wrote. Without them the rebuild is
    // planned for the tables as autovacuum last saw them (empty on a first import, or after an
    // import that was rolled back), and nested loops over thousands of rows turn seconds into
    // many minutes.
    sqlx::query("ANALYZE organizations, locations, services, service_at_locations")
        .execute(&mut **tx)
        .await?;
    // Asked before this source's rows go: a re-import of the only source is not a first load.
    let deferred = super::first_load::defer_upkeep(tx, &["search_entries"]).await?;
    sqlx::query("DELETE FROM search_entries WHERE source = $1")
        .bind(source)
        .execute(&mut **tx)
        .await?;

    // Each service's words once, however many places it has: to_tsvector is most of the
    // rebuild's work. A query that only reads runs it in parallel on every core (an
    // INSERT ... SELECT never does), into a table of this transaction's own. The category
    // words come after, once per distinct set of categories: the lookup that finds them would
    // keep the whole query on one core. Who may use a program weighs as little as its
    // organization's name (D): "renters need landlord permission" does not make home
    // weatherization an answer to a landlord who keeps a deposit.
    sqlx::query(
        r#"
        CREATE TEMP TABLE import_documents ON COMMIT DROP AS
            SELECT sv.id, sv.category_ids,
                   eligibility_limits_to_a_county(sv.eligibility_description) AS county_only,
                   setweight(to_tsvector('english', unaccent(sv.name || ' ' || coalesce(sv.alternate_name, ''))), 'A') AS name_words,
                   setweight(to_tsvector('english', unaccent(left(coalesce(sv.description, ''), 4000))), 'C')
                   || setweight(to_tsvector('english', unaccent(left(coalesce(sv.eligibility_description, ''), 1000) || ' ' || o.name)), 'D') AS other_words
            FROM services sv
            JOIN organizations o ON o.id = sv.organization_id
            WHERE sv.source = $1 AND sv.active AND sv.status = 'active'
        "#,
    )
    .bind(source)
    .execute(&mut **tx)
    .await?;
    sqlx::query("ANALYZE import_documents")
        .execute(&mut **tx)
        .await?;

    // One row per active service at an active location, plus one per active service that has no
    // location at all (hotlines, statewide programs) so area searches find it.
    let inserted = sqlx::query(
        r#"
        WITH programs AS (
            SELECT sal.id, sv.id AS service_id, l.id AS location_id, coalesce(sal.weekly_hours, sv.weekly_hours, l.weekly_hours) AS hours
            FROM service_at_locations sal
            JOIN services sv ON sv.id = sal.service_id
            JOIN locations l ON l.id = sal.location_id
            WHERE sal.source = $1 AND sal.active AND sv.active AND l.active AND sv.status = 'active'
            UNION ALL
            SELECT sv.id, sv.id, NULL, sv.weekly_hours
            FROM services sv
            WHERE sv.source = $1 AND sv.active AND sv.status = 'active'
              AND NOT EXISTS (SELECT 1 FROM service_at_locations sal JOIN locations l ON l.id = sal.location_id
                              WHERE sal.service_id = sv.id AND sal.active AND l.active)
        ),
        -- Subcategories with their parents, and their names in both languages.
        categories AS MATERIALIZED (
            SELECT k.category_ids AS key,
                   setweight(to_tsvector('english', unaccent(coalesce(cats.names, ''))), 'B') AS words,
                   coalesce(cats.ids, '{}') AS ids
            FROM (SELECT DISTINCT category_ids FROM import_documents) k
            LEFT JOIN LATERAL (
                SELECT array_agg(DISTINCT c) AS ids, string_agg($3::jsonb ->> c, ' ') AS names
                FROM (SELECT unnest(k.category_ids) UNION SELECT $4::jsonb ->> unnest(k.category_ids)) t(c)
                WHERE c IS NOT NULL
            ) cats ON true
        )
        INSERT INTO search_entries (id, source, service_id, location_id, organization_id, document, name,
                                    category_ids, earth, state, county_fips, area_states, area_counties, area_zips,
                                    is_free, minimum_age, maximum_age, languages, open_hours, timezone, county_only)
        SELECT p.id, $1, sv.id, l.id, sv.organization_id,
               d.name_words || c.words || d.other_words,
               sv.name,
               c.ids,
               CASE WHEN coalesce(l.latitude, zip.latitude) IS NOT NULL
                    THEN ll_to_earth(coalesce(l.latitude, zip.latitude), coalesce(l.longitude, zip.longitude)) END,
               coalesce(zip.state, upper(l.state_province)),
               coalesce(l.county_fips, zip.county_fips),
               sv.coverage_states, sv.coverage_counties, sv.coverage_zips,
               sv.is_free, sv.minimum_age, sv.maximum_age,
               ARRAY(SELECT DISTINCT lower(x->>'code') FROM jsonb_array_elements(sv.languages || coalesce(l.languages, '[]')) x
                     WHERE coalesce(x->>'code', '') <> ''),
               p.hours,
               coalesce(l.timezone, zip.timezone, $2),
               d.county_only
        FROM programs p
        JOIN services sv ON sv.id = p.service_id
        JOIN import_documents d ON d.id = p.service_id
        JOIN categories c ON c.key = d.category_ids
        LEFT JOIN locations l ON l.id = p.location_id
        LEFT JOIN places zip ON zip.zip = left(l.postal_code, 5)
        "#,
    )
    .bind(source)
    .bind(default_timezone)
    .bind(&names)
    .bind(&parents)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    deferred.restore(tx).await?;

    refresh_words(tx).await?;
    // Servers holding a copy of the index (`super::held`) read it again when this commits;
    // the HSDS API's list of services at locations gives this count as its total.
    sqlx::query(
        "UPDATE search_generation SET generation = generation + 1,
             located_entries = (SELECT count(*) FROM search_entries WHERE location_id IS NOT NULL)",
    )
    .execute(&mut **tx)
    .await?;
    // Searches right after the import get plans for the index as it now is, not as it was.
    sqlx::query("ANALYZE search_entries, search_words")
        .execute(&mut **tx)
        .await?;
    Ok(inserted)
}

/// Category names in both languages (what a resident may type) and each subcategory's parent.
fn category_lookup() -> (serde_json::Value, serde_json::Value) {
    let tree = CategoryTree::get();
    let mut names = serde_json::Map::new();
    let mut parents = serde_json::Map::new();
    for c in &tree.categories {
        names.insert(c.id.clone(), format!("{} {}", c.en, c.es).into());
        for s in &c.sub {
            names.insert(s.id.clone(), format!("{} {}", s.en, s.es).into());
            parents.insert(s.id.clone(), c.id.clone().into());
        }
    }
    (names.into(), parents.into())
}

/// The directory's vocabulary: words of service names, category names, organization names and
/// descriptions. A word in it is never "corrected"; corrections go to the closest word in it.
async fn refresh_words(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let (names, _) = category_lookup();
    sqlx::query("DELETE FROM search_words")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        r#"
        INSERT INTO search_words (word)
        SELECT DISTINCT w FROM (
            SELECT regexp_split_to_table(lower(unaccent(e.name)), '[^a-z]+') AS w FROM search_entries e
            UNION ALL
            SELECT regexp_split_to_table(lower(unaccent(o.name)), '[^a-z]+') FROM organizations o WHERE o.active
            UNION ALL
            SELECT regexp_split_to_table(lower(unaccent(v)), '[^a-z]+') FROM jsonb_each_text($1::jsonb) AS t(k, v)
            UNION ALL
            -- Descriptions repeat (a 211 writes one text for many sites): each once.
            SELECT regexp_split_to_table(lower(unaccent(d)), '[^a-z]+')
              FROM (SELECT DISTINCT left(coalesce(description, '') || ' ' || coalesce(eligibility_description, ''), 4000) AS d
                      FROM services WHERE active) texts
        ) words
        WHERE length(w) >= 3
        "#,
    )
    .bind(&names)
    .execute(conn)
    .await?;
    Ok(())
}
