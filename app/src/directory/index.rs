//! The search index (`search_entries`, `search_words`): derived from the directory tables,
//! rebuilt for one source after each import that changed something. Readers keep seeing the old
//! rows until the importer's transaction commits.

use super::categories::CategoryTree;
use sqlx::{PgConnection, Postgres, Transaction};

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
    let deferred = defer_indexes(tx).await?;
    sqlx::query("DELETE FROM search_entries WHERE source = $1")
        .bind(source)
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
        -- Each service's words once, however many places it has (to_tsvector is the cost).
        documents AS MATERIALIZED (
            SELECT sv.id,
                   setweight(to_tsvector('english', unaccent(sv.name || ' ' || coalesce(sv.alternate_name, ''))), 'A')
                   || setweight(to_tsvector('english', unaccent(coalesce(cats.names, ''))), 'B')
                   || setweight(to_tsvector('english', unaccent(left(coalesce(sv.description, '') || ' ' || coalesce(sv.eligibility_description, ''), 4000))), 'C')
                   || setweight(to_tsvector('english', unaccent(o.name)), 'D') AS document,
                   coalesce(cats.ids, '{}') AS category_ids
            FROM services sv
            JOIN organizations o ON o.id = sv.organization_id
            LEFT JOIN LATERAL (
                SELECT array_agg(DISTINCT c) AS ids, string_agg($2::jsonb ->> c, ' ') AS names
                FROM (SELECT unnest(sv.category_ids) UNION SELECT $3::jsonb ->> unnest(sv.category_ids)) t(c)
                WHERE c IS NOT NULL
            ) cats ON true
            WHERE sv.source = $1 AND sv.active AND sv.status = 'active'
        )
        INSERT INTO search_entries (id, source, service_id, location_id, organization_id, document, name,
                                    category_ids, earth, state, county_fips, area_states, area_counties, area_zips,
                                    is_free, minimum_age, maximum_age, languages, open_hours, timezone)
        SELECT p.id, $1, sv.id, l.id, sv.organization_id,
               d.document,
               sv.name,
               d.category_ids,
               CASE WHEN coalesce(l.latitude, zip.latitude) IS NOT NULL
                    THEN ll_to_earth(coalesce(l.latitude, zip.latitude), coalesce(l.longitude, zip.longitude)) END,
               coalesce(zip.state, upper(l.state_province)),
               coalesce(l.county_fips, zip.county_fips),
               sv.coverage_states, sv.coverage_counties, sv.coverage_zips,
               sv.is_free, sv.minimum_age, sv.maximum_age,
               ARRAY(SELECT DISTINCT lower(x->>'code') FROM jsonb_array_elements(sv.languages || coalesce(l.languages, '[]')) x
                     WHERE coalesce(x->>'code', '') <> ''),
               p.hours,
               coalesce(l.timezone, zip.timezone, $4)
        FROM programs p
        JOIN services sv ON sv.id = p.service_id
        JOIN documents d ON d.id = p.service_id
        LEFT JOIN locations l ON l.id = p.location_id
        LEFT JOIN places zip ON zip.zip = left(l.postal_code, 5)
        "#,
    )
    .bind(source)
    .bind(&names)
    .bind(&parents)
    .bind(default_timezone)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    for definition in &deferred {
        sqlx::query(definition).execute(&mut **tx).await?;
    }

    refresh_words(tx).await?;
    // Servers holding a copy of the index (`super::held`) read it again when this commits.
    sqlx::query("UPDATE search_generation SET generation = generation + 1")
        .execute(&mut **tx)
        .await?;
    // Searches right after the import get plans for the index as it now is, not as it was.
    sqlx::query("ANALYZE search_entries, search_words")
        .execute(&mut **tx)
        .await?;
    Ok(inserted)
}

/// On a first load (the index is empty) run by the tables' owner, drops the index's secondary
/// indexes and returns their definitions, to be built again once the rows are in. Building a
/// GIN or GiST index over a million rows at once is several times faster than keeping it up to
/// date row by row (at national scale it was most of the rebuild). The drop locks the table until
/// commit, which costs nothing here: there is nothing in it to read yet. Otherwise (rows of other
/// sources to keep serving, or the runtime role's scheduled pull, which may not drop) nothing
/// changes.
async fn defer_indexes(tx: &mut Transaction<'_, Postgres>) -> Result<Vec<String>, sqlx::Error> {
    let (empty, owner): (bool, bool) = sqlx::query_as(
        "SELECT NOT EXISTS (SELECT 1 FROM search_entries),
                pg_has_role((SELECT relowner FROM pg_class WHERE oid = 'search_entries'::regclass), 'MEMBER')",
    )
    .fetch_one(&mut **tx)
    .await?;
    if !(empty && owner) {
        return Ok(Vec::new());
    }
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT quote_ident(i.relname), pg_get_indexdef(i.oid)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
          WHERE x.indrelid = 'search_entries'::regclass AND NOT x.indisprimary AND NOT x.indisunique
          ORDER BY i.relname",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut **tx)
            .await?;
    }
    // Building a GIN index sorts in this much memory before spilling to disk.
    sqlx::query("SET LOCAL maintenance_work_mem = '512MB'")
        .execute(&mut **tx)
        .await?;
    Ok(indexes
        .into_iter()
        .map(|(_, definition)| definition)
        .collect())
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
