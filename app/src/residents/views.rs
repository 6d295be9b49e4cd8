//! One read model per screen: the Resident Detail Screen and My Plan. Each is loaded after the
//! gate has decided, from the access it gave; the pages only render them.

use super::consent::{self, Holding};
use super::store::{self, Disclosure, Member, Note, PendingRequest};
use super::{gate, Principal, Purpose, Resident, ResidentAccess, ResidentError};
use crate::identity::Viewer;
use crate::referrals::store::Activity;
use sqlx::PgPool;
use uuid::Uuid;

/// The Resident Detail Screen for a partner: full with consent, limited without.
pub struct DetailScreen {
    pub access: ResidentAccess,
    /// This organization's consents (profile, sensitive) and since when.
    pub consent: Vec<Holding>,
    pub requests: Vec<PendingRequest>,
    /// Referrals across partners (with consent) or between this organization and the resident
    /// (without), newest first; sealed needs masked unless the seal is open.
    pub activity: Vec<Activity>,
    pub household: Vec<Member>,
    pub notes: Vec<Note>,
    /// How many referrals have a sealed need, and whether this person opened the seal today.
    pub sealed: usize,
    pub seal_open: bool,
    /// Current SDoH indicators (positive first) and every assessment, newest first.
    pub indicators: Vec<crate::assessments::store::StoredIndicator>,
    pub assessments: Vec<crate::assessments::store::Summary>,
}

pub async fn detail_screen(
    pool: &PgPool,
    viewer: &Viewer,
    resident: Uuid,
    sensitive_needs: &[String],
) -> Result<DetailScreen, ResidentError> {
    let org = viewer.organization_id.ok_or(ResidentError::Denied)?;
    let access = gate::open(
        pool,
        &Principal::Person(viewer.clone()),
        resident,
        Purpose::DetailScreen,
    )
    .await?;
    let (full, may_unseal) = match &access {
        ResidentAccess::Full { sensitive, .. } => (true, *sensitive),
        _ => (false, false),
    };
    let seal_open = may_unseal && store::seal_open(pool, resident, viewer.user_id).await?;
    let mut activity =
        crate::referrals::store::activity_for(pool, resident, (!full).then_some(org)).await?;
    let mut sealed = 0;
    for a in &mut activity {
        // The organizations on a sensitive referral know its need; others see it sealed.
        let involved = a.to_organization == org || a.from_organization == Some(org);
        if super::is_sensitive(&a.need, sensitive_needs) && !involved {
            sealed += 1;
            if !seal_open {
                a.sealed = true;
            }
        }
    }
    // Assessments inform the indicators; both are part of the profile (consent only).
    let (indicators, assessments) = if full {
        let indicators = crate::assessments::store::indicators(pool, resident)
            .await
            .map_err(|_| ResidentError::Unavailable)?;
        let assessments = crate::assessments::store::summaries(pool, Some(resident), None)
            .await
            .map_err(|_| ResidentError::Unavailable)?;
        (indicators, assessments)
    } else {
        (Vec::new(), Vec::new())
    };
    // A sensitive need another organization found is sealed like a sensitive referral.
    let sealed_needs = indicators
        .iter()
        .filter(|i| i.sensitive && i.organization_id != Some(org))
        .count();
    if sealed_needs > 0 {
        sealed += sealed_needs;
    }
    let (consent, requests, household, notes) = if full {
        (
            consent::holdings(pool, resident)
                .await?
                .into_iter()
                .filter(|h| h.organization_id == org)
                .collect(),
            store::requests_for(pool, &access, org).await?,
            store::household(pool, &access).await?,
            store::notes(pool, &access, org).await?,
        )
    } else {
        (
            Vec::new(),
            store::requests_for(pool, &access, org).await?,
            Vec::new(),
            Vec::new(),
        )
    };
    Ok(DetailScreen {
        access,
        consent,
        requests,
        activity,
        household,
        notes,
        sealed,
        seal_open,
        indicators,
        assessments,
    })
}

/// My Plan: what the resident saved, their referrals, who holds their consent, and who opened
/// their data.
pub struct MyPlan {
    /// `None` until their account is linked to their record.
    pub resident: Option<Resident>,
    pub saved: Vec<crate::directory::model::ProgramSummary>,
    pub referrals: Vec<Activity>,
    pub holdings: Vec<Holding>,
    pub disclosures: Vec<Disclosure>,
    /// Self-assessments they kept, and their current needs (once their record is linked).
    pub assessments: Vec<crate::assessments::store::Summary>,
    pub indicators: Vec<crate::assessments::store::StoredIndicator>,
}

pub async fn my_plan(pool: &PgPool, viewer: &Viewer) -> Result<MyPlan, ResidentError> {
    let saved_ids = store::saved(pool, viewer.user_id).await?;
    let saved = crate::directory::store::program_summaries(pool, &saved_ids).await?;
    let assessments =
        crate::assessments::store::summaries(pool, viewer.resident_id, Some(viewer.user_id))
            .await
            .map_err(|_| ResidentError::Unavailable)?;
    let Some(resident) = viewer.resident_id else {
        return Ok(MyPlan {
            resident: None,
            saved,
            referrals: Vec::new(),
            holdings: Vec::new(),
            disclosures: Vec::new(),
            assessments,
            indicators: Vec::new(),
        });
    };
    let access = gate::open(
        pool,
        &Principal::Person(viewer.clone()),
        resident,
        Purpose::OwnPlan,
    )
    .await?;
    let ResidentAccess::Full { resident, .. } = access else {
        return Err(ResidentError::Denied);
    };
    let referrals = crate::referrals::store::activity_for(pool, resident.id, None).await?;
    let holdings = consent::holdings(pool, resident.id).await?;
    let disclosures = store::disclosures(pool, resident.id, viewer.user_id).await?;
    let indicators = crate::assessments::store::indicators(pool, resident.id)
        .await
        .map_err(|_| ResidentError::Unavailable)?;
    Ok(MyPlan {
        resident: Some(resident),
        saved,
        referrals,
        holdings,
        disclosures,
        assessments,
        indicators,
    })
}
