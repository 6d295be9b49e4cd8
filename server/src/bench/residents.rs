//! `server bench-residents`: the Resident Detail Screen and the partner's resident search with
//! 1 million residents and 1 million referrals (run after `bench-referrals`, which loads the
//! referrals and the partner accounts), each beside its SQL floor, and the consent check's own
//! cost (the gate: one query deciding from the consent ledger, one audit entry).

use super::{sign_in_partner, stats_row};
use app::assessments::instrument::{Answers, Instrument};
use app::assessments::store as assessments;
use app::residents::{gate, store, views, Principal, Purpose};
use sqlx::PgPool;
use std::fmt::Write;
use std::time::Instant;
use uuid::Uuid;

const TOTAL: i64 = 1_000_000;
const FIRST: &[&str] = &[
    "Amy",
    "Maria",
    "James",
    "Linda",
    "Robert",
    "Patricia",
    "Michael",
    "Jennifer",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Jose",
    "Susan",
    "Richard",
    "Jessica",
    "Joseph",
    "Sarah",
    "Thomas",
    "Karen",
    "Charles",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Dorothy",
    "Mark",
    "Sandra",
    "Luis",
    "Ashley",
    "Carlos",
    "Kimberly",
    "Juan",
    "Donna",
    "Kevin",
    "Emily",
    "Brian",
    "Michelle",
    "Tyrone",
    "Carol",
    "Dmitri",
    "Amanda",
    "Nguyen",
    "Melissa",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Brand",
    "Whitfield",
    "Caudill",
    "Combs",
    "Napier",
    "Sizemore",
    "Gabbard",
    "Hatfield",
    "Slone",
    "Mullins",
];

/// Tops the residents up to a million with realistic names, dates of birth and phones, and
/// gives the measured organization consent from the residents its referrals are for.
async fn load(pool: &PgPool, org: Uuid) -> anyhow::Result<String> {
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM residents")
        .fetch_one(pool)
        .await?;
    if have >= TOTAL {
        return Ok(String::new());
    }
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO residents (name, date_of_birth, phone, email, preferred_contact, created_by_organization)
         SELECT ($2::text[])[1 + (hashint8(g) & 2147483647) % cardinality($2::text[])] || ' ' ||
                ($3::text[])[1 + (hashint8(g * 3) & 2147483647) % cardinality($3::text[])],
                date '1940-01-01' + ((hashint8(g * 5) & 2147483647) % 30000)::int,
                '(' || (ARRAY['502','606','859','270','364'])[1 + g % 5] || ') 555-' || lpad((g % 10000)::text, 4, '0'),
                CASE WHEN g % 3 = 0 THEN 'person' || g || '@mail.example' END,
                (ARRAY['phone','text','email'])[1 + (g % 3)],
                $4
           FROM generate_series(1, $1) g",
    )
    .bind(TOTAL - have)
    .bind(FIRST)
    .bind(LAST)
    .bind(org)
    .execute(&mut *tx)
    .await?;
    // The bench's own residents from bench-referrals get real-looking names too.
    sqlx::query(
        "UPDATE residents SET name = ($1::text[])[1 + (hashtext(id::text) & 2147483647) % cardinality($1::text[])] || ' ' ||
                ($2::text[])[1 + (hashtext(id::text || 'x') & 2147483647) % cardinality($2::text[])],
                date_of_birth = coalesce(date_of_birth, date '1950-01-01' + (hashtext(id::text) & 16383))
          WHERE name LIKE 'Resident %'",
    )
    .bind(FIRST)
    .bind(LAST)
    .execute(&mut *tx)
    .await?;
    // Consent to the measured organization from everyone it received a referral for, and from
    // one resident in ten elsewhere (other organizations' consents fill the ledger).
    sqlx::query(
        "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, text_version)
         SELECT DISTINCT resident_id, $1::uuid, true, 'profile', 'in_person', '2026-12'
           FROM referrals WHERE to_organization = $1",
    )
    .bind(org)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, text_version)
         SELECT r.id, p.organization_id, true, 'profile', 'text', '2026-12'
           FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM residents) r
           JOIN (SELECT organization_id, row_number() OVER (ORDER BY organization_id) - 1 AS k
                   FROM partner_organizations) p ON p.k = r.n % 200
          WHERE r.n % 10 = 0",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    for table in ["residents", "consent_events"] {
        sqlx::query(&format!("VACUUM ANALYZE {table}"))
            .execute(pool)
            .await?;
    }
    Ok(format!(
        " (residents and consents generated in this run in {:.0} s)",
        started.elapsed().as_secs_f64()
    ))
}

