//! Scoring: a response's answers → its computed scores and one SDoH indicator per need (rule),
//! each Positive, Negative or NotAnswered. Pure functions over the instrument's data.
//!
//! Three-valued on purpose: a declined, don't-know or missing answer that could have decided a
//! need makes it NotAnswered, never Negative. A need is Positive as soon as one condition holds
//! (a "sometimes true" food answer is a need whatever the other food answer was).

use super::instrument::{
    Absent, Answer, Answers, Condition, Domain, Enablement, Instrument, Method,
};
use serde::{Deserialize, Serialize};

/// What a need's answers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interpretation {
    Positive,
    Negative,
    /// Could not be decided: shown as "not answered", never as negative.
    NotAnswered(Absent),
}

impl Interpretation {
    pub fn as_str(self) -> &'static str {
        match self {
            Interpretation::Positive => "positive",
            Interpretation::Negative => "negative",
            Interpretation::NotAnswered(_) => "not-answered",
        }
    }

    /// Why it could not be decided.
    pub fn absent(self) -> Option<Absent> {
        match self {
            Interpretation::NotAnswered(why) => Some(why),
            _ => None,
        }
    }
}

/// A computed total, or why it could not be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScoreValue {
    Value(i64),
    NotAnswered(Absent),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreResult {
    /// The score's code (LOINC 95614-4, 55757-9, 77594-0).
    pub code: String,
    pub value: ScoreValue,
}

/// One need's result: what the app stores, shows and seals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// The rule id ("food", "safety"): the same need in every instrument.
    pub need: String,
    pub domain: Domain,
    pub interpretation: Interpretation,
    pub sensitive: bool,
    /// Directory subcategories that meet the need.
    pub categories: Vec<String>,
}

/// Everything scoring says about one response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub instrument: String,
    pub version: String,
    pub scores: Vec<ScoreResult>,
    /// One per rule, in the instrument's order.
    pub indicators: Vec<Indicator>,
}

impl Outcome {
    pub fn indicator(&self, need: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.need == need)
    }

    pub fn score(&self, code: &str) -> Option<ScoreValue> {
        self.scores.iter().find(|s| s.code == code).map(|s| s.value)
    }

    pub fn positive(&self) -> impl Iterator<Item = &Indicator> {
        self.indicators
            .iter()
            .filter(|i| i.interpretation == Interpretation::Positive)
    }

    /// The categories of the positive needs, first mention first, each once: "matching
    /// programs near you".
    pub fn categories(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for category in self.positive().flat_map(|i| i.categories.iter()) {
            if !out.contains(&category.as_str()) {
                out.push(category);
            }
        }
        out
    }
}

/// An item's answer as scoring sees it.
enum Given<'a> {
    /// Skipped by skip logic: the item does not apply.
    Skipped,
    Unknown(Absent),
    Answer(&'a Answer),
}

fn given<'a>(instrument: &Instrument, answers: &'a Answers, item: &str) -> Given<'a> {
    match instrument.enablement(item, answers) {
        Enablement::Disabled => Given::Skipped,
        Enablement::Undecided(why) => Given::Unknown(why),
        Enablement::Enabled => match answers.get(item) {
            None => Given::Unknown(Absent::Missing),
            Some(Answer::Declined) => Given::Unknown(Absent::Declined),
            Some(Answer::DontKnow) => Given::Unknown(Absent::DontKnow),
            Some(answer) => Given::Answer(answer),
        },
    }
}

/// The number an item's answer counts for in a score.
fn value(instrument: &Instrument, item: &str, answer: &Answer) -> Option<i64> {
    match answer {
        Answer::Integer(n) => Some(*n),
        Answer::Choice(codes) => {
            let question = instrument.item(item)?;
            codes
                .iter()
                .map(|c| question.answer(c).and_then(|a| a.value))
                .sum()
        }
        Answer::Declined | Answer::DontKnow => None,
    }
}

/// Computes one score. A sum needs every item; a product is 0 as soon as one factor is 0 (so
/// "0 days of exercise" decides the weekly minutes without the skipped minutes question).
pub fn compute(instrument: &Instrument, code: &str, answers: &Answers) -> Option<ScoreValue> {
    let score = instrument.score(code)?;
    let mut values = Vec::new();
    let mut unknown: Option<Absent> = None;
    for item in &score.items {
        match given(instrument, answers, item) {
            Given::Answer(answer) => match value(instrument, item, answer) {
                Some(v) => values.push(v),
                None => unknown = unknown.max(Some(Absent::Missing)),
            },
            Given::Unknown(why) => unknown = unknown.max(Some(why)),
            // A skipped item in a score means the score was not completed.
            Given::Skipped => unknown = unknown.max(Some(Absent::Missing)),
        }
    }
    if score.method == Method::Product && values.contains(&0) {
        return Some(ScoreValue::Value(0));
    }
    Some(match unknown {
        Some(why) => ScoreValue::NotAnswered(why),
        None => ScoreValue::Value(match score.method {
            Method::Sum => values.iter().sum(),
            Method::Product => values.iter().product(),
        }),
    })
}

