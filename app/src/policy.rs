//! Who may do what: the one policy table. Every HTTP route and server function is listed in
//! [`ROUTES`] with the [`Action`] it performs, and [`allows`] answers from [`POLICY`] alone. The
//! server's policy gate (server/src/http.rs) asks before any handler runs; anything not listed is
//! refused. Rules that depend on the data (your own organization, your chapter's counties) are
//! checked by the domain code with [`Scope`], declared here next to the action.

use serde::{Deserialize, Serialize};

/// A person's role. `Anonymous` is everyone not signed in; `Onboarding` is a signed-in partner
/// or United Way user who has not finished MFA, training and the user agreement yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    Anonymous,
    Onboarding,
    Resident,
    PartnerStaff,
    PartnerAdmin,
    HospitalStaff,
    ChapterReviewer,
    ReferralSpecialist,
    StateAdmin,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Anonymous,
        Role::Onboarding,
        Role::Resident,
        Role::PartnerStaff,
        Role::PartnerAdmin,
        Role::HospitalStaff,
        Role::ChapterReviewer,
        Role::ReferralSpecialist,
        Role::StateAdmin,
    ];

    /// The stored name (the `users.role` column).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::Onboarding => "onboarding",
            Role::Resident => "resident",
            Role::PartnerStaff => "partner_staff",
            Role::PartnerAdmin => "partner_admin",
            Role::HospitalStaff => "hospital_staff",
            Role::ChapterReviewer => "chapter_reviewer",
            Role::ReferralSpecialist => "referral_specialist",
            Role::StateAdmin => "state_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Roles that belong to a Community Partner organization.
    pub fn is_partner(self) -> bool {
        matches!(
            self,
            Role::PartnerStaff | Role::PartnerAdmin | Role::HospitalStaff
        )
    }

    /// Roles that must use MFA, training and the user agreement before they are active.
    pub fn needs_onboarding(self) -> bool {
        !matches!(self, Role::Anonymous | Role::Resident | Role::Onboarding)
    }
}

/// Everything the application does, in the words of the people who do it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Search the directory, read program pages, share them; the HSDS API; static files.
    UseDirectory,
    /// "Claim this site" for an organization.
    ClaimSite,
    /// Sign in (password, identity provider, MFA code) and open an invitation link.
    SignIn,
    SignOut,
    /// The signed-in home page: what your role lets you do.
    SeeAccount,
    /// MFA enrolment, training and the user agreement.
    CompleteOnboarding,
    /// The partner dashboard of your own organization.
    SeePartnerDashboard,
    /// Invite, change the role of, or deactivate the people of your own organization.
    ManageTeam,
    /// Approve or deny claims in your chapter's counties.
    ReviewClaims,
    /// Put referrals together and send them; follow the ones your organization sent.
    MakeReferrals,
    /// Work referrals: the receiving organization's, or (for United Way) those to organizations
    /// not yet onboarded.
    WorkReferrals,
    /// United Way's referral support queues and outreach log.
    SupportReferrals,
    /// Search the audit trail.
    SearchAudit,
    /// Read the development mailbox (only when no SMTP server is configured).
    ReadDevMailbox,
    /// The SMS provider tells us of a reply (STOP, START): anyone may call it; the handler
    /// checks the provider's signature.
    ReceiveTextReplies,
    /// Find residents, add one, open their detail screen, ask for consent, add notes and
    /// household members. What each may see is the residents gate's decision (consent).
    HelpResidents,
    /// My Plan and "Save" on program pages: residents, and anyone signed out (saved in the
    /// browser's session until they sign in).
    UsePlan,
    /// A resident's own record: link it, connect to programs, take consent back.
    ManageOwnRecord,
    /// Answer a consent request from its one-time link (no account needed).
    AnswerConsentRequest,
    /// Review suspected duplicate records, merge them and undo a merge.
    ReviewDuplicates,
    /// The self-assessment: anyone, no account needed.
    TakeSelfAssessment,
    /// Assess a resident who consented (the self-assessment read with them, and what their
    /// role may administer besides).
    AdministerAssessments,
    /// The CMS AHC HRSN screening: hospital users only. Checked by the assessments code for
    /// the instrument chosen (the routes are [`AdministerAssessments`]').
    ScreenWithAhc,
    /// The statewide metrics: every chapter, county and organization type, exact counts.
    SeeStateMetrics,
    /// A chapter's metrics: its counties, counts under 5 hidden.
    SeeChapterMetrics,
    /// The monthly incentive reports: state administrators all of them, a chapter's reviewers
    /// their chapter's lines.
    SeeIncentiveReports,
    /// Make a month's report before the 1st's job does; decide one organization's eligibility.
    ManageIncentives,
    /// Where the directory comes from: 211 pulls and imports, with their rejected rows.
    SeeDirectorySources,
}

