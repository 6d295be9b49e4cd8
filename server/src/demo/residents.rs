//! Demo residents, made the way partners make them (through the app's residents store, the
//! gate and the referral store, so every step is in the audit trail): Amy Brand — the seed's
//! detail-screen story — with consent to both demo partners, a household, notes and referrals
//! (one for a sensitive need, sealed for the other partner); residents without consent (the
//! limited view); one at risk (address hidden); two records of one person for United Way to
//! merge; and Amy's own account for My Plan. Idempotent: a database that has Amy is left alone.

use app::assessments::instrument::{Answers, Instrument};
use app::assessments::store as assessments;
use app::assessments::Mode;
use app::audit::Actor;
use app::identity::{accounts, Viewer};
use app::referrals::store::{self as referrals, Item, ResidentChoice};
use app::residents::consent::{Channel, ConsentGrant, Scope};
use app::residents::{gate, store, ContactMethod, NewResident, NoteKind, Principal, Purpose};
use sqlx::PgPool;
use uuid::Uuid;

/// An assessment made as a partner makes one: the gate opens the resident for it, the store
/// keeps the answers, completing it records the indicators.
pub(super) async fn assess(
    pool: &PgPool,
    by: &Viewer,
    resident: Uuid,
    instrument: &str,
    mode: Mode,
    answers: &[(&str, &[&str])],
    complete: bool,
) -> anyhow::Result<Uuid> {
    let instrument =
        Instrument::get(instrument).ok_or_else(|| anyhow::anyhow!("no instrument {instrument}"))?;
    gate::open(
        pool,
        &Principal::Person(by.clone()),
        resident,
        Purpose::Assessment,
    )
    .await?;
    let mut given = Answers::new();
    for (item, codes) in answers {
        let answer = instrument
            .parse_answer(item, codes)
            .map_err(|e| anyhow::anyhow!("demo answer {item}: {e:?}"))?;
        given.insert(item.to_string(), answer);
    }
    let given = instrument.prune(&given);
    let who = assessments::Administered {
        by: by.user_id,
        organization: by.organization_id.unwrap_or_default(),
        mode,
    };
    let id = assessments::start(pool, resident, instrument, &who)
        .await
        .map_err(|e| anyhow::anyhow!("demo assessment: {e}"))?;
    assessments::save(pool, id, |_| (given, None, complete))
        .await
        .map_err(|e| anyhow::anyhow!("demo assessment: {e}"))?;
    Ok(id)
}

pub const RESIDENT_EMAIL: &str = "amy.brand@demo.wraparound.example";

