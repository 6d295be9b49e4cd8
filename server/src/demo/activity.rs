//! A year of demo activity, so `make run` shows a living system: more partner organizations
//! (the seed's Bowling Green formula provider and GED program among them, each with a demo
//! account), a reviewer for every chapter with a claim waiting, residents, a year of referrals
//! with the whole life of each (accepted, contacts, closed provided or not with the reasons people
//! give, declined, withdrawn, closed by United Way when the program is not on Wraparound, some
//! left waiting 8 and 15 days for the United Way queues), assessments, and the incentive reports
//! of the last two months.
//!
//! Deterministic: the same directory gives the same organizations, people and referrals (times
//! are counted back from the day it runs, so "the last 30 days" always has figures). Residents
//! and assessments go through the app's stores (the gate and the audit trail see them); the
//! referral history is written as rows with their past dates, which the stores cannot do.

use super::accounts::{account, DemoAccount, DOMAIN};
use super::residents::{assess, create, new_resident, viewer};
use app::assessments::Mode;
use app::config::Deployment;
use app::identity::sealed::SealingKey;
use app::policy::Role;
use app::residents::consent::Channel;
use app::residents::ContactMethod;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// splitmix64: a small deterministic generator (the demo must be the same on every machine).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True `percent` times in 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// One partner organization the demo adds: what it does, where, and how it is typed.
struct Partner {
    /// The demo account's e-mail is `{key}.staff@…`.
    key: &'static str,
    person: &'static str,
    county_fips: &'static str,
    categories: &'static [&'static str],
    name_like: Option<&'static str>,
    org_type: &'static str,
    /// Days before today it finished onboarding; `None`: the 12th of last month (its $100 is on
    /// last month's incentive report).
    onboarded_days_ago: Option<i64>,
    mailing_address: bool,
}

const WARREN: &str = "21227";

const PARTNERS: [Partner; 8] = [
    Partner {
        key: "formula",
        person: "Tasha Greene",
        county_fips: WARREN,
        categories: &["baby-formula", "childcare-centers"],
        name_like: None,
        org_type: "nonprofit",
        onboarded_days_ago: Some(340),
        mailing_address: true,
    },
    Partner {
        key: "ged",
        person: "Luis Ortega",
        county_fips: WARREN,
        categories: &["ged"],
        name_like: None,
        org_type: "nonprofit",
        onboarded_days_ago: Some(320),
        mailing_address: true,
    },
    Partner {
        key: "childcare",
        person: "Brooke Hale",
        county_fips: WARREN,
        categories: &["childcare-centers"],
        name_like: None,
        org_type: "for_profit",
        onboarded_days_ago: Some(250),
        mailing_address: true,
    },
    Partner {
        key: "pantry",
        person: "Dwayne Carter",
        county_fips: "21067",
        categories: &["food-pantries"],
        name_like: None,
        org_type: "nonprofit",
        onboarded_days_ago: Some(355),
        mailing_address: true,
    },
    Partner {
        key: "rent",
        person: "Megan Louis",
        county_fips: "21111",
        categories: &["rent-help", "utility-bills"],
        name_like: None,
        org_type: "nonprofit",
        onboarded_days_ago: Some(300),
        mailing_address: true,
    },
    Partner {
        key: "utilities",
        person: "Ken Schaefer",
        county_fips: "21117",
        categories: &["utility-bills", "weatherization"],
        name_like: None,
        org_type: "nonprofit",
        onboarded_days_ago: None,
        mailing_address: true,
    },
    Partner {
        key: "benefits",
        person: "Janet Price",
        county_fips: "21111",
        categories: &["snap-wic"],
        name_like: Some("(office|department|dcbs|community based)"),
        org_type: "state_agency",
        onboarded_days_ago: Some(280),
        mailing_address: true,
    },
    Partner {
        key: "clinic",
        person: "Omar Haddad",
        county_fips: "21193",
        categories: &["primary-care", "dental"],
        name_like: None,
        org_type: "nonprofit",
        onboarded_days_ago: Some(200),
        // Its payments are held until it gives one.
        mailing_address: false,
    },
];

