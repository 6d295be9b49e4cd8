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

/// Why a resource was not provided (the dashboard counts these).
pub const NOT_PROVIDED_REASONS: [&str; 7] = [
    "unable_to_reach",
    "got_help_elsewhere",
    "outside_service_area",
    "not_eligible",
    "no_capacity",
    "resident_declined",
    "other",
];

#[cfg(test)]
mod tests {
    use super::*;

    const MOVES: [Move; 6] = [
        Accept,
        Decline,
        RecordContact,
        CloseProvided,
        CloseNotProvided,
        Cancel,
    ];

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
