//! A first load into empty tables: what Postgres's "Populating a Database" advises, shared by
//! the directory's importer and the search index's rebuild.

use sqlx::{Postgres, Transaction};

/// Index upkeep put off during a first load: what makes it again once the rows are in.
#[must_use = "the dropped indexes and foreign keys must be made again"]
pub struct Deferred(Vec<String>);

impl Deferred {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Builds the indexes again, then checks the foreign keys, each in one pass over the table.
    pub async fn restore(self, tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
        for statement in &self.0 {
            sqlx::query(statement).execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// On a first load (every one of `tables` is empty) run by the tables' owner: drops their
/// secondary indexes and foreign keys, to be made again once the rows are in (Postgres's
/// "Populating a Database"). Building a GIN or GiST index over a million rows at once is
/// several times faster than keeping it up to date row by row, and one anti-join checks a
/// foreign key faster than a trigger per row. Unique indexes stay: they are what an upsert
/// matches on. The drops lock the tables until commit, which costs nothing here: there is
/// nothing in them to read yet. Otherwise (rows to keep serving, or the runtime role's
/// scheduled pull, which may not drop) nothing changes.
pub async fn defer_upkeep(
    tx: &mut Transaction<'_, Postgres>,
    tables: &[&str],
) -> Result<Deferred, sqlx::Error> {
    for table in tables {
        let (empty, owner): (bool, bool) = sqlx::query_as(&format!(
            "SELECT NOT EXISTS (SELECT 1 FROM {table}),
                    pg_has_role((SELECT relowner FROM pg_class WHERE oid = '{table}'::regclass), 'MEMBER')"
        ))
        .fetch_one(&mut **tx)
        .await?;
        if !(empty && owner) {
            return Ok(Deferred(Vec::new()));
        }
    }
    let tables: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT format('DROP INDEX %I', i.relname), pg_get_indexdef(i.oid)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
          WHERE x.indrelid = ANY($1::text[]::regclass[]) AND NOT x.indisprimary AND NOT x.indisunique
          ORDER BY i.relname",
    )
    .bind(&tables)
    .fetch_all(&mut **tx)
    .await?;
    let foreign_keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
                format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
           FROM pg_constraint c
          WHERE c.contype = 'f' AND c.conrelid = ANY($1::text[]::regclass[])
          ORDER BY c.conname",
    )
    .bind(&tables)
    .fetch_all(&mut **tx)
    .await?;
    for (drop, _) in foreign_keys.iter().chain(&indexes) {
        sqlx::query(drop).execute(&mut **tx).await?;
    }
    // Building a GIN index sorts in this much memory before spilling to disk.
    sqlx::query("SET LOCAL maintenance_work_mem = '512MB'")
        .execute(&mut **tx)
        .await?;
    Ok(Deferred(
        indexes
            .into_iter()
            .chain(foreign_keys)
            .map(|(_, make)| make)
            .collect(),
    ))
}