/// Programs that are not on Wraparound (United Way follows their referrals up).
const NOT_ONBOARDED: [(&str, &str); 3] = [
    (WARREN, "shelter"),
    ("21067", "rent-help"),
    ("21111", "food-pantries"),
];

const FIRST: [&str; 40] = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Ashley",
    "Maria",
    "José",
    "Ana",
    "Luis",
    "Carmen",
    "Jamal",
    "Aaliyah",
    "Tyrone",
    "Latoya",
    "Hannah",
];
const LAST: [&str; 40] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Mitchell",
    "Campbell",
    "Roberts",
    "Hernández",
    "García",
    "Martínez",
    "Collins",
    "Stewart",
];

/// How many residents and referrals the year holds.
const RESIDENTS: usize = 240;
const REFERRALS: usize = 1_500;

/// A program a referral can go to.
#[derive(Clone)]
struct Program {
    id: Uuid,
    service: Uuid,
    need: String,
}

#[derive(Clone)]
struct Org {
    id: Uuid,
    /// Its demo person (none for an organization not on Wraparound).
    user: Option<Uuid>,
    programs: Vec<Program>,
}

/// A TOTP secret for a demo account, the same on every machine: 160 bits from its e-mail,
/// base32 (32 characters). Demo accounts only; real secrets come from the operating system.
fn secret_for(email: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a of the address seeds the dice.
    let seed = email.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut dice = Dice(seed);
    (0..32)
        .map(|_| ALPHABET[dice.below(32) as usize] as char)
        .collect()
}

/// An organization with a program in `county` of one of `categories` (in that order of
/// preference), not yet a partner; anywhere in the state when the county has none.
async fn find_org(
    pool: &PgPool,
    county: &str,
    categories: &[&str],
    name_like: Option<&str>,
    taken: &[Uuid],
) -> anyhow::Result<Option<(Uuid, String)>> {
    for anywhere in [false, true] {
        for category in categories {
            let found: Option<(Uuid, String)> = sqlx::query_as(
                "SELECT o.id, o.name FROM organizations o
                  WHERE o.active AND NOT o.placeholder AND o.id <> ALL($4)
                    AND NOT EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = o.id)
                    AND EXISTS (SELECT 1 FROM search_entries s WHERE s.organization_id = o.id
                                 AND ($5 OR s.county_fips = $1) AND $2 = ANY(s.category_ids))
                    AND ($3::text IS NULL OR o.name ~* $3)
                  ORDER BY o.name, o.id LIMIT 1",
            )
            .bind(county)
            .bind(category)
            .bind(name_like)
            .bind(taken)
            .bind(anywhere)
            .fetch_optional(pool)
            .await?;
            if found.is_some() {
                return Ok(found);
            }
        }
    }
    Ok(None)
}

async fn programs(pool: &PgPool, org: Uuid) -> anyhow::Result<Vec<Program>> {
    let tree = app::directory::categories::CategoryTree::get();
    let rows: Vec<(Uuid, Uuid, Vec<String>)> = sqlx::query_as(
        "SELECT sal.id, s.id, s.category_ids FROM service_at_locations sal JOIN services s ON s.id = sal.service_id
          WHERE s.active AND sal.active AND s.organization_id = $1 AND cardinality(s.category_ids) > 0
          ORDER BY sal.id",
    )
    .bind(org)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, service, categories)| Program {
            id,
            service,
            need: categories
                .iter()
                .find(|c| tree.sub(c).is_some())
                .unwrap_or(&categories[0])
                .clone(),
        })
        .collect())
}

/// Local 10:00 on `day` plus some minutes, as an instant.
fn daytime(tz: app::metrics::Tz, day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    app::metrics::local_midnight(tz, day) + Duration::hours(9) + Duration::minutes(minutes)
}