/// Data-dependent limits on an allowed action, checked by the domain code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Everything,
    /// Only the organization the user belongs to.
    OwnOrganization,
    /// Only claims for organizations in the reviewer's chapter (state administrators: all).
    OwnChapter,
}

use Action::*;
use Role::*;

const PARTNERS: &[Role] = &[PartnerStaff, PartnerAdmin, HospitalStaff];
const EVERYONE: &[Role] = &Role::ALL;
const SIGNED_IN: &[Role] = &[
    Onboarding,
    Resident,
    PartnerStaff,
    PartnerAdmin,
    HospitalStaff,
    ChapterReviewer,
    ReferralSpecialist,
    StateAdmin,
];

/// The policy table: action → the roles allowed, and the scope they are held to.
pub const POLICY: &[(Action, &[Role], Scope)] = &[
    (UseDirectory, EVERYONE, Scope::Everything),
    (ClaimSite, EVERYONE, Scope::Everything),
    (SignIn, EVERYONE, Scope::Everything),
    (SignOut, SIGNED_IN, Scope::Everything),
    (SeeAccount, SIGNED_IN, Scope::Everything),
    (CompleteOnboarding, &[Onboarding], Scope::Everything),
    (SeePartnerDashboard, PARTNERS, Scope::OwnOrganization),
    (ManageTeam, &[PartnerAdmin], Scope::OwnOrganization),
    (
        ReviewClaims,
        &[ChapterReviewer, StateAdmin],
        Scope::OwnChapter,
    ),
    (MakeReferrals, PARTNERS, Scope::OwnOrganization),
    (
        WorkReferrals,
        &[
            PartnerStaff,
            PartnerAdmin,
            HospitalStaff,
            ReferralSpecialist,
        ],
        Scope::OwnOrganization,
    ),
    (SupportReferrals, &[ReferralSpecialist], Scope::Everything),
    (SearchAudit, &[StateAdmin], Scope::Everything),
    (ReadDevMailbox, EVERYONE, Scope::Everything),
    (ReceiveTextReplies, EVERYONE, Scope::Everything),
    (HelpResidents, PARTNERS, Scope::OwnOrganization),
    (UsePlan, &[Anonymous, Resident], Scope::Everything),
    (ManageOwnRecord, &[Resident], Scope::Everything),
    (AnswerConsentRequest, EVERYONE, Scope::Everything),
    (
        ReviewDuplicates,
        &[ReferralSpecialist, StateAdmin],
        Scope::Everything,
    ),
    (TakeSelfAssessment, EVERYONE, Scope::Everything),
    (AdministerAssessments, PARTNERS, Scope::OwnOrganization),
    (ScreenWithAhc, &[HospitalStaff], Scope::OwnOrganization),
    (SeeStateMetrics, &[StateAdmin], Scope::Everything),
    (
        SeeChapterMetrics,
        &[ChapterReviewer, ReferralSpecialist],
        Scope::OwnChapter,
    ),
    (
        SeeIncentiveReports,
        &[StateAdmin, ChapterReviewer],
        Scope::OwnChapter,
    ),
    (ManageIncentives, &[StateAdmin], Scope::Everything),
    (SeeDirectorySources, &[StateAdmin], Scope::Everything),
];