/// Scores a response: every score, then one indicator per rule.
pub fn score(instrument: &Instrument, answers: &Answers) -> Outcome {
    let scores: Vec<ScoreResult> = instrument
        .scores
        .iter()
        .map(|s| ScoreResult {
            code: s.code.clone(),
            value: compute(instrument, &s.code, answers).expect("the instrument's own score"),
        })
        .collect();
    let indicators = instrument
        .rules
        .iter()
        .map(|rule| {
            let mut unknown: Option<Absent> = None;
            let mut positive = false;
            for condition in &rule.conditions {
                match holds(instrument, answers, &scores, condition) {
                    Ok(true) => positive = true,
                    Ok(false) => {}
                    Err(why) => unknown = unknown.max(Some(why)),
                }
            }
            let interpretation = match (positive, unknown) {
                (true, _) => Interpretation::Positive,
                (false, Some(why)) => Interpretation::NotAnswered(why),
                (false, None) => Interpretation::Negative,
            };
            Indicator {
                need: rule.id.clone(),
                domain: rule.domain.clone(),
                interpretation,
                sensitive: rule.sensitive,
                categories: rule.categories.clone(),
            }
        })
        .collect();
    Outcome {
        instrument: instrument.id.clone(),
        version: instrument.version.clone(),
        scores,
        indicators,
    }
}

/// Whether a condition holds; `Err` when it cannot be decided. A skipped item's condition does
/// not hold: the question did not apply.
fn holds(
    instrument: &Instrument,
    answers: &Answers,
    scores: &[ScoreResult],
    condition: &Condition,
) -> Result<bool, Absent> {
    match condition {
        Condition::Answer { item, any_of } => match given(instrument, answers, item) {
            Given::Skipped => Ok(false),
            Given::Unknown(why) => Err(why),
            Given::Answer(Answer::Choice(codes)) => Ok(codes.iter().any(|c| any_of.contains(c))),
            Given::Answer(_) => Ok(false),
        },
        Condition::Score { score, threshold } => {
            match scores.iter().find(|s| &s.code == score).map(|s| s.value) {
                Some(ScoreValue::Value(v)) => Ok(threshold.holds(v)),
                Some(ScoreValue::NotAnswered(why)) => Err(why),
                None => Err(Absent::Missing),
            }
        }
    }
}

/// What one chosen answer says on its own, for the FHIR observation of that answer: Positive
/// when a rule lists it, Negative when rules look at the item but not at this answer, `None`
/// when no rule looks at the item directly (its score carries the interpretation).
pub fn answer_interpretation(
    instrument: &Instrument,
    item: &str,
    answer: &str,
) -> Option<Interpretation> {
    let mut looked_at = false;
    for rule in &instrument.rules {
        for condition in &rule.conditions {
            if let Condition::Answer {
                item: target,
                any_of,
            } = condition
            {
                if target == item {
                    looked_at = true;
                    if any_of.iter().any(|c| c == answer) {
                        return Some(Interpretation::Positive);
                    }
                }
            }
        }
    }
    looked_at.then_some(Interpretation::Negative)
}