pub(super) async fn viewer(pool: &PgPool, email: &str) -> anyhow::Result<Viewer> {
    let record = accounts::by_email(pool, email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo account {email}"))?;
    accounts::viewer(pool, record.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo account {email}"))
}

pub(super) fn new_resident(
    name: &str,
    born: &str,
    phone: &str,
    email: Option<&str>,
    contact: ContactMethod,
    language: &str,
) -> NewResident {
    NewResident {
        name: name.into(),
        date_of_birth: chrono::NaiveDate::parse_from_str(born, "%Y-%m-%d").ok(),
        phone: app::contact::Phone::parse(phone),
        email: email.and_then(app::contact::Email::parse),
        preferred_contact: contact,
        preferred_language: language.into(),
        address: None,
        at_risk: false,
    }
}

pub(super) async fn create(
    pool: &PgPool,
    by: &Viewer,
    r: &NewResident,
    consent: Option<Channel>,
    version: &str,
) -> anyhow::Result<Uuid> {
    let actor = Actor::from_viewer(Some(by), "demo");
    let mut tx = pool.begin().await?;
    let id = store::create(&mut tx, by, r, &actor).await?;
    if let (Some(channel), Some(org)) = (consent, by.organization_id) {
        store::record_consent(
            &mut tx,
            &ConsentGrant::new(id, org, Scope::Profile, channel, Some(by.user_id), version),
            &actor,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// A program of `org` (its page id) and a kind of help it gives, or any program with `need`.
async fn program(
    pool: &PgPool,
    org: Option<Uuid>,
    need: Option<&str>,
) -> anyhow::Result<(Uuid, String)> {
    let row: Option<(Uuid, Vec<String>)> = sqlx::query_as(
        "SELECT sal.id, s.category_ids FROM service_at_locations sal JOIN services s ON s.id = sal.service_id
          WHERE s.active AND ($1::uuid IS NULL OR s.organization_id = $1)
            AND ($2::text IS NULL OR $2 = ANY(s.category_ids))
            AND cardinality(s.category_ids) > 0
          ORDER BY sal.id LIMIT 1",
    )
    .bind(org)
    .bind(need)
    .fetch_optional(pool)
    .await?;
    let (id, categories) =
        row.ok_or_else(|| anyhow::anyhow!("the demo directory has no program for {need:?}"))?;
    let tree = app::directory::categories::CategoryTree::get();
    let need = need
        .map(str::to_string)
        .or_else(|| categories.iter().find(|c| tree.sub(c).is_some()).cloned())
        .unwrap_or_else(|| categories[0].clone());
    Ok((id, need))
}

async fn refer(
    pool: &PgPool,
    by: &Viewer,
    resident: Uuid,
    program: (Uuid, String),
    note: &str,
    d: &app::config::Deployment,
) -> anyhow::Result<Uuid> {
    let access = gate::open(
        pool,
        &Principal::Person(by.clone()),
        resident,
        Purpose::NewReferral,
    )
    .await?;
    let items = [Item {
        program_id: program.0,
        need: program.1,
    }];
    let batch = referrals::create(
        pool,
        by,
        ResidentChoice::Existing(access),
        &items,
        Some(note),
        false,
        &d.residents.consent_text_version,
        &d.site.public_url,
        &Actor::from_viewer(Some(by), "demo"),
        None,
    )
    .await
    .map_err(|p| anyhow::anyhow!("demo referral refused: {}", p.code))?;
    let batch: Uuid = batch.rsplit('/').next().unwrap_or_default().parse()?;
    Ok(
        sqlx::query_scalar("SELECT id FROM referrals WHERE batch_id = $1")
            .bind(batch)
            .fetch_one(pool)
            .await?,
    )
}

/// Seeds the demo residents (once) and returns the resident account's line for the card.
pub async fn seed(
    pool: &PgPool,
    d: &app::config::Deployment,
    nonprofit_staff: &str,
    hospital_staff: &str,
) -> anyhow::Result<String> {
    let card = format!(
        "  {:<22} {:<44} {}\n",
        "resident",
        RESIDENT_EMAIL,
        if d.identity.oidc_issuer.is_empty() {
            "password as above, no code (My Plan)".to_string()
        } else {
            format!(
                "sign in with {} as {RESIDENT_EMAIL} (My Plan)",
                d.identity.provider_name
            )
        }
    );
    let done: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = $1 AND role = 'resident')",
    )
    .bind(RESIDENT_EMAIL)
    .fetch_one(pool)
    .await?;
    if done {
        return Ok(card);
    }
    let version = d.residents.consent_text_version.as_str();
    let pat = viewer(pool, nonprofit_staff).await?;
    let harper = viewer(pool, hospital_staff).await?;
    let (nonprofit, hospital) = (
        pat.organization_id.unwrap_or_default(),
        harper.organization_id.unwrap_or_default(),
    );

    // Amy Brand: met by the nonprofit, who read her the consent text; the hospital asked her by
    // phone later. Texts are how she likes to be reached.
    let mut amy_new = new_resident(
        "Amy Brand",
        "1990-04-02",
        "(270) 555-0142",
        Some(RESIDENT_EMAIL),
        ContactMethod::Text,
        "en",
    );
    amy_new.address = Some("1214 Park St, Bowling Green, KY 42101".into());
    let amy = create(pool, &pat, &amy_new, Some(Channel::InPerson), version).await?;
    let mut tx = pool.begin().await?;
    store::record_consent(
        &mut tx,
        &ConsentGrant::new(
            amy,
            hospital,
            Scope::Profile,
            Channel::Phone,
            Some(harper.user_id),
            version,
        ),
        &Actor::from_viewer(Some(&harper), "demo"),
    )
    .await?;
    tx.commit().await?;
    let pat_p = Principal::Person(pat.clone());
    let access = gate::open(pool, &pat_p, amy, Purpose::Record).await?;
    let actor = Actor::from_viewer(Some(&pat), "demo");
    for (name, born, relationship) in [
        ("Jordan Brand", "2016-09-01", "son"),
        ("Mia Brand", "2021-02-17", "daughter"),
    ] {
        store::add_member(
            pool,
            &access,
            &pat,
            name,
            chrono::NaiveDate::parse_from_str(born, "%Y-%m-%d").ok(),
            relationship,
            &actor,
        )
        .await?;
    }
    store::add_note(pool, &access, &pat, NoteKind::Phone, "Called Amy: she starts a new job Monday and needs childcare for Mia from 7:30. Will text her the list tonight.", true, None, &actor, None).await?;
    store::add_note(
        pool,
        &access,
        &pat,
        NoteKind::Note,
        "Asked about rent: behind one month, landlord has been patient. Follow up next week.",
        false,
        None,
        &actor,
        None,
    )
    .await?;
    // Referrals: from the nonprofit to the hospital (accepted, then provided), to a program not
    // on Wraparound (United Way follows up), and from the hospital for counseling — a sensitive
    // need, sealed on the nonprofit's screen.
    let to_hospital = refer(
        pool,
        &pat,
        amy,
        program(pool, Some(hospital), None).await?,
        "Needs a check-up before her new job starts.",
        d,
    )
    .await?;
    for (mv, note) in [
        (app::referrals::status::Move::Accept, None),
        (
            app::referrals::status::Move::CloseProvided,
            Some("Seen Tuesday; physical done."),
        ),
    ] {
        let version: i32 = sqlx::query_scalar("SELECT version FROM referrals WHERE id = $1")
            .bind(to_hospital)
            .fetch_one(pool)
            .await?;
        referrals::apply(
            pool,
            &harper,
            &referrals::Change {
                referral: to_hospital,
                version,
                mv,
                reason: None,
                note,
                contact_result: None,
            },
            &Actor::from_viewer(Some(&harper), "demo"),
        )
        .await
        .map_err(|p| anyhow::anyhow!("demo referral move refused: {}", p.code))?;
    }
    let outside: Option<Uuid> = sqlx::query_scalar(
        "SELECT s.organization_id FROM services s WHERE s.active AND 'childcare-centers' = ANY(s.category_ids)
            AND NOT EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = s.organization_id) LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    if let Some(org) = outside {
        refer(
            pool,
            &pat,
            amy,
            program(pool, Some(org), Some("childcare-centers")).await?,
            "Childcare from 7:30 for a 5-year-old.",
            d,
        )
        .await?;
    }
    if let Ok(counseling) = program(pool, None, Some("counseling")).await {
        refer(
            pool,
            &harper,
            amy,
            counseling,
            "Asked for someone to talk to about stress.",
            d,
        )
        .await?;
    }

    // Luis Ortega: referred by the hospital to the nonprofit without consent — the nonprofit
    // sees his first name and how to reach him, nothing else. Spanish.
    let luis = create(
        pool,
        &harper,
        &new_resident(
            "Luis Ortega",
            "1979-11-23",
            "(859) 555-0119",
            None,
            ContactMethod::Phone,
            "es",
        ),
        None,
        version,
    )
    .await?;
    refer(
        pool,
        &harper,
        luis,
        program(pool, Some(nonprofit), None).await?,
        "Necesita ayuda con comida para su familia.",
        d,
    )
    .await?;
    // Keisha Moore: at risk from someone; her address is never shown to partners.
    let mut keisha = new_resident(
        "Keisha Moore",
        "1995-06-30",
        "(502) 555-0163",
        None,
        ContactMethod::Phone,
        "en",
    );
    keisha.address = Some("(confidential shelter address)".into());
    keisha.at_risk = true;
    let keisha = create(pool, &pat, &keisha, Some(Channel::InPerson), version).await?;
    // Dana Whitfield, twice: the nonprofit and the hospital each made a record.
    let dana = create(
        pool,
        &pat,
        &new_resident(
            "Dana Whitfield",
            "1968-01-09",
            "(606) 555-0177",
            None,
            ContactMethod::Phone,
            "en",
        ),
        Some(Channel::InPerson),
        version,
    )
    .await?;
    create(
        pool,
        &harper,
        &new_resident(
            "Dana Whitfeld",
            "1968-01-09",
            "(606) 555-0178",
            None,
            ContactMethod::Phone,
            "en",
        ),
        None,
        version,
    )
    .await?;

    // Assessments: the hospital's AHC screening of Amy (food and rent; she declined one safety
    // question, so safety is "not answered"), the self-assessment the nonprofit read with her
    // later (child care, work), Keisha's (safety: a sensitive need, sealed for the hospital),
    // and one the nonprofit started with Dana and did not finish.
    assess(
        pool,
        &harper,
        amy,
        "ahc-hrsn-core",
        Mode::Hospital,
        &[
            ("71802-3", &["LA31994-9"]),
            ("96778-6", &["LA9-3"]),
            ("88122-7", &["LA28397-0"]),
            ("88123-5", &["LA6729-3"]),
            ("93030-5", &["LA32-8"]),
            ("96779-4", &["LA32-8"]),
            ("95618-5", &["LA6270-8"]),
            ("95617-7", &["LA30122-8"]),
            ("95616-9", &["LA6270-8"]),
            ("95615-1", &["LA6270-8"]),
        ],
        true,
    )
    .await?;
    assess(
        pool,
        &pat,
        amy,
        "self-assessment",
        Mode::Partner,
        &[
            ("self-home", &["worried"]),
            ("self-home-problems", &["none"]),
            ("self-food-worry", &["sometimes"]),
            ("self-food-ran-out", &["never"]),
            ("self-utilities", &["no"]),
            ("self-money", &["somewhat-hard"]),
            ("self-rides", &["no"]),
            ("self-work", &["keep"]),
            ("self-school", &["no"]),
            ("self-kids", &["yes"]),
            ("self-child-care", &["yes"]),
            ("self-lonely", &["rarely"]),
            ("self-insurance", &["yes"]),
            ("self-care", &["yes"]),
            ("self-stress", &["no"]),
            ("self-hurt", &["no"]),
            ("self-afraid", &["no"]),
        ],
        true,
    )
    .await?;
    assess(
        pool,
        &pat,
        keisha,
        "self-assessment",
        Mode::Partner,
        &[
            ("self-home", &["none"]),
            ("self-tonight", &["yes"]),
            ("self-food-worry", &["often"]),
            ("self-food-ran-out", &["sometimes"]),
            ("self-hurt", &["yes"]),
            ("self-afraid", &["yes"]),
        ],
        true,
    )
    .await?;
    assess(
        pool,
        &pat,
        dana,
        "self-assessment",
        Mode::Partner,
        &[
            ("self-home", &["steady"]),
            ("self-home-problems", &["heat"]),
        ],
        false,
    )
    .await?;

    // Amy's own account: the state identity provider's (the demo's stand-in), linked to her
    // record as if she had proved her phone with a code; a password too, for a demo without it.
    let issuer = (!d.identity.oidc_issuer.is_empty()).then(|| d.identity.oidc_issuer.clone());
    let user: Uuid = sqlx::query_scalar(
        "INSERT INTO users (email, name, role, password_hash, oidc_issuer, oidc_subject, resident_id)
         VALUES ($1, 'Amy Brand', 'resident', $2, $3, CASE WHEN $3 IS NOT NULL THEN $1 END, $4) RETURNING id",
    )
    .bind(RESIDENT_EMAIL)
    .bind(app::identity::passwords::hash(super::accounts::PASSWORD))
    .bind(issuer)
    .bind(amy)
    .fetch_one(pool)
    .await?;
    store::save(pool, user, &[program(pool, Some(nonprofit), None).await?.0]).await?;
    Ok(card)
}