/// May `role` perform `action`? Deny by default: an action missing from the table is refused.
pub fn allows(role: Role, action: Action) -> bool {
    POLICY
        .iter()
        .any(|(a, roles, _)| *a == action && roles.contains(&role))
}

pub fn scope(action: Action) -> Option<Scope> {
    POLICY.iter().find(|(a, ..)| *a == action).map(|(.., s)| *s)
}

/// HTTP method of a route: pages and reads are GET, server functions and form posts are POST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// Every route the server answers, with the action it performs. Patterns use `:name` for one
/// path segment and a trailing `*` for "anything below". The test in server/tests/policy.rs
/// checks this list against the router's real routes and server functions, and requests each
/// one as every role.
pub const ROUTES: &[(Method, &str, Action)] = &[
    // The public directory (issue 2).
    (Method::Get, "/", UseDirectory),
    (Method::Get, "/categories/:id", UseDirectory),
    (Method::Get, "/search", UseDirectory),
    (Method::Get, "/programs/:id", UseDirectory),
    (Method::Get, "/programs/:id/share", UseDirectory),
    (Method::Get, "/programs/:id/print", UseDirectory),
    (Method::Get, "/s/:code", UseDirectory),
    (Method::Post, "/fn/search_directory", UseDirectory),
    (Method::Post, "/fn/count_directory", UseDirectory),
    (Method::Post, "/fn/program_details", UseDirectory),
    (Method::Get, "/api/hsds", UseDirectory),
    (Method::Get, "/api/hsds/services", UseDirectory),
    (Method::Get, "/api/hsds/services/:id", UseDirectory),
    (Method::Get, "/api/hsds/service_at_locations", UseDirectory),
    (
        Method::Get,
        "/api/hsds/service_at_locations/:id",
        UseDirectory,
    ),
    (Method::Get, "/api/hsds/organizations", UseDirectory),
    (Method::Get, "/api/hsds/organizations/:id", UseDirectory),
    (Method::Get, "/api/hsds/taxonomies", UseDirectory),
    (Method::Get, "/api/hsds/taxonomies/:id", UseDirectory),
    (Method::Get, "/api/hsds/taxonomy_terms", UseDirectory),
    (Method::Get, "/api/hsds/taxonomy_terms/:id", UseDirectory),
    (Method::Get, "/pkg/*", UseDirectory),
    (Method::Get, "/favicon.svg", UseDirectory),
    // Claiming an organization.
    (Method::Get, "/organizations/:id/claim", ClaimSite),
    (Method::Get, "/claim-sent", ClaimSite),
    (Method::Post, "/fn/claim_site", ClaimSite),
    (Method::Get, "/claims/confirm/:token", ClaimSite),
    (Method::Post, "/fn/confirm_claim", ClaimSite),
    // Signing in and out.
    (Method::Get, "/sign-in", SignIn),
    (Method::Get, "/sign-in/code", SignIn),
    (Method::Post, "/fn/sign_in", SignIn),
    (Method::Post, "/fn/verify_sign_in_code", SignIn),
    (Method::Get, "/auth/oidc/start", SignIn),
    (Method::Get, "/auth/oidc/callback", SignIn),
    (Method::Get, "/invitations/:token", SignIn),
    (Method::Post, "/fn/accept_invitation", SignIn),
    (Method::Post, "/fn/sign_out", SignOut),
    (Method::Get, "/account", SeeAccount),
    // Final onboarding.
    (Method::Get, "/onboarding", CompleteOnboarding),
    (Method::Get, "/onboarding/mfa", CompleteOnboarding),
    (Method::Post, "/fn/enroll_mfa", CompleteOnboarding),
    (
        Method::Get,
        "/onboarding/recovery-codes",
        CompleteOnboarding,
    ),
    (Method::Get, "/onboarding/training", CompleteOnboarding),
    (Method::Post, "/fn/pass_training", CompleteOnboarding),
    (Method::Get, "/onboarding/agreement", CompleteOnboarding),
    (Method::Post, "/fn/accept_agreement", CompleteOnboarding),
    // Partners.
    (Method::Get, "/partner", SeePartnerDashboard),
    (Method::Get, "/partner/team", ManageTeam),
    (Method::Post, "/fn/invite_user", ManageTeam),
    (Method::Post, "/fn/change_user_role", ManageTeam),
    (Method::Post, "/fn/deactivate_user", ManageTeam),
    // Referrals.
    (Method::Get, "/referrals/new", MakeReferrals),
    (Method::Get, "/referrals/sent", MakeReferrals),
    (Method::Get, "/referrals/batch/:id", MakeReferrals),
    (Method::Post, "/fn/add_to_referral", MakeReferrals),
    (Method::Post, "/fn/remove_from_referral", MakeReferrals),
    (Method::Post, "/fn/send_referral_summary", MakeReferrals),
    (Method::Post, "/fn/send_referrals", MakeReferrals),
    (Method::Get, "/referrals/inbox", WorkReferrals),
    (Method::Get, "/referrals/:id", WorkReferrals),
    (Method::Post, "/fn/update_referral", WorkReferrals),
    (Method::Post, "/fn/add_referral_note", WorkReferrals),
    // United Way and the state.
    (Method::Get, "/united-way/referrals", SupportReferrals),
    (Method::Post, "/fn/log_outreach", SupportReferrals),
    (Method::Get, "/united-way/claims", ReviewClaims),
    (Method::Get, "/united-way/claims/:id", ReviewClaims),
    (Method::Post, "/fn/decide_claim", ReviewClaims),
    (Method::Get, "/state/audit", SearchAudit),
    (Method::Get, "/state/directory", SeeDirectorySources),
    (Method::Get, "/dev/mailbox", ReadDevMailbox),
    (Method::Get, "/dev/mailbox/:id", ReadDevMailbox),
    (Method::Post, "/sms/inbound", ReceiveTextReplies),
    // Residents (issue 11): the partner's side...
    (Method::Get, "/residents", HelpResidents),
    (Method::Get, "/residents/new", HelpResidents),
    (Method::Get, "/residents/:id", HelpResidents),
    (Method::Get, "/residents/:id/print", HelpResidents),
    (Method::Post, "/fn/create_resident", HelpResidents),
    (Method::Post, "/fn/request_consent", HelpResidents),
    (Method::Post, "/fn/add_household_member", HelpResidents),
    (Method::Post, "/fn/remove_household_member", HelpResidents),
    (Method::Post, "/fn/add_resident_note", HelpResidents),
    (Method::Post, "/fn/break_seal", HelpResidents),
    // ...the resident's...
    (Method::Get, "/my-plan", UsePlan),
    (Method::Post, "/fn/save_program", UsePlan),
    (Method::Post, "/fn/unsave_program", UsePlan),
    (Method::Get, "/my-plan/link", ManageOwnRecord),
    (Method::Post, "/fn/connect_to_program", ManageOwnRecord),
    (Method::Post, "/fn/revoke_consent", ManageOwnRecord),
    (Method::Post, "/fn/start_link", ManageOwnRecord),
    (Method::Post, "/fn/finish_link", ManageOwnRecord),
    (Method::Post, "/fn/create_own_record", ManageOwnRecord),
    (Method::Get, "/consent/:token", AnswerConsentRequest),
    (Method::Post, "/fn/send_consent_code", AnswerConsentRequest),
    (Method::Post, "/fn/answer_consent", AnswerConsentRequest),
    // ...and United Way's and the state's.
    (Method::Get, "/united-way/duplicates", ReviewDuplicates),
    (Method::Post, "/fn/merge_residents", ReviewDuplicates),
    (Method::Post, "/fn/undo_merge", ReviewDuplicates),
    // Assessments (issue 12): anyone's self-assessment...
    (Method::Get, "/assessment", TakeSelfAssessment),
    (
        Method::Get,
        "/assessment/questions/:page",
        TakeSelfAssessment,
    ),
    (Method::Get, "/assessment/results", TakeSelfAssessment),
    (
        Method::Post,
        "/fn/answer_self_assessment",
        TakeSelfAssessment,
    ),
    (
        Method::Post,
        "/fn/restart_self_assessment",
        TakeSelfAssessment,
    ),
    (Method::Post, "/fn/save_self_assessment", UsePlan),
    // ...and assessments with a resident who consented.
    (Method::Get, "/residents/:id/assess", AdministerAssessments),
    (Method::Post, "/fn/start_assessment", AdministerAssessments),
    (Method::Get, "/assessments/:id", AdministerAssessments),
    (Method::Get, "/assessments/:id/:page", AdministerAssessments),
    (Method::Post, "/fn/answer_assessment", AdministerAssessments),
    // Metrics (issue 13).
    (Method::Get, "/state/metrics", SeeStateMetrics),
    (Method::Get, "/state/metrics/csv", SeeStateMetrics),
    (Method::Get, "/united-way/metrics", SeeChapterMetrics),
    (Method::Get, "/united-way/metrics/csv", SeeChapterMetrics),
    // The monthly incentive report (issue 13).
    (Method::Get, "/state/incentives", SeeIncentiveReports),
    (Method::Get, "/state/incentives/:month", SeeIncentiveReports),
    (
        Method::Get,
        "/state/incentives/:month/csv",
        SeeIncentiveReports,
    ),
    (Method::Post, "/fn/make_incentive_report", ManageIncentives),
    (
        Method::Post,
        "/fn/set_incentive_eligibility",
        ManageIncentives,
    ),
];

