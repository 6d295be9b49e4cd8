//! The referral state machine: every status, every allowed move, in one place. Anything not
//! listed in [`next`] is refused. Each status maps to the HL7 FHIR SDOH Clinical Care `Task`
//! status it corresponds to, for the health information exchange.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Sent; the receiving organization has not answered yet.
    Sent,
    /// The receiving organization took it on.
    Accepted,
    /// Someone is working it: at least one contact attempt is logged.
    InProgress,
    /// The receiving organization declined it (with a reason).
    Declined,
    /// Closed: the resident got what they were referred for.
    ResourceProvided,
    /// Closed: they did not (with a reason).
    ResourceNotProvided,
    /// Withdrawn by the sender before anyone worked it.
    Cancelled,
}

/// What someone does to a referral.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Move {
    Accept,
    Decline,
    RecordContact,
    CloseProvided,
    CloseNotProvided,
    Cancel,
}

use Move::*;
use Status::*;

impl Status {
    pub const ALL: [Status; 7] = [
        Sent,
        Accepted,
        InProgress,
        Declined,
        ResourceProvided,
        ResourceNotProvided,
        Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sent => "sent",
            Accepted => "accepted",
            InProgress => "in_progress",
            Declined => "declined",
            ResourceProvided => "resource_provided",
            ResourceNotProvided => "resource_not_provided",
            Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Still waiting for an outcome.
    pub fn is_open(self) -> bool {
        matches!(self, Sent | Accepted | InProgress)
    }

    /// The FHIR `Task.status` (SDOH Clinical Care IG) for this status.
    pub fn fhir_task_status(self) -> &'static str {
        match self {
            Sent => "requested",
            Accepted => "accepted",
            InProgress => "in-progress",
            Declined => "rejected",
            ResourceProvided => "completed",
            ResourceNotProvided => "failed",
            Cancelled => "cancelled",
        }
    }
}

/// The status after `mv`, or `None` if the move is not allowed from `from`.
pub fn next(from: Status, mv: Move) -> Option<Status> {
    match (from, mv) {
        (Sent, Accept) => Some(Accepted),
        (Sent, Decline) => Some(Declined),
        (Sent, Cancel) => Some(Cancelled),
        (Sent | Accepted | InProgress, RecordContact) => Some(InProgress),
        (Sent | Accepted | InProgress, CloseProvided) => Some(ResourceProvided),
        (Sent | Accepted | InProgress, CloseNotProvided) => Some(ResourceNotProvided),
        _ => None,
    }
}

impl Move {
    pub const ALL: [Move; 6] = [
        Accept,
        Decline,
        RecordContact,
        CloseProvided,
        CloseNotProvided,
        Cancel,
    ];