/// Seeds the year (once) and returns the accounts it made, for the sign-in card.
pub async fn seed(
    pool: &PgPool,
    d: &Deployment,
    key: &SealingKey,
    hospital_staff: &str,
    specialist: &str,
) -> anyhow::Result<Vec<DemoAccount>> {
    let tz = app::metrics::deployment_zone(d);
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let done: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = $1)")
            .bind(format!("{}.staff@{DOMAIN}", PARTNERS[0].key))
            .fetch_one(pool)
            .await?;
    let mut cards = Vec::new();
    let mut dice = Dice(2026_12_05);

    // Partners, each with its person.
    let first_of_last_month = {
        let first = today.with_day(1).expect("a first day");
        (first - Duration::days(1))
            .with_day(1)
            .expect("a first day")
    };
    let mut partners: Vec<Org> = Vec::new();
    let mut taken: Vec<Uuid> = Vec::new();
    let mut chosen: Vec<(Uuid, &Partner)> = Vec::new();
    if !done {
        for p in &PARTNERS {
            let Some((id, _)) =
                find_org(pool, p.county_fips, p.categories, p.name_like, &taken).await?
            else {
                continue;
            };
            taken.push(id);
            chosen.push((id, p));
            let county: Option<String> = sqlx::query_scalar(
                "SELECT county FROM places WHERE county_fips = $1 AND county IS NOT NULL LIMIT 1",
            )
            .bind(p.county_fips)
            .fetch_optional(pool)
            .await?;
            let chapter = d
                .onboarding
                .chapter_for_county(county.as_deref())
                .id
                .clone();
            let onboarded = match p.onboarded_days_ago {
                Some(days) => daytime(tz, today - Duration::days(days), 0),
                None => daytime(tz, first_of_last_month + Duration::days(11), 0),
            };
            let address: Option<String> = if p.mailing_address {
                sqlx::query_scalar(
                    "SELECT concat_ws(', ', address_1, city, concat_ws(' ', state_province, postal_code))
                       FROM locations WHERE organization_id = $1 AND address_1 IS NOT NULL ORDER BY id LIMIT 1",
                )
                .bind(id)
                .fetch_optional(pool)
                .await?
            } else {
                None
            };
            sqlx::query(
                "INSERT INTO partner_organizations (organization_id, org_type, chapter, approved_at, onboarded_at, mailing_address)
                 VALUES ($1, $2, $3, $4 - interval '3 days', $4, $5) ON CONFLICT (organization_id) DO NOTHING",
            )
            .bind(id)
            .bind(p.org_type)
            .bind(&chapter)
            .bind(onboarded)
            .bind(address)
            .execute(pool)
            .await?;
        }
    }
    // Every onboarded organization of the demo gets (or has) its person; the card lists them.
    let partner_rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT p.organization_id, o.name, p.org_type FROM partner_organizations p
           JOIN organizations o ON o.id = p.organization_id
          WHERE p.onboarded_at IS NOT NULL ORDER BY p.onboarded_at, o.name",
    )
    .fetch_all(pool)
    .await?;
    for (id, name, _) in &partner_rows {
        let existing: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT id, email FROM users WHERE organization_id = $1 AND email LIKE '%@' || $2
              ORDER BY (role = 'partner_staff') DESC, created_at LIMIT 1",
        )
        .bind(id)
        .bind(DOMAIN)
        .fetch_optional(pool)
        .await?;
        let user = match existing {
            Some((user, email)) => {
                if !email.starts_with("partner.") && !email.starts_with("hospital.") {
                    cards.push(card(&email, Role::PartnerStaff, Some(name)));
                }
                user
            }
            None => {
                let p = chosen.iter().find(|(t, _)| t == id).map(|(_, p)| *p);
                let (key_name, person) =
                    p.map_or(("partner", "Demo Partner"), |p| (p.key, p.person));
                let email = format!("{key_name}.staff@{DOMAIN}");
                let user = account(
                    pool,
                    key,
                    &email,
                    person,
                    Role::PartnerStaff,
                    Some(*id),
                    None,
                    &secret_for(&email),
                )
                .await?;
                cards.push(card(&email, Role::PartnerStaff, Some(name)));
                user
            }
        };
        partners.push(Org {
            id: *id,
            user: Some(user),
            programs: programs(pool, *id).await?,
        });
    }
    // A reviewer for every chapter (each has a claim waiting), the default chapter's being the
    // one `accounts` made.
    for chapter in &d.onboarding.chapters {
        if chapter.id == d.onboarding.default_chapter {
            continue;
        }
        let email = format!("reviewer.{}@{DOMAIN}", chapter.id);
        account(
            pool,
            key,
            &email,
            "Chapter Reviewer",
            Role::ChapterReviewer,
            None,
            Some(&chapter.id),
            &secret_for(&email),
        )
        .await?;
        cards.push(card(&email, Role::ChapterReviewer, Some(&chapter.name)));
    }
    if done {
        return Ok(cards);
    }
    // Claims waiting for review, one per chapter, in one of its counties (Warren for Southern
    // Kentucky).
    for (i, chapter) in d.onboarding.chapters.iter().enumerate() {
        let county = chapter.counties.first().cloned();
        let fips: Option<String> = match &county {
            Some(c) => sqlx::query_scalar(
                "SELECT county_fips FROM places WHERE lower(regexp_replace(county, ' County$', '')) = lower($1)
                    AND county_fips IS NOT NULL LIMIT 1",
            )
            .bind(c)
            .fetch_optional(pool)
            .await?,
            None => Some("21195".to_string()),
        };
        let Some((org, _)) = find_org(
            pool,
            fips.as_deref().unwrap_or("21195"),
            &[
                "food-pantries",
                "meals",
                "after-school",
                "tutoring",
                "shelter",
            ],
            None,
            &taken,
        )
        .await?
        else {
            continue;
        };
        taken.push(org);
        let claimant = format!(
            "{} {}",
            FIRST[(i * 7) % FIRST.len()],
            LAST[(i * 11) % LAST.len()]
        );
        sqlx::query(
            "INSERT INTO claims (organization_id, claimant_name, email, phone, job_title, org_type, county, chapter,
                                 status, created_at, confirmed_at)
             VALUES ($1, $2, $3, '(270) 555-01' || lpad($4::text, 2, '0'), 'Program Director', 'nonprofit', $5, $6,
                     'pending', now() - interval '2 days', now() - interval '2 days')",
        )
        .bind(org)
        .bind(&claimant)
        .bind(format!("claim{}@{DOMAIN}", i + 1))
        .bind(i as i32 + 10)
        .bind(county.as_deref().map(|c| format!("{c} County")))
        .bind(&chapter.id)
        .execute(pool)
        .await?;
    }

    // Programs not on Wraparound.
    let mut outside: Vec<Org> = Vec::new();
    for (county, category) in NOT_ONBOARDED {
        if let Some((id, _)) = find_org(pool, county, &[category], None, &taken).await? {
            taken.push(id);
            outside.push(Org {
                id,
                user: None,
                programs: programs(pool, id).await?,
            });
        }
    }
    partners.retain(|o| !o.programs.is_empty());
    outside.retain(|o| !o.programs.is_empty());
    anyhow::ensure!(
        partners.len() >= 2,
        "the demo year needs two partners with programs"
    );

    // Residents, each met by a partner (who recorded their consent in person).
    let version = d.residents.consent_text_version.as_str();
    let mut people = Vec::new();
    for (i, org) in partners.iter().enumerate() {
        if let Some(user) = org.user {
            let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
                .bind(user)
                .fetch_one(pool)
                .await?;
            people.push((i, viewer(pool, &email).await?));
        }
    }
    let mut residents: Vec<(Uuid, usize)> = Vec::new();
    for n in 0..RESIDENTS {
        let (org_index, by) = dice.pick(&people).clone();
        let first = *dice.pick(&FIRST);
        let last = *dice.pick(&LAST);
        let born = NaiveDate::from_ymd_opt(
            1950 + dice.below(55) as i32,
            1 + dice.below(12) as u32,
            1 + dice.below(28) as u32,
        )
        .expect("a date");
        let spanish = ["María", "José", "Ana", "Luis", "Carmen"].contains(&first);
        let contact = *dice.pick(&[
            ContactMethod::Text,
            ContactMethod::Text,
            ContactMethod::Phone,
            ContactMethod::Email,
        ]);
        let email = (contact == ContactMethod::Email).then(|| {
            format!(
                "{}.{}{n}@example.com",
                first.to_lowercase(),
                last.to_lowercase()
            )
            .replace(['á', 'é', 'í', 'ó'], "e")
        });
        let phone = format!("(270) 555-{:04}", 2000 + n);
        let r = new_resident(
            &format!("{first} {last}"),
            &born.to_string(),
            &phone,
            email.as_deref(),
            contact,
            if spanish { "es" } else { "en" },
        );
        let id = create(pool, &by, &r, None, version).await?;
        let met = daytime(
            tz,
            today - Duration::days(1 + dice.below(364) as i64),
            dice.below(480) as i64,
        );
        sqlx::query("UPDATE residents SET created_at = $2 WHERE id = $1")
            .bind(id)
            .bind(met)
            .execute(pool)
            .await?;
        // The consent they gave in person that day (the ledger is append-only: written with
        // its date, never redated).
        sqlx::query(
            "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, recorded_by, text_version, at)
             VALUES ($1, $2, true, 'profile', $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(by.organization_id)
        .bind(Channel::InPerson.as_str())
        .bind(by.user_id)
        .bind(version)
        .bind(met)
        .execute(pool)
        .await?;
        residents.push((id, org_index));
    }

    // A year of referrals.
    let specialist: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = $1")
        .bind(specialist)
        .fetch_one(pool)
        .await?;
    let reasons: [(&str, u64); 6] = [
        ("unable_to_reach", 38),
        ("got_help_elsewhere", 24),
        ("outside_service_area", 16),
        ("not_eligible", 12),
        ("no_capacity", 6),
        ("resident_declined", 4),
    ];
    let mut tx = pool.begin().await?;
    for n in 0..REFERRALS {
        // The last weeks are busier, and a few referrals are exactly 8 and 15 days old.
        let age = match n {
            0..=5 => 8,
            6..=11 => 15,
            _ if dice.chance(15) => dice.below(30) as i64,
            _ => dice.below(365) as i64,
        };
        let created = daytime(tz, today - Duration::days(age), dice.below(540) as i64);
        if created >= now {
            continue;
        }
        let (resident, sender_index) = *dice.pick(&residents);
        let sender = &partners[sender_index];
        let to_outside = !outside.is_empty() && (dice.chance(12) || (6..=8).contains(&n));
        let receiver = if to_outside {
            dice.pick(&outside).clone()
        } else {
            let mut r = dice.pick(&partners).clone();
            if r.id == sender.id {
                r = partners[(sender_index + 1) % partners.len()].clone();
            }
            r
        };
        let program = dice.pick(&receiver.programs).clone();
        let days = |dice: &mut Dice, most: u64| Duration::hours(2 + dice.below(most * 24) as i64);
        let limit = now - Duration::hours(1);
        // The life of the referral: (status, reason, closed at, by United Way, accepted at).
        let (status, reason, closed, uw, accepted) = if to_outside {
            if age > 14 && !(6..=11).contains(&n) && dice.chance(85) {
                let at = (created + Duration::days(14) + days(&mut dice, 3)).min(limit);
                if dice.chance(55) {
                    ("resource_provided", None, Some(at), true, None)
                } else {
                    (
                        "resource_not_provided",
                        Some("unable_to_reach"),
                        Some(at),
                        true,
                        None,
                    )
                }
            } else {
                ("sent", None, None, false, None)
            }
        } else {
            let accepted = (created + days(&mut dice, 2)).min(limit);
            let open_for_queues = n <= 11;
            let settled = age > 20 || (age > 3 && dice.chance(age as u64 * 4));
            if open_for_queues || !settled {
                let status = *dice.pick(&["sent", "accepted", "in_progress"]);
                (
                    status,
                    None,
                    None,
                    false,
                    (status != "sent").then_some(accepted),
                )
            } else {
                let at = (accepted + days(&mut dice, 18)).min(limit);
                match dice.below(100) {
                    0..=49 => ("resource_provided", None, Some(at), false, Some(accepted)),
                    50..=88 => {
                        let mut roll = dice.below(100);
                        let reason = reasons
                            .iter()
                            .find(|(_, w)| {
                                let hit = roll < *w;
                                roll = roll.saturating_sub(*w);
                                hit
                            })
                            .map_or("unable_to_reach", |(r, _)| r);
                        (
                            "resource_not_provided",
                            Some(reason),
                            Some(at),
                            false,
                            Some(accepted),
                        )
                    }
                    89..=93 => (
                        "declined",
                        Some("We are full until next month; please try the program across town."),
                        Some(accepted),
                        false,
                        None,
                    ),
                    94..=96 => (
                        "cancelled",
                        Some("The resident found help closer to home."),
                        Some(accepted),
                        false,
                        None,
                    ),
                    _ => ("in_progress", None, None, false, Some(accepted)),
                }
            }
        };
        let closed_by = match (status, uw) {
            (_, true) => Some(specialist),
            ("cancelled", _) => sender.user,
            _ if closed.is_some() => receiver.user,
            _ => None,
        };
        let updated = closed.or(accepted).unwrap_or(created);
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO referrals (batch_id, resident_id, from_organization, from_user, service_id, program_id,
                                    to_organization, need, note, status, outcome_reason, closed_by,
                                    closed_by_united_way, version, created_at, updated_at, closed_at)
             VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             RETURNING id",
        )
        .bind(resident)
        .bind(sender.id)
        .bind(sender.user)
        .bind(program.service)
        .bind(program.id)
        .bind(receiver.id)
        .bind(&program.need)
        .bind(dice.pick(&[
            "Needs help this week.",
            "Prefers a call after 5 pm.",
            "Has two children at home.",
            "Works days; a text is best.",
        ]))
        .bind(status)
        .bind(reason)
        .bind(closed_by)
        .bind(uw)
        .bind(1 + i32::from(accepted.is_some()) + i32::from(closed.is_some()))
        .bind(created)
        .bind(updated)
        .bind(closed)
        .fetch_one(&mut *tx)
        .await?;
        // Consent for the receiving organization, given at the referral.
        sqlx::query(
            "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, recorded_by, text_version, at)
             VALUES ($1, $2, true, 'profile', 'at_referral', $3, $4, $5)",
        )
        .bind(resident)
        .bind(receiver.id)
        .bind(sender.user)
        .bind(version)
        .bind(created)
        .execute(&mut *tx)
        .await?;
        // Its history, as the referral page shows it.
        let mut events: Vec<(DateTime<Utc>, Option<Uuid>, Uuid, &str, serde_json::Value)> = vec![(
            created,
            sender.user,
            sender.id,
            "created",
            serde_json::json!({}),
        )];
        if let Some(at) = accepted {
            events.push((
                at,
                receiver.user,
                receiver.id,
                "accepted",
                serde_json::json!({ "status": "accepted" }),
            ));
            if status != "sent" && dice.chance(60) {
                let reached = dice.chance(70);
                events.push((
                    at + Duration::hours(3),
                    receiver.user,
                    receiver.id,
                    "contact",
                    serde_json::json!({ "status": "in_progress", "result": if reached { "reached" } else { "not_reached" },
                                        "note": if reached { "Talked with the resident; set a time to come in." } else { "Left a voicemail." } }),
                ));
            }
        }
        if let (Some(at), Some(by)) = (closed, closed_by) {
            let kind = match status {
                "declined" => "declined",
                "cancelled" => "cancelled",
                _ => "closed",
            };
            let org = if uw {
                None
            } else if kind == "cancelled" {
                Some(sender.id)
            } else {
                Some(receiver.id)
            };
            events.push((
                at,
                Some(by),
                org.unwrap_or(receiver.id),
                kind,
                serde_json::json!({ "status": status, "reason": reason, "by_united_way": uw }),
            ));
        }
        for (at, user, org, kind, detail) in events {
            sqlx::query(
                "INSERT INTO referral_events (referral_id, at, user_id, organization_id, kind, detail)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(at)
            .bind(user)
            .bind(if uw && kind != "created" && user == Some(specialist) { None } else { Some(org) })
            .bind(kind)
            .bind(detail)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;

    // Assessments with a partner, for about a third of the residents; one in five by the
    // hospital's screening.
    let hospital = viewer(pool, hospital_staff).await.ok();
    for (i, (resident, org_index)) in residents.iter().enumerate() {
        if i % 3 != 0 {
            continue;
        }
        let by = &people
            .iter()
            .find(|(o, _)| o == org_index)
            .expect("the resident's partner has a person")
            .1;
        let food = *dice.pick(&["often", "sometimes", "never", "never"]);
        let home = *dice.pick(&["steady", "steady", "worried", "none"]);
        let rides = *dice.pick(&["yes", "no", "no"]);
        let bills = *dice.pick(&["yes", "no", "no", "shut-off"]);
        let money = *dice.pick(&["very-hard", "somewhat-hard", "not-hard"]);
        let answers: Vec<(&str, &[&str])> = vec![
            ("self-home", std::slice::from_ref(&home)),
            ("self-food-worry", std::slice::from_ref(&food)),
            ("self-food-ran-out", std::slice::from_ref(&food)),
            ("self-utilities", std::slice::from_ref(&bills)),
            ("self-money", std::slice::from_ref(&money)),
            ("self-rides", std::slice::from_ref(&rides)),
            ("self-hurt", &["no"]),
            ("self-afraid", &["no"]),
        ];
        let (who, instrument, mode) = match (&hospital, i % 15 == 0) {
            (Some(h), true) => (h, "ahc-hrsn-core", Mode::Hospital),
            _ => (by, "self-assessment", Mode::Partner),
        };
        if mode == Mode::Hospital {
            // The hospital asks with the resident's consent, given by phone.
            sqlx::query(
                "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, recorded_by, text_version)
                 VALUES ($1, $2, true, 'profile', 'phone', $3, $4)",
            )
            .bind(resident)
            .bind(who.organization_id)
            .bind(who.user_id)
            .bind(version)
            .execute(pool)
            .await?;
        }
        // The hunger vital sign, as the food answers above say.
        let (worried, ran_out) = if food == "never" {
            ("LA28398-8", "LA28398-8")
        } else {
            ("LA28397-0", "LA6729-3")
        };
        let answers: Vec<(&str, &[&str])> = if mode == Mode::Hospital {
            vec![
                ("71802-3", &["LA31994-9"]),
                ("96778-6", &["LA9-3"]),
                ("88122-7", std::slice::from_ref(&worried)),
                ("88123-5", std::slice::from_ref(&ran_out)),
                ("93030-5", &["LA33-6"]),
                ("96779-4", &["LA33-6"]),
                ("95618-5", &["LA6270-8"]),
                ("95617-7", &["LA6270-8"]),
                ("95616-9", &["LA6270-8"]),
                ("95615-1", &["LA6270-8"]),
            ]
        } else {
            answers
        };
        let id = assess(pool, who, *resident, instrument, mode, &answers, true).await?;
        let at = daytime(
            tz,
            today - Duration::days(1 + dice.below(360) as i64),
            dice.below(420) as i64,
        );
        sqlx::query("UPDATE assessments SET started_at = $2 - interval '12 minutes', completed_at = $2, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(pool)
            .await?;
        sqlx::query("UPDATE sdoh_indicators SET observed_at = $2 WHERE assessment_id = $1")
            .bind(id)
            .bind(at)
            .execute(pool)
            .await?;
    }

    // The figures count the year's dates (the rows above were dated after they were written),
    // and the last two months' incentive reports are made, as the monthly job would have.
    sqlx::query("SELECT metric_rebuild()").execute(pool).await?;
    let last = first_of_last_month;
    let before = (last - Duration::days(1)).with_day(1).expect("a first day");
    for month in [before, last] {
        app::incentives::generate(pool, tz, month).await?;
    }
    Ok(cards)
}

fn card(email: &str, role: Role, organization: Option<&str>) -> DemoAccount {
    DemoAccount {
        email: email.to_string(),
        name: "",
        role,
        organization: organization.map(str::to_string),
        totp_secret: secret_for(email),
    }
}
