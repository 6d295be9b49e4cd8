//! Reference places: every US ZIP with its town, county and position (`data/us_zips.csv`), and
//! Kentucky's ZIPs with county FIPS codes and time zones (`data/ky_places.csv`). Shipped in the
//! binary; loaded into `places` once (and again only if the shipped files change).

use sqlx::PgPool;

const US_ZIPS: &str = include_str!("../data/us_zips.csv");
const KY_PLACES: &str = include_str!("../data/ky_places.csv");

#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub zip: String,
    pub city: String,
    pub state: String,
    pub county: Option<String>,
    pub county_fips: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: Option<String>,
}

fn read(text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("shipped place data is valid CSV"))
        .collect()
}

/// All places: the national list, with Kentucky's richer rows taking precedence.
pub fn all() -> Vec<Place> {
    let mut by_zip = std::collections::BTreeMap::new();
    for r in read(US_ZIPS) {
        let county = r[3].trim().trim_end_matches(" County").trim().to_string();
        by_zip.insert(
            r[0].to_string(),
            Place {
                zip: r[0].to_string(),
                city: r[1].to_string(),
                state: r[2].to_string(),
                county: (!county.is_empty()).then_some(county),
                county_fips: None,
                latitude: r[4].parse().expect("latitude"),
                longitude: r[5].parse().expect("longitude"),
                timezone: None,
            },
        );
    }
    for r in read(KY_PLACES) {
        by_zip.insert(
            r[0].to_string(),
            Place {
                zip: r[0].to_string(),
                city: r[1].to_string(),
                state: "KY".to_string(),
                county: Some(r[2].to_string()),
                county_fips: Some(r[3].to_string()),
                latitude: r[4].parse().expect("latitude"),
                longitude: r[5].parse().expect("longitude"),
                timezone: Some(r[6].to_string()),
            },
        );
    }
    by_zip.into_values().collect()
}

/// Kentucky's places only (the demo generator places services at these).
pub fn kentucky() -> Vec<Place> {
    all().into_iter().filter(|p| p.state == "KY").collect()
}

pub async fn load(pool: &PgPool) -> Result<(), sqlx::Error> {
    let places = all();
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM places")
        .fetch_one(pool)
        .await?;
    if count == places.len() as i64 {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM places").execute(&mut *tx).await?;
    for chunk in places.chunks(10_000) {
        sqlx::query(
            "INSERT INTO places (zip, city, state, county, county_fips, latitude, longitude, timezone)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::text[])",
        )
        .bind(chunk.iter().map(|p| p.zip.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.city.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.state.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.county.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.county_fips.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.latitude).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.longitude).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.timezone.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    // Imports join to places right away; plan those joins for the rows now here.
    sqlx::query("ANALYZE places").execute(&mut *tx).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kentucky_has_all_120_counties() {
        let ky = kentucky();
        let counties: std::collections::HashSet<_> =
            ky.iter().filter_map(|p| p.county_fips.clone()).collect();
        assert_eq!(counties.len(), 120);
        assert!(ky.iter().all(|p| p.timezone.is_some()));
    }

    #[test]
    fn county_names_lose_the_word_county() {
        let p = all().into_iter().find(|p| p.zip == "45202").unwrap();
        assert_eq!(p.county.as_deref(), Some("Hamilton"));
    }
}