/// What a computed score says, for its FHIR observation; `None` when no rule uses the score.
pub fn score_interpretation(
    instrument: &Instrument,
    score: &str,
    value: ScoreValue,
) -> Option<Interpretation> {
    let thresholds: Vec<_> = instrument
        .rules
        .iter()
        .flat_map(|r| r.conditions.iter())
        .filter_map(|c| match c {
            Condition::Score {
                score: s,
                threshold,
            } if s == score => Some(*threshold),
            _ => None,
        })
        .collect();
    if thresholds.is_empty() {
        return None;
    }
    Some(match value {
        ScoreValue::NotAnswered(why) => Interpretation::NotAnswered(why),
        ScoreValue::Value(v) if thresholds.iter().any(|t| t.holds(v)) => Interpretation::Positive,
        ScoreValue::Value(_) => Interpretation::Negative,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core() -> &'static Instrument {
        Instrument::get("ahc-hrsn-core").unwrap()
    }
    fn supplemental() -> &'static Instrument {
        Instrument::get("ahc-hrsn-supplemental").unwrap()
    }
    fn self_assessment() -> &'static Instrument {
        Instrument::get("self-assessment").unwrap()
    }

    fn choice(code: &str) -> Answer {
        Answer::Choice(vec![code.to_string()])
    }

    fn with(pairs: &[(&str, Answer)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn need(instrument: &Instrument, answers: &Answers, need: &str) -> Interpretation {
        score(instrument, answers)
            .indicator(need)
            .unwrap_or_else(|| panic!("no need {need}"))
            .interpretation
    }

    use Interpretation::{Negative, NotAnswered, Positive};

    // ── AHC core ──

    #[test]
    fn living_situation_separates_instability_from_homelessness() {
        let c = core();
        let steady = with(&[("71802-3", choice("LA31993-1"))]);
        assert_eq!(need(c, &steady, "housing-instability"), Negative);
        assert_eq!(need(c, &steady, "homelessness"), Negative);
        let worried = with(&[("71802-3", choice("LA31994-9"))]);
        assert_eq!(need(c, &worried, "housing-instability"), Positive);
        assert_eq!(need(c, &worried, "homelessness"), Negative);
        let none = with(&[("71802-3", choice("LA31995-6"))]);
        assert_eq!(need(c, &none, "housing-instability"), Negative);
        assert_eq!(need(c, &none, "homelessness"), Positive);
        let declined = with(&[("71802-3", Answer::Declined)]);
        assert_eq!(
            need(c, &declined, "housing-instability"),
            NotAnswered(Absent::Declined)
        );
        assert_eq!(
            need(c, &declined, "homelessness"),
            NotAnswered(Absent::Declined)
        );
        assert_eq!(
            need(c, &Answers::new(), "homelessness"),
            NotAnswered(Absent::Missing)
        );
    }

    #[test]
    fn any_housing_problem_is_inadequate_housing() {
        let c = core();
        for problem in [
            "LA31996-4",
            "LA28580-1",
            "LA31997-2",
            "LA31998-0",
            "LA31999-8",
            "LA32000-4",
            "LA32001-2",
        ] {
            assert_eq!(
                need(
                    c,
                    &with(&[("96778-6", choice(problem))]),
                    "inadequate-housing"
                ),
                Positive,
                "{problem}"
            );
        }
        let two = Answer::Choice(vec!["LA28580-1".into(), "LA32001-2".into()]);
        assert_eq!(
            need(c, &with(&[("96778-6", two)]), "inadequate-housing"),
            Positive
        );
        assert_eq!(
            need(
                c,
                &with(&[("96778-6", choice("LA9-3"))]),
                "inadequate-housing"
            ),
            Negative
        );
        assert_eq!(
            need(
                c,
                &with(&[("96778-6", Answer::DontKnow)]),
                "inadequate-housing"
            ),
            NotAnswered(Absent::DontKnow)
        );
    }

    #[test]
    fn food_is_a_need_when_either_item_is_often_or_sometimes_true() {
        let c = core();
        let food = |a: Answer, b: Answer| need(c, &with(&[("88122-7", a), ("88123-5", b)]), "food");
        assert_eq!(food(choice("LA28398-8"), choice("LA28398-8")), Negative);
        assert_eq!(food(choice("LA28397-0"), choice("LA28398-8")), Positive);
        assert_eq!(food(choice("LA28398-8"), choice("LA6729-3")), Positive);
        assert_eq!(
            food(choice("LA6729-3"), Answer::Declined),
            Positive,
            "one positive item decides"
        );
        assert_eq!(
            food(choice("LA28398-8"), Answer::Declined),
            NotAnswered(Absent::Declined)
        );
        assert_eq!(
            food(choice("LA28398-8"), Answer::DontKnow),
            NotAnswered(Absent::DontKnow)
        );
        assert_eq!(
            food(Answer::DontKnow, Answer::Declined),
            NotAnswered(Absent::Declined),
            "declined is reported first"
        );
        assert_eq!(
            need(c, &with(&[("88122-7", choice("LA28398-8"))]), "food"),
            NotAnswered(Absent::Missing)
        );
    }

    #[test]
    fn transportation_is_a_need_on_yes() {
        let c = core();
        assert_eq!(
            need(c, &with(&[("93030-5", choice("LA33-6"))]), "transportation"),
            Positive
        );
        assert_eq!(
            need(c, &with(&[("93030-5", choice("LA32-8"))]), "transportation"),
            Negative
        );
        assert_eq!(
            need(c, &with(&[("93030-5", Answer::Declined)]), "transportation"),
            NotAnswered(Absent::Declined)
        );
    }

    #[test]
    fn utilities_are_a_need_when_threatened_or_already_shut_off() {
        let c = core();
        assert_eq!(
            need(c, &with(&[("96779-4", choice("LA33-6"))]), "utilities"),
            Positive
        );
        assert_eq!(
            need(c, &with(&[("96779-4", choice("LA32002-0"))]), "utilities"),
            Positive
        );
        assert_eq!(
            need(c, &with(&[("96779-4", choice("LA32-8"))]), "utilities"),
            Negative
        );
        assert_eq!(
            need(c, &with(&[("96779-4", Answer::DontKnow)]), "utilities"),
            NotAnswered(Absent::DontKnow)
        );
    }

    const SAFETY: [&str; 4] = ["95618-5", "95617-7", "95616-9", "95615-1"];
    const FREQUENCY: [&str; 5] = [
        "LA6270-8",
        "LA10066-1",
        "LA10082-8",
        "LA16644-9",
        "LA6482-9",
    ];

    /// Safety answers worth these points (1-5 each).
    fn safety(points: [usize; 4]) -> Answers {
        SAFETY
            .iter()
            .zip(points)
            .map(|(item, p)| (item.to_string(), choice(FREQUENCY[p - 1])))
            .collect()
    }

    #[test]
    fn safety_is_a_need_when_the_total_is_above_ten() {
        let c = core();
        let outcome = score(c, &safety([1, 1, 1, 1]));
        assert_eq!(outcome.score("95614-4"), Some(ScoreValue::Value(4)));
        assert_eq!(
            outcome.indicator("safety").unwrap().interpretation,
            Negative
        );
        assert_eq!(
            score(c, &safety([3, 3, 2, 2])).score("95614-4"),
            Some(ScoreValue::Value(10))
        );
        assert_eq!(
            need(c, &safety([3, 3, 2, 2]), "safety"),
            Negative,
            "10 is not above 10"
        );
        assert_eq!(need(c, &safety([3, 3, 3, 2]), "safety"), Positive, "11 is");
        assert_eq!(need(c, &safety([5, 5, 5, 5]), "safety"), Positive);
        assert_eq!(
            score(c, &safety([5, 5, 5, 5])).score("95614-4"),
            Some(ScoreValue::Value(20))
        );
        assert!(
            score(c, &safety([5, 1, 1, 5]))
                .indicator("safety")
                .unwrap()
                .sensitive
        );
    }

    /// A declined or don't-know safety item: the total cannot be computed, and the need is "not
    /// answered", never negative, even when the other three are "never".
    #[test]
    fn a_safety_item_left_unanswered_leaves_safety_not_answered() {
        let c = core();
        for (why, answer) in [
            (Absent::Declined, Answer::Declined),
            (Absent::DontKnow, Answer::DontKnow),
        ] {
            let mut answers = safety([1, 1, 1, 1]);
            answers.insert("95616-9".into(), answer);
            let outcome = score(c, &answers);
            assert_eq!(outcome.score("95614-4"), Some(ScoreValue::NotAnswered(why)));
            assert_eq!(
                outcome.indicator("safety").unwrap().interpretation,
                NotAnswered(why)
            );
        }
        let mut missing = safety([1, 1, 1, 1]);
        missing.remove("95615-1");
        assert_eq!(need(c, &missing, "safety"), NotAnswered(Absent::Missing));
        let mut mixed = safety([1, 1, 1, 1]);
        mixed.insert("95618-5".into(), Answer::DontKnow);
        mixed.insert("95615-1".into(), Answer::Declined);
        assert_eq!(
            score(c, &mixed).score("95614-4"),
            Some(ScoreValue::NotAnswered(Absent::Declined))
        );
    }

    // ── AHC supplemental ──

    #[test]
    fn financial_strain_is_a_need_when_very_or_somewhat_hard() {
        let s = supplemental();
        assert_eq!(
            need(
                s,
                &with(&[("76513-1", choice("LA15832-1"))]),
                "financial-strain"
            ),
            Positive
        );
        assert_eq!(
            need(
                s,
                &with(&[("76513-1", choice("LA22683-9"))]),
                "financial-strain"
            ),
            Positive
        );
        assert_eq!(
            need(
                s,
                &with(&[("76513-1", choice("LA31980-8"))]),
                "financial-strain"
            ),
            Negative
        );
        assert_eq!(
            need(
                s,
                &with(&[("76513-1", Answer::Declined)]),
                "financial-strain"
            ),
            NotAnswered(Absent::Declined)
        );
    }

    #[test]
    fn employment_is_a_need_when_help_finding_or_keeping_work_is_wanted() {
        let s = supplemental();
        assert_eq!(
            need(s, &with(&[("96780-2", choice("LA31981-6"))]), "employment"),
            Positive
        );
        assert_eq!(
            need(s, &with(&[("96780-2", choice("LA31982-4"))]), "employment"),
            Positive
        );
        assert_eq!(
            need(s, &with(&[("96780-2", choice("LA31983-2"))]), "employment"),
            Negative
        );
    }

    #[test]
    fn daily_help_is_a_need_when_more_help_is_needed() {
        let s = supplemental();
        assert_eq!(
            need(s, &with(&[("96781-0", choice("LA31978-2"))]), "daily-help"),
            Positive
        );
        assert_eq!(
            need(s, &with(&[("96781-0", choice("LA31979-0"))]), "daily-help"),
            Positive
        );
        assert_eq!(
            need(s, &with(&[("96781-0", choice("LA31976-6"))]), "daily-help"),
            Negative
        );
        assert_eq!(
            need(s, &with(&[("96781-0", choice("LA31977-4"))]), "daily-help"),
            Negative
        );
    }

    #[test]
    fn loneliness_is_a_need_often_or_always() {
        let s = supplemental();
        for (answer, expected) in [
            ("LA6270-8", Negative),
            ("LA10066-1", Negative),
            ("LA10082-8", Negative),
            ("LA10044-8", Positive),
            ("LA9933-8", Positive),
        ] {
            assert_eq!(
                need(s, &with(&[("93159-2", choice(answer))]), "loneliness"),
                expected,
                "{answer}"
            );
        }
    }

    #[test]
    fn language_and_school_are_needs_on_yes() {
        let s = supplemental();
        assert_eq!(
            need(s, &with(&[("97027-7", choice("LA33-6"))]), "language"),
            Positive
        );
        assert_eq!(
            need(s, &with(&[("97027-7", choice("LA32-8"))]), "language"),
            Negative
        );
        assert_eq!(
            need(s, &with(&[("96782-8", choice("LA33-6"))]), "school"),
            Positive
        );
        assert_eq!(
            need(s, &with(&[("96782-8", choice("LA32-8"))]), "school"),
            Negative
        );
        assert_eq!(
            need(s, &with(&[("96782-8", Answer::DontKnow)]), "school"),
            NotAnswered(Absent::DontKnow)
        );
    }

    #[test]
    fn physical_activity_is_a_need_under_150_minutes_a_week() {
        let s = supplemental();
        let week = |days: &str, minutes: Option<Answer>| {
            let mut answers = with(&[("89555-7", choice(days))]);
            if let Some(m) = minutes {
                answers.insert("68516-4".into(), m);
            }
            let outcome = score(s, &answers);
            (
                outcome.score("77594-0").unwrap(),
                outcome
                    .indicator("physical-activity")
                    .unwrap()
                    .interpretation,
            )
        };
        assert_eq!(
            week("LA6111-4", None),
            (ScoreValue::Value(0), Positive),
            "0 days: minutes are not asked"
        );
        assert_eq!(
            week("LA10137-0", Some(choice("LA28855-7"))),
            (ScoreValue::Value(150), Negative),
            "5 × 30"
        );
        assert_eq!(
            week("LA6114-8", Some(choice("LA28858-1"))),
            (ScoreValue::Value(120), Positive),
            "3 × 40"
        );
        assert_eq!(
            week("LA10139-6", Some(choice("LA32060-8"))),
            (ScoreValue::Value(1050), Negative),
            "7 × 150+"
        );
        assert_eq!(
            week("LA6112-2", Some(choice("LA6111-4"))),
            (ScoreValue::Value(0), Positive),
            "1 × 0"
        );
        assert_eq!(
            week("LA6114-8", Some(Answer::DontKnow)),
            (
                ScoreValue::NotAnswered(Absent::DontKnow),
                NotAnswered(Absent::DontKnow)
            )
        );
        assert_eq!(
            week("LA6114-8", None),
            (
                ScoreValue::NotAnswered(Absent::Missing),
                NotAnswered(Absent::Missing)
            )
        );
        let declined = score(s, &with(&[("89555-7", Answer::Declined)]));
        assert_eq!(
            declined.score("77594-0"),
            Some(ScoreValue::NotAnswered(Absent::Declined))
        );
        assert_eq!(
            declined
                .indicator("physical-activity")
                .unwrap()
                .interpretation,
            NotAnswered(Absent::Declined)
        );
        // An answer to the skipped minutes question does not count.
        let stale = with(&[
            ("89555-7", choice("LA6111-4")),
            ("68516-4", choice("LA32060-8")),
        ]);
        assert_eq!(
            score(s, &stale).score("77594-0"),
            Some(ScoreValue::Value(0))
        );
    }

    const USE: [&str; 4] = ["68517-2", "96842-0", "95530-2", "68524-8"];

    #[test]
    fn substance_use_is_a_need_on_any_answer_but_never() {
        let s = supplemental();
        let never: Answers = USE
            .iter()
            .map(|i| (i.to_string(), choice("LA6270-8")))
            .collect();
        assert_eq!(need(s, &never, "substance-use"), Negative);
        for item in USE {
            for often in ["LA26460-8", "LA18876-5", "LA18891-4", "LA18934-2"] {
                let mut answers = never.clone();
                answers.insert(item.into(), choice(often));
                assert_eq!(
                    need(s, &answers, "substance-use"),
                    Positive,
                    "{item} {often}"
                );
            }
            let mut declined = never.clone();
            declined.insert(item.into(), Answer::Declined);
            assert_eq!(
                need(s, &declined, "substance-use"),
                NotAnswered(Absent::Declined),
                "{item}"
            );
        }
        assert!(
            score(s, &never)
                .indicator("substance-use")
                .unwrap()
                .sensitive
        );
    }

    #[test]
    fn depression_is_a_need_at_a_phq2_total_of_three() {
        let s = supplemental();
        let phq =
            |a: &str, b: &str| score(s, &with(&[("44250-9", choice(a)), ("44255-8", choice(b))]));
        let two = phq("LA6569-3", "LA6569-3");
        assert_eq!(two.score("55757-9"), Some(ScoreValue::Value(2)));
        assert_eq!(
            two.indicator("depression").unwrap().interpretation,
            Negative
        );
        let three = phq("LA6570-1", "LA6569-3");
        assert_eq!(three.score("55757-9"), Some(ScoreValue::Value(3)));
        assert_eq!(
            three.indicator("depression").unwrap().interpretation,
            Positive
        );
        assert_eq!(
            phq("LA6571-9", "LA6571-9").score("55757-9"),
            Some(ScoreValue::Value(6))
        );
        assert_eq!(
            phq("LA6568-5", "LA6568-5")
                .indicator("depression")
                .unwrap()
                .interpretation,
            Negative
        );
        let declined = with(&[
            ("44250-9", choice("LA6568-5")),
            ("44255-8", Answer::Declined),
        ]);
        assert_eq!(
            need(s, &declined, "depression"),
            NotAnswered(Absent::Declined)
        );
    }

    #[test]
    fn stress_is_a_need_quite_a_bit_or_very_much() {
        let s = supplemental();
        for (answer, expected) in [
            ("LA6568-5", Negative),
            ("LA13863-8", Negative),
            ("LA13909-9", Negative),
            ("LA13902-4", Positive),
            ("LA13914-9", Positive),
        ] {
            assert_eq!(
                need(s, &with(&[("93038-8", choice(answer))]), "stress"),
                expected,
                "{answer}"
            );
        }
    }

    #[test]
    fn disability_is_a_need_on_either_yes() {
        let s = supplemental();
        let both = |a: &str, b: &str| {
            need(
                s,
                &with(&[("69858-9", choice(a)), ("69861-3", choice(b))]),
                "disability",
            )
        };
        assert_eq!(both("LA32-8", "LA32-8"), Negative);
        assert_eq!(both("LA33-6", "LA32-8"), Positive);
        assert_eq!(both("LA32-8", "LA33-6"), Positive);
    }

    // ── Self-assessment ──

    #[test]
    fn the_self_assessment_finds_the_same_needs() {
        let s = self_assessment();
        let cases: [(&str, Answer, &str); 14] = [
            ("self-home", choice("worried"), "housing-instability"),
            ("self-home", choice("none"), "homelessness"),
            ("self-food-worry", choice("sometimes"), "food"),
            ("self-food-ran-out", choice("often"), "food"),
            ("self-utilities", choice("shut-off"), "utilities"),
            ("self-money", choice("very-hard"), "financial-strain"),
            ("self-rides", choice("yes"), "transportation"),
            ("self-work", choice("keep"), "employment"),
            ("self-school", choice("yes"), "school"),
            ("self-lonely", choice("always"), "loneliness"),
            ("self-insurance", choice("no"), "health-insurance"),
            ("self-care", choice("yes"), "health-care"),
            ("self-stress", choice("yes"), "stress"),
            ("self-afraid", choice("yes"), "safety"),
        ];
        for (item, answer, expected) in cases {
            assert_eq!(
                need(s, &with(&[(item, answer.clone())]), expected),
                Positive,
                "{item}"
            );
        }
        let calm = with(&[
            ("self-home", choice("steady")),
            ("self-home-problems", choice("none")),
            ("self-food-worry", choice("never")),
            ("self-food-ran-out", choice("never")),
            ("self-utilities", choice("no")),
            ("self-money", choice("not-hard")),
            ("self-rides", choice("no")),
            ("self-work", choice("no")),
            ("self-school", choice("no")),
            ("self-kids", choice("no")),
            ("self-lonely", choice("sometimes")),
            ("self-insurance", choice("yes")),
            ("self-care", choice("no")),
            ("self-stress", choice("no")),
            ("self-hurt", choice("no")),
            ("self-afraid", choice("no")),
        ]);
        let outcome = score(s, &calm);
        for indicator in &outcome.indicators {
            assert_eq!(indicator.interpretation, Negative, "{}", indicator.need);
        }
        assert!(outcome.categories().is_empty());
    }

    #[test]
    fn a_skipped_question_is_no_need_but_an_unanswered_gate_is_not_answered() {
        let s = self_assessment();
        let steady = with(&[("self-home", choice("steady"))]);
        assert_eq!(
            need(s, &steady, "shelter-tonight"),
            Negative,
            "not asked: it did not apply"
        );
        let tonight = with(&[
            ("self-home", choice("none")),
            ("self-tonight", choice("no")),
        ]);
        assert_eq!(need(s, &tonight, "shelter-tonight"), Positive);
        assert_eq!(need(s, &tonight, "homelessness"), Positive);
        assert_eq!(
            need(s, &tonight, "inadequate-housing"),
            Negative,
            "no home to describe"
        );
        let declined = with(&[("self-home", Answer::Declined)]);
        assert_eq!(
            need(s, &declined, "shelter-tonight"),
            NotAnswered(Absent::Declined)
        );
        assert_eq!(
            need(s, &declined, "inadequate-housing"),
            NotAnswered(Absent::Declined)
        );

        assert_eq!(
            need(s, &with(&[("self-kids", choice("no"))]), "child-care"),
            Negative
        );
        let care = with(&[
            ("self-kids", choice("yes")),
            ("self-child-care", choice("yes")),
        ]);
        assert_eq!(need(s, &care, "child-care"), Positive);
        assert_eq!(
            need(s, &with(&[("self-kids", choice("yes"))]), "child-care"),
            NotAnswered(Absent::Missing)
        );
        assert_eq!(
            need(s, &with(&[("self-kids", Answer::DontKnow)]), "child-care"),
            NotAnswered(Absent::DontKnow)
        );
    }

    #[test]
    fn self_assessment_safety_is_sensitive_and_never_negative_when_declined() {
        let s = self_assessment();
        let declined = with(&[
            ("self-hurt", Answer::Declined),
            ("self-afraid", choice("no")),
        ]);
        let outcome = score(s, &declined);
        let safety = outcome.indicator("safety").unwrap();
        assert_eq!(safety.interpretation, NotAnswered(Absent::Declined));
        assert!(safety.sensitive);
        assert_eq!(
            need(
                s,
                &with(&[
                    ("self-hurt", choice("yes")),
                    ("self-afraid", Answer::Declined)
                ]),
                "safety"
            ),
            Positive
        );
    }

    // ── Every rule of every instrument, from the data ──

    /// For every answer condition: each listed answer alone makes the need positive, and each
    /// other answer alone does not.
    #[test]
    fn every_answer_condition_decides_as_its_rule_lists() {
        for instrument in Instrument::all() {
            for rule in &instrument.rules {
                for condition in &rule.conditions {
                    let Condition::Answer { item, any_of } = condition else {
                        continue;
                    };
                    let mut answers = Answers::new();
                    if let Some(gate) = &instrument.item(item).unwrap().enable_when {
                        answers.insert(gate.item.clone(), choice(&gate.any_of[0]));
                    }
                    for option in &instrument.item(item).unwrap().answers {
                        answers.insert(item.clone(), choice(&option.code));
                        let got = need(instrument, &answers, &rule.id);
                        if any_of.contains(&option.code) {
                            assert_eq!(got, Positive, "{} {} {}", instrument.id, item, option.code);
                        } else {
                            assert_ne!(got, Positive, "{} {} {}", instrument.id, item, option.code);
                        }
                        let expected = if rules_list(instrument, item, &option.code) {
                            Positive
                        } else {
                            Negative
                        };
                        assert_eq!(
                            answer_interpretation(instrument, item, &option.code),
                            Some(expected)
                        );
                    }
                }
            }
        }
    }

    fn rules_list(instrument: &Instrument, item: &str, answer: &str) -> bool {
        instrument.rules.iter().flat_map(|r| &r.conditions).any(|c| {
            matches!(c, Condition::Answer { item: i, any_of } if i == item && any_of.iter().any(|a| a == answer))
        })
    }

    #[test]
    fn nothing_answered_is_never_negative() {
        for instrument in Instrument::all() {
            for indicator in score(instrument, &Answers::new()).indicators {
                assert_eq!(
                    indicator.interpretation,
                    NotAnswered(Absent::Missing),
                    "{} {}",
                    instrument.id,
                    indicator.need
                );
            }
        }
    }

    #[test]
    fn everything_declined_is_not_answered_declined() {
        for instrument in Instrument::all() {
            let all: Answers = instrument
                .items()
                .map(|i| (i.code.clone(), Answer::Declined))
                .collect();
            let outcome = score(instrument, &all);
            for indicator in &outcome.indicators {
                assert_eq!(
                    indicator.interpretation,
                    NotAnswered(Absent::Declined),
                    "{} {}",
                    instrument.id,
                    indicator.need
                );
            }
            for result in &outcome.scores {
                assert_eq!(result.value, ScoreValue::NotAnswered(Absent::Declined));
            }
        }
    }

    #[test]
    fn an_outcome_names_its_instrument_version_and_matching_categories() {
        let c = core();
        let answers = with(&[
            ("71802-3", choice("LA31995-6")),
            ("88122-7", choice("LA28397-0")),
            ("93030-5", choice("LA33-6")),
        ]);
        let outcome = score(c, &answers);
        assert_eq!(
            (outcome.instrument.as_str(), outcome.version.as_str()),
            ("ahc-hrsn-core", "2017-cms-ahc")
        );
        assert_eq!(
            outcome.indicators.len(),
            c.rules.len(),
            "one indicator per need"
        );
        let positive: Vec<&str> = outcome.positive().map(|i| i.need.as_str()).collect();
        assert_eq!(positive, ["homelessness", "food", "transportation"]);
        assert_eq!(
            outcome.categories(),
            [
                "shelter",
                "housing-search",
                "food-pantries",
                "meals",
                "snap-wic",
                "rides-medical",
                "public-transit",
                "car-help"
            ]
        );
        assert_eq!(
            outcome.indicator("homelessness").unwrap().domain.as_str(),
            "homelessness"
        );
        let json = serde_json::to_value(&outcome.indicators[0]).unwrap();
        assert_eq!(json["interpretation"], "negative");
        let declined = serde_json::to_value(NotAnswered(Absent::Declined)).unwrap();
        assert_eq!(declined, serde_json::json!({"not-answered": "declined"}));
        assert_eq!(NotAnswered(Absent::DontKnow).as_str(), "not-answered");
        assert_eq!(
            NotAnswered(Absent::DontKnow).absent(),
            Some(Absent::DontKnow)
        );
        assert_eq!(Positive.absent(), None);
    }

    #[test]
    fn scores_say_positive_or_negative_only_through_a_rule() {
        let c = core();
        assert_eq!(
            score_interpretation(c, "95614-4", ScoreValue::Value(11)),
            Some(Positive)
        );
        assert_eq!(
            score_interpretation(c, "95614-4", ScoreValue::Value(10)),
            Some(Negative)
        );
        assert_eq!(
            score_interpretation(c, "95614-4", ScoreValue::NotAnswered(Absent::Declined)),
            Some(NotAnswered(Absent::Declined))
        );
        assert_eq!(score_interpretation(c, "nope", ScoreValue::Value(1)), None);
        assert_eq!(
            answer_interpretation(c, "95618-5", "LA6482-9"),
            None,
            "safety items speak through the total"
        );
        assert_eq!(answer_interpretation(c, "96778-6", "LA9-3"), Some(Negative));
        assert_eq!(
            answer_interpretation(c, "71802-3", "LA31995-6"),
            Some(Positive)
        );
        assert_eq!(compute(c, "nope", &Answers::new()), None);
    }
}