/// Does `path` match the route pattern `pattern`?
pub fn matches(pattern: &str, path: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        return path.starts_with(prefix);
    }
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with(':') && !g.is_empty() => continue,
            (Some(w), Some(g)) if w == g => continue,
            _ => return false,
        }
    }
}

/// The action a request performs, or `None` when no route matches (refused).
pub fn action_for(method: Method, path: &str) -> Option<Action> {
    ROUTES
        .iter()
        .find(|(m, pattern, _)| *m == method && matches(pattern, path))
        .map(|(.., action)| *action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_policy_entry() {
        for (.., action) in ROUTES {
            assert!(scope(*action).is_some(), "{action:?} has no policy entry");
        }
    }

    #[test]
    fn patterns_match_one_segment_per_parameter() {
        assert!(matches("/programs/:id", "/programs/abc"));
        assert!(!matches("/programs/:id", "/programs/abc/share"));
        assert!(!matches("/programs/:id", "/programs/"));
        assert!(matches("/pkg/*", "/pkg/app-123.wasm"));
        assert!(matches("/", "/"));
        assert!(!matches("/", "/x"));
    }

    #[test]
    fn unknown_routes_and_methods_are_refused() {
        assert_eq!(action_for(Method::Post, "/fn/drop_tables"), None);
        assert_eq!(action_for(Method::Post, "/partner"), None);
        assert_eq!(action_for(Method::Get, "/fn/sign_in"), None);
    }

    #[test]
    fn only_state_administrators_search_the_audit_trail() {
        for role in Role::ALL {
            assert_eq!(allows(role, SearchAudit), role == StateAdmin);
        }
    }

    #[test]
    fn only_hospital_users_screen_with_ahc() {
        for role in Role::ALL {
            assert_eq!(allows(role, ScreenWithAhc), role == HospitalStaff);
            assert!(
                allows(role, TakeSelfAssessment),
                "anyone may take the self-assessment"
            );
        }
    }

    #[test]
    fn people_still_onboarding_reach_nothing_of_partners() {
        for action in [SeePartnerDashboard, ManageTeam, ReviewClaims, SearchAudit] {
            assert!(!allows(Onboarding, action));
            assert!(!allows(Anonymous, action));
        }
    }
}