pub async fn residents(
    pool: &PgPool,
    base_url: &str,
    n: usize,
    sensitive: &[String],
) -> anyhow::Result<String> {
    let org: Uuid = sqlx::query_scalar(
        "SELECT organization_id FROM users WHERE email = 'bench.receiver@bench.example'",
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| anyhow::anyhow!("run bench-referrals first: it makes the bench partners"))?;
    let load_note = load(pool, org).await?;
    let (residents, referrals, consents): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM residents), (SELECT count(*) FROM referrals), (SELECT count(*) FROM consent_events)",
    )
    .fetch_one(pool)
    .await?;
    // Residents this organization helps, with consent: the screens partners open.
    let people: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT r.id, r.name, r.phone FROM residents r
          WHERE r.id IN (SELECT resident_id FROM referrals WHERE to_organization = $1)
          ORDER BY hashtext(r.id::text) LIMIT $2",
    )
    .bind(org)
    .bind(n as i64)
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(!people.is_empty(), "the bench organization helps nobody");
    // A code works once per 30-second step: the bench may sign in again within one.
    sqlx::query(
        "UPDATE users SET last_totp_step = NULL WHERE email = 'bench.receiver@bench.example'",
    )
    .execute(pool)
    .await?;
    let client = sign_in_partner(base_url, "bench.receiver@bench.example").await?;
    let viewer = {
        let user: Uuid =
            sqlx::query_scalar("SELECT id FROM users WHERE email = 'bench.receiver@bench.example'")
                .fetch_one(pool)
                .await?;
        app::identity::accounts::viewer(pool, user)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no bench viewer"))?
    };
    let principal = Principal::Person(viewer.clone());

    // SDoH indicators at scale: three needs for 300,000 residents (once), so the detail screen
    // reads its indicators from a table of realistic size.
    let indicators_before: i64 = sqlx::query_scalar("SELECT count(*) FROM sdoh_indicators")
        .fetch_one(pool)
        .await?;
    if indicators_before < 100_000 {
        sqlx::query(
            "INSERT INTO sdoh_indicators (resident_id, need, domain, interpretation, sensitive, source, observed_at)
             SELECT r.id, n.need, n.domain,
                    CASE WHEN abs(hashtext(r.id::text || n.need)) % 3 = 0 THEN 'positive' ELSE 'negative' END,
                    false, 'wraparound', now() - interval '30 days'
               FROM (SELECT id FROM residents WHERE retired_at IS NULL ORDER BY id LIMIT 300000) r
              CROSS JOIN (VALUES ('food', 'food-insecurity'), ('transportation', 'transportation-insecurity'),
                                 ('utilities', 'utility-insecurity')) n(need, domain)
             ON CONFLICT (resident_id, need) WHERE superseded_at IS NULL DO NOTHING",
        )
        .execute(pool)
        .await?;
    }
    // Storing a completed assessment (the partner's last page): answers saved, scored, and the
    // resident's indicators superseded and recorded, in one transaction.
    let instrument =
        Instrument::get("self-assessment").ok_or_else(|| anyhow::anyhow!("no self-assessment"))?;
    let mut answers = Answers::new();
    for (item, codes) in [
        ("self-home", &["worried"][..]),
        ("self-home-problems", &["mold", "heat"][..]),
        ("self-food-worry", &["sometimes"][..]),
        ("self-food-ran-out", &["never"][..]),
        ("self-utilities", &["shut-off"][..]),
        ("self-rides", &["yes"][..]),
        ("self-kids", &["no"][..]),
        ("self-hurt", &["LA30122-8"][..]),
    ] {
        let answer = instrument
            .parse_answer(item, codes)
            .map_err(|e| anyhow::anyhow!("bench answer {item}: {e:?}"))?;
        answers.insert(item.to_string(), answer);
    }
    let who = assessments::Administered {
        by: viewer.user_id,
        organization: org,
        mode: app::assessments::Mode::Partner,
    };
    let mut assess_times = Vec::new();
    for (id, ..) in &people {
        let started = Instant::now();
        let a = assessments::start(pool, *id, instrument, &who)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        assessments::save(pool, a, |_| (answers.clone(), None, true))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        assess_times.push(started.elapsed());
    }
    let indicators: i64 = sqlx::query_scalar("SELECT count(*) FROM sdoh_indicators")
        .fetch_one(pool)
        .await?;

    // Warm up, then the detail screen through the server and its floor.
    for (id, ..) in people.iter().take(20) {
        client
            .get(format!("{base_url}/residents/{id}"))
            .send()
            .await?
            .bytes()
            .await?;
    }
    let mut page_times = Vec::new();
    for (id, ..) in &people {
        let started = Instant::now();
        let r = client
            .get(format!("{base_url}/residents/{id}"))
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "detail screen answered {}",
            r.status()
        );
        r.bytes().await?;
        page_times.push(started.elapsed());
    }
    let mut floor_times = Vec::new();
    for (id, ..) in &people {
        let started = Instant::now();
        views::detail_screen(pool, &viewer, *id, sensitive).await?;
        floor_times.push(started.elapsed());
    }
    // The consent check alone: the gate's one query and its audit entry.
    let mut gate_times = Vec::new();
    for (id, ..) in &people {
        let started = Instant::now();
        gate::open(pool, &principal, *id, Purpose::DetailScreen).await?;
        gate_times.push(started.elapsed());
    }
    // The resident search: by name (fuzzy), by phone, by name with a typo.
    let queries: Vec<String> = people
        .iter()
        .enumerate()
        .map(|(i, (_, name, phone))| match i % 3 {
            0 => name.clone(),
            1 => phone.clone(),
            _ => {
                let mut s: Vec<char> = name.chars().collect();
                let at = s.len() / 2;
                s.swap(at, at - 1);
                s.into_iter().collect()
            }
        })
        .collect();
    let mut search_times = Vec::new();
    for q in &queries {
        let started = Instant::now();
        let r = client
            .get(format!("{base_url}/residents"))
            .query(&[("q", q)])
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "resident search answered {}",
            r.status()
        );
        r.bytes().await?;
        search_times.push(started.elapsed());
    }
    let mut search_floor = Vec::new();
    for q in &queries {
        let started = Instant::now();
        store::search(pool, &principal, &store::MatchKeys::from_query(q)).await?;
        search_floor.push(started.elapsed());
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Residents: {residents} residents, {referrals} referrals, {consents} consent ledger rows, {indicators} SDoH indicator rows{load_note}\n"
    );
    let _ = writeln!(
        out,
        "One partner organization's staff open the screens of residents they help (with consent), one request at a time over loopback, signed in. \
         **SQL floor** = the screen's read model straight from Postgres (the gate's query and audit entry, consents, requests, referral activity, household, notes, SDoH indicators, assessments). \
         **Consent check** = the gate alone: one query deciding from the consent ledger, one audit entry. Searches: a third by full name, a third by phone, a third by name with two letters swapped.\n"
    );
    let _ = writeln!(
        out,
        "| path | n | p50 ms | p95 ms | p99 ms | mean ms | max ms |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for (name, times) in [
        ("**Resident Detail Screen** (`/residents/:id`)", &page_times),
        ("SQL floor: detail screen read model", &floor_times),
        ("consent check (gate: decide + audit)", &gate_times),
        (
            "**Completed assessment stored** + indicators recomputed",
            &assess_times,
        ),
        ("**Resident search** (`/residents?q=`)", &search_times),
        ("SQL floor: resident search", &search_floor),
    ] {
        let _ = writeln!(out, "{}", stats_row(name, times));
    }
    let _ = writeln!(out);
    Ok(out)
}