    /// The name a form posts (`action=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Accept => "accept",
            Decline => "decline",
            RecordContact => "contact",
            CloseProvided => "close_provided",
            CloseNotProvided => "close_not_provided",
            Cancel => "cancel",
        }
    }

    pub fn parse(s: &str) -> Option<Move> {
        Move::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The reason a move carries. A provided closure carries none: outcome data that says
    /// "provided · unable to reach" is wrong data that dashboards and incentives would count.
    pub fn reason(self) -> ReasonRule {
        match self {
            Accept | RecordContact | CloseProvided => ReasonRule::None,
            CloseNotProvided => ReasonRule::NotProvided,
            Decline | Cancel => ReasonRule::InTheirWords,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReasonRule {
    /// The move takes no reason; one sent is refused.
    None,
    /// One of [`NotProvidedReason`], required.
    NotProvided,
    /// The person's own words, required.
    InTheirWords,
}

/// Why a resource was not provided (the dashboard and the state metrics count these).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NotProvidedReason {
    UnableToReach,
    GotHelpElsewhere,
    OutsideServiceArea,
    NotEligible,
    NoCapacity,
    ResidentDeclined,
    Other,
}

impl NotProvidedReason {
    pub const ALL: [NotProvidedReason; 7] = [
        NotProvidedReason::UnableToReach,
        NotProvidedReason::GotHelpElsewhere,
        NotProvidedReason::OutsideServiceArea,
        NotProvidedReason::NotEligible,
        NotProvidedReason::NoCapacity,
        NotProvidedReason::ResidentDeclined,
        NotProvidedReason::Other,
    ];

    /// The stored code (`referrals.outcome_reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotProvidedReason::UnableToReach => "unable_to_reach",
            NotProvidedReason::GotHelpElsewhere => "got_help_elsewhere",
            NotProvidedReason::OutsideServiceArea => "outside_service_area",
            NotProvidedReason::NotEligible => "not_eligible",
            NotProvidedReason::NoCapacity => "no_capacity",
            NotProvidedReason::ResidentDeclined => "resident_declined",
            NotProvidedReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<NotProvidedReason> {
        NotProvidedReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How a contact attempt went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactResult {
    Reached,
    NotReached,
}

impl ContactResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactResult::Reached => "reached",
            ContactResult::NotReached => "not_reached",
        }
    }

    pub fn parse(s: &str) -> Option<ContactResult> {
        [ContactResult::Reached, ContactResult::NotReached]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOVES: [Move; 6] = Move::ALL;

    #[test]
    fn only_a_not_provided_closure_carries_a_not_provided_reason() {
        assert_eq!(CloseProvided.reason(), ReasonRule::None);
        assert_eq!(CloseNotProvided.reason(), ReasonRule::NotProvided);
        assert_eq!(Decline.reason(), ReasonRule::InTheirWords);
        assert_eq!(Cancel.reason(), ReasonRule::InTheirWords);
        for m in Move::ALL {
            assert_eq!(Move::parse(m.as_str()), Some(m));
        }
        for r in NotProvidedReason::ALL {
            assert_eq!(NotProvidedReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(NotProvidedReason::parse("Unable to reach"), None);
    }

    /// Every allowed move, and where it leads.
    const ALLOWED: &[(Status, Move, Status)] = &[
        (Sent, Accept, Accepted),
        (Sent, Decline, Declined),
        (Sent, Cancel, Cancelled),
        (Sent, RecordContact, InProgress),
        (Sent, CloseProvided, ResourceProvided),
        (Sent, CloseNotProvided, ResourceNotProvided),
        (Accepted, RecordContact, InProgress),
        (Accepted, CloseProvided, ResourceProvided),
        (Accepted, CloseNotProvided, ResourceNotProvided),
        (InProgress, RecordContact, InProgress),
        (InProgress, CloseProvided, ResourceProvided),
        (InProgress, CloseNotProvided, ResourceNotProvided),
    ];

    #[test]
    fn every_allowed_move_leads_where_it_should() {
        for (from, mv, to) in ALLOWED {
            assert_eq!(next(*from, *mv), Some(*to), "{from:?} --{mv:?}-->");
        }
    }

    #[test]
    fn every_other_move_is_refused() {
        for from in Status::ALL {
            for mv in MOVES {
                if !ALLOWED.iter().any(|(f, m, _)| *f == from && *m == mv) {
                    assert_eq!(
                        next(from, mv),
                        None,
                        "{from:?} --{mv:?}--> should be refused"
                    );
                }
            }
        }
    }

    #[test]
    fn closed_referrals_stay_closed() {
        for from in Status::ALL.into_iter().filter(|s| !s.is_open()) {
            for mv in MOVES {
                assert_eq!(next(from, mv), None);
            }
        }
    }

    #[test]
    fn each_status_has_its_fhir_task_status() {
        let fhir: Vec<_> = Status::ALL.iter().map(|s| s.fhir_task_status()).collect();
        assert_eq!(
            fhir,
            [
                "requested",
                "accepted",
                "in-progress",
                "rejected",
                "completed",
                "failed",
                "cancelled"
            ]
        );
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
