//! A completed response as FHIR R4, in the shapes of the HL7 SDOH Clinical Care IG 2.3.0: one
//! QuestionnaireResponse, and Observations derived from it (SDOHCC Observation Screening
//! Response): one per asked question (one per chosen answer of a multi-select, as SDOHCC's
//! PRAPARE examples do), one per computed score, and a grouping Observation over them all.
//!
//! Each Observation carries category `survey` + `sdoh` + the SDOHCC domain(s) of the needs its
//! question feeds, `interpretation` POS/NEG where a rule decides on it, `dataAbsentReason` when the
//! question was declined (asked-declined), answered "don't know" (asked-unknown) or left blank
//! (unknown), and `derivedFrom` the QuestionnaireResponse. Observations and responses that feed a
//! sensitive need are labelled restricted (`meta.security` R), so a receiver can seal them too.
//! Pure: no clock, no ids from thin air (Observation ids are UUID v5 of the response id).

use super::instrument::{
    Absent, Answer, Answers, Condition, Domain, Enablement, Instrument, Item, Lang,
    NotAnsweredKind, Rule, LOINC,
};
use super::scoring::{
    answer_interpretation, score_interpretation, Interpretation, Outcome, ScoreValue,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

pub const SDOHCC_CODES: &str =
    "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes";
pub const SCREENING_RESPONSE_PROFILE: &str =
    "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ObservationScreeningResponse";
pub const SDC_RESPONSE_PROFILE: &str =
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaireresponse";
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub const US_CORE_CATEGORY: &str = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category";
pub const INTERPRETATION: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
pub const DATA_ABSENT_REASON: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
pub const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
pub const UCUM: &str = "http://unitsofmeasure.org";
/// Tags a QuestionnaireResponse with our instrument id (code) and version (version).
pub const INSTRUMENT_TAG: &str = "urn:wraparound:instrument";

/// A completed response and what the FHIR resources need to say about it.
#[derive(Clone, Copy, Debug)]
pub struct Response<'a> {
    pub instrument: &'a Instrument,
    pub answers: &'a Answers,
    /// The QuestionnaireResponse's logical id (our response id).
    pub id: &'a str,
    /// The subject reference, "Patient/123".
    pub subject: &'a str,
    /// When the answers were given: `authored` and every `effectiveDateTime`.
    pub effective: DateTime<Utc>,
    /// The language the questions were shown in.
    pub lang: Lang,
    /// Who answered, when known ("Patient/123" for a self-report): `source` and `performer`.
    pub source: Option<&'a str>,
}

/// The QuestionnaireResponse first, then its Observations.
pub fn resources(response: &Response, outcome: &Outcome) -> Vec<Value> {
    let mut all = vec![questionnaire_response(response, outcome)];
    all.extend(observations(response, outcome));
    all
}

/// The QuestionnaireResponse: every asked question with its answer ("declined" and "don't know"
/// as their LOINC codes), then every computed score, linkIds "/<code>" as SDOHCC's examples.
pub fn questionnaire_response(response: &Response, outcome: &Outcome) -> Value {
    let instrument = response.instrument;
    let mut items: Vec<Value> = Vec::new();
    let mut sensitive = false;
    for item in asked(response) {
        let Some(answer) = response.answers.get(&item.code) else {
            continue;
        };
        let answers: Vec<Value> = match answer {
            Answer::Choice(codes) => codes
                .iter()
                .filter_map(|code| item.answer(code))
                .map(|option| {
                    json!({"valueCoding": coding(&instrument.code_system, &option.code, &option.text.en)})
                })
                .collect(),
            Answer::Integer(n) => vec![json!({"valueInteger": n})],
            Answer::Declined => vec![not_answered(instrument, NotAnsweredKind::Declined)],
            Answer::DontKnow => vec![not_answered(instrument, NotAnsweredKind::DontKnow)],
        };
        sensitive |= item_rules(instrument, &item.code)
            .iter()
            .any(|r| r.sensitive);
        items.push(json!({
            "linkId": link_id(&item.code),
            "text": item.text.get(response.lang),
            "answer": answers,
        }));
    }
    for score in &instrument.scores {
        if let Some(ScoreValue::Value(v)) = outcome.score(&score.code) {
            let value = match &score.unit {
                Some(unit) => json!({"valueQuantity": quantity(v, unit)}),
                None => json!({"valueInteger": v}),
            };
            items.push(json!({"linkId": link_id(&score.code), "text": score.text.get(response.lang), "answer": [value]}));
        }
    }
    let mut meta = json!({
        "profile": [SDC_RESPONSE_PROFILE],
        "tag": [{"system": INSTRUMENT_TAG, "code": instrument.id, "version": instrument.version}],
    });
    if sensitive {
        meta["security"] = json!([restricted()]);
    }
    let mut qr = json!({
        "resourceType": "QuestionnaireResponse",
        "id": response.id,
        "meta": meta,
        "questionnaire": instrument.questionnaire,
        "status": "completed",
        "subject": {"reference": response.subject},
        "authored": timestamp(response.effective),
        "language": response.lang.code(),
        "item": items,
    });
    if let Some(source) = response.source {
        qr["source"] = json!({"reference": source});
    }
    qr
}

/// The Observations derived from the response: per asked question (per chosen answer of a
/// multi-select), per score, and one grouping Observation with them all as members.
pub fn observations(response: &Response, outcome: &Outcome) -> Vec<Value> {
    let instrument = response.instrument;
    let mut out: Vec<Value> = Vec::new();
    for item in asked(response) {
        let rules = item_rules(instrument, &item.code);
        let domains = domains(&rules);
        let sensitive = rules.iter().any(|r| r.sensitive);
        let code = item_concept(instrument, item);
        match response.answers.get(&item.code) {
            Some(Answer::Choice(codes)) => {
                let per_answer = codes.len() > 1;
                for answer in codes {
                    let Some(option) = item.answer(answer) else {
                        continue;
                    };
                    let key = if per_answer {
                        format!("{}|{}", item.code, answer)
                    } else {
                        item.code.clone()
                    };
                    let mut obs = observation(response, &key, code.clone(), &domains, sensitive);
                    let mut concept = vec![coding(
                        &instrument.code_system,
                        &option.code,
                        &option.text.en,
                    )];
                    if let Some(loinc) = &option.loinc {
                        concept.push(json!({"system": LOINC, "code": loinc}));
                    }
                    obs["valueCodeableConcept"] = json!({"coding": concept});
                    set_interpretation(
                        &mut obs,
                        answer_interpretation(instrument, &item.code, answer),
                    );
                    out.push(obs);
                }
            }
            Some(Answer::Integer(n)) => {
                let mut obs = observation(response, &item.code, code, &domains, sensitive);
                obs["valueInteger"] = json!(n);
                out.push(obs);
            }
            unanswered => {
                let why = match unanswered {
                    Some(Answer::Declined) => Absent::Declined,
                    Some(Answer::DontKnow) => Absent::DontKnow,
                    _ => Absent::Missing,
                };
                let mut obs = observation(response, &item.code, code, &domains, sensitive);
                obs["dataAbsentReason"] = absent_reason(why);
                out.push(obs);
            }
        }
    }
    for score in &instrument.scores {
        let asked_any = score
            .items
            .iter()
            .any(|i| instrument.enablement(i, response.answers) == Enablement::Enabled);
        let Some(value) = outcome.score(&score.code).filter(|_| asked_any) else {
            continue;
        };
        let rules = score_rules(instrument, &score.code);
        let code =
            json!({"coding": [coding(&instrument.code_system, &score.code, &score.text.en)]});
        let mut obs = observation(
            response,
            &score.code,
            code,
            &domains(&rules),
            rules.iter().any(|r| r.sensitive),
        );
        match value {
            ScoreValue::Value(v) => match &score.unit {
                Some(unit) => obs["valueQuantity"] = quantity(v, unit),
                None => obs["valueInteger"] = json!(v),
            },
            ScoreValue::NotAnswered(why) => obs["dataAbsentReason"] = absent_reason(why),
        }
        set_interpretation(
            &mut obs,
            score_interpretation(instrument, &score.code, value),
        );
        out.push(obs);
    }
    out.push(grouping(response, &out));
    out
}

/// The grouping Observation: the instrument (its LOINC panel) with every other Observation as
/// a member.
fn grouping(response: &Response, members: &[Value]) -> Value {
    let instrument = response.instrument;
    let code = match &instrument.loinc {
        Some(panel) => coding(LOINC, panel, &instrument.title.en),
        None => coding(
            &instrument.code_system,
            &instrument.id,
            &instrument.title.en,
        ),
    };
    let rules: Vec<&Rule> = instrument.rules.iter().collect();
    let sensitive = members.iter().any(|m| m["meta"].get("security").is_some());
    let mut obs = observation(
        response,
        "panel",
        json!({"coding": [code]}),
        &domains(&rules),
        sensitive,
    );
    obs["hasMember"] = members
        .iter()
        .map(|m| json!({"reference": format!("Observation/{}", m["id"].as_str().unwrap_or_default())}))
        .collect();
    obs
}

/// The Observation every question, score and grouping starts from.
fn observation(
    response: &Response,
    key: &str,
    code: Value,
    domains: &[&Domain],
    sensitive: bool,
) -> Value {
    let mut category = vec![
        json!({"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}),
        json!({"coding": [{"system": US_CORE_CATEGORY, "code": "sdoh", "display": "SDOH"}]}),
    ];
    let unspecified = Domain::parse("sdoh-category-unspecified").expect("an SDOHCC code");
    let domains: Vec<&Domain> = if domains.is_empty() {
        vec![&unspecified]
    } else {
        domains.to_vec()
    };
    category.extend(
        domains
            .iter()
            .map(|d| json!({"coding": [coding(SDOHCC_CODES, d.as_str(), d.display())]})),
    );
    let mut meta = json!({"profile": [SCREENING_RESPONSE_PROFILE]});
    if sensitive {
        meta["security"] = json!([restricted()]);
    }
    let mut obs = json!({
        "resourceType": "Observation",
        "id": observation_id(response.id, key),
        "meta": meta,
        "status": "final",
        "category": category,
        "code": code,
        "subject": {"reference": response.subject},
        "effectiveDateTime": timestamp(response.effective),
        "derivedFrom": [{"reference": format!("QuestionnaireResponse/{}", response.id)}],
    });
    if let Some(source) = response.source {
        obs["performer"] = json!([{"reference": source}]);
    }
    obs
}

/// A stable Observation id: the same response always yields the same ids, so re-sending updates.
pub fn observation_id(response_id: &str, key: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("urn:wraparound:response:{response_id}:{key}").as_bytes(),
    )
    .to_string()
}

/// The questions asked, in order: enabled by skip logic, whatever was answered elsewhere.
fn asked<'a>(response: &Response<'a>) -> Vec<&'a Item> {
    let (instrument, answers) = (response.instrument, response.answers);
    instrument
        .items()
        .filter(|i| instrument.enablement(&i.code, answers) == Enablement::Enabled)
        .collect()
}

/// Rules a question feeds, directly or through a score.
fn item_rules<'a>(instrument: &'a Instrument, item: &str) -> Vec<&'a Rule> {
    instrument
        .rules
        .iter()
        .filter(|rule| {
            rule.conditions.iter().any(|c| match c {
                Condition::Answer { item: target, .. } => target == item,
                Condition::Score { score, .. } => instrument
                    .score(score)
                    .is_some_and(|s| s.items.iter().any(|i| i == item)),
            })
        })
        .collect()
}

fn score_rules<'a>(instrument: &'a Instrument, score: &str) -> Vec<&'a Rule> {
    instrument
        .rules
        .iter()
        .filter(|r| {
            r.conditions
                .iter()
                .any(|c| matches!(c, Condition::Score { score: s, .. } if s == score))
        })
        .collect()
}

/// The rules' domains, each once, in rule order.
fn domains<'a>(rules: &[&'a Rule]) -> Vec<&'a Domain> {
    let mut out: Vec<&Domain> = Vec::new();
    for rule in rules {
        if !out.contains(&&rule.domain) {
            out.push(&rule.domain);
        }
    }
    out
}

/// A question's code: its own coding, plus the LOINC question it mirrors.
fn item_concept(instrument: &Instrument, item: &Item) -> Value {
    let mut codings = vec![coding(&instrument.code_system, &item.code, &item.text.en)];
    if let Some(loinc) = &item.loinc {
        codings.push(json!({"system": LOINC, "code": loinc}));
    }
    json!({"coding": codings})
}

/// "Declined" or "don't know" as a QuestionnaireResponse answer: its own coded answer.
fn not_answered(instrument: &Instrument, kind: NotAnsweredKind) -> Value {
    let option = instrument.not_answered(kind);
    json!({"valueCoding": coding(&option.system, &option.code, &option.display)})
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

fn quantity(value: i64, unit: &str) -> Value {
    json!({"value": value, "unit": unit, "system": UCUM, "code": unit})
}

fn link_id(code: &str) -> String {
    format!("/{code}")
}

fn restricted() -> Value {
    json!({"system": CONFIDENTIALITY, "code": "R", "display": "restricted"})
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn absent_reason(why: Absent) -> Value {
    let (code, display) = match why {
        Absent::Declined => ("asked-declined", "Asked But Declined"),
        Absent::DontKnow => ("asked-unknown", "Asked But Unknown"),
        Absent::Missing => ("unknown", "Unknown"),
    };
    json!({"coding": [coding(DATA_ABSENT_REASON, code, display)]})
}

fn set_interpretation(obs: &mut Value, interpretation: Option<Interpretation>) {
    let (code, display) = match interpretation {
        Some(Interpretation::Positive) => ("POS", "Positive"),
        Some(Interpretation::Negative) => ("NEG", "Negative"),
        // Not decided: the dataAbsentReason says why; no interpretation.
        Some(Interpretation::NotAnswered(_)) | None => return,
    };
    obs["interpretation"] = json!([{"coding": [coding(INTERPRETATION, code, display)]}]);
}

#[cfg(test)]
mod tests {
    use super::super::scoring::score;
    use super::*;

    fn example(name: &str) -> Value {
        let candidates = [
            format!(
                "{}/../../shared/data/fhir/sdohcc-2.3.0-examples/{name}",
                env!("CARGO_MANIFEST_DIR")
            ),
            format!("/work/shared/data/fhir/sdohcc-2.3.0-examples/{name}"),
        ];
        let text = candidates
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_else(|| panic!("example {name} not found in {candidates:?}"));
        serde_json::from_str(&text).unwrap()
    }

    fn example_observation() -> Value {
        example("Observation-SDOHCC-ObservationResponseHungerVitalSignQuestion3Example.json")
    }

    fn example_response() -> Value {
        example("QuestionnaireResponse-SDOHCC-QuestionnaireResponseHungerVitalSignExample.json")
    }

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

    fn at() -> DateTime<Utc> {
        "2020-09-10T21:56:54.671Z".parse().unwrap()
    }

    fn response<'a>(instrument: &'a Instrument, answers: &'a Answers) -> Response<'a> {
        Response {
            instrument,
            answers,
            id: "resp-1",
            subject: "Patient/pat-53234",
            effective: at(),
            lang: Lang::En,
            source: Some("Patient/pat-53234"),
        }
    }

    fn build(instrument: &Instrument, answers: &Answers) -> (Value, Vec<Value>) {
        let r = response(instrument, answers);
        let outcome = score(instrument, answers);
        (
            questionnaire_response(&r, &outcome),
            observations(&r, &outcome),
        )
    }

    /// The Observation for a question (or score) code, one chosen answer of it if several.
    fn find<'a>(observations: &'a [Value], code: &str) -> Vec<&'a Value> {
        observations
            .iter()
            .filter(|o| o["code"]["coding"][0]["code"] == code)
            .collect()
    }

    /// `ours` has every key `theirs` has (except `skip`), with values of the same JSON kind, all
    /// the way down; arrays compare their first elements.
    fn same_shape(theirs: &Value, ours: &Value, skip: &[&str], path: &str) {
        match (theirs, ours) {
            (Value::Object(t), Value::Object(o)) => {
                for (key, value) in t {
                    if skip.contains(&key.as_str()) {
                        continue;
                    }
                    let here = format!("{path}.{key}");
                    let mine = o.get(key).unwrap_or_else(|| panic!("missing {here}"));
                    same_shape(value, mine, skip, &here);
                }
            }
            (Value::Array(t), Value::Array(o)) => {
                assert!(!o.is_empty() || t.is_empty(), "{path} is empty");
                if let (Some(t), Some(o)) = (t.first(), o.first()) {
                    same_shape(t, o, skip, &format!("{path}[0]"));
                }
            }
            (Value::String(_), Value::String(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::Bool(_), Value::Bool(_)) => {}
            _ => panic!("{path}: {theirs} vs {ours}"),
        }
    }

    fn codes(concepts: &Value) -> Vec<(String, String)> {
        concepts
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["coding"].as_array().unwrap().iter())
            .map(|c| {
                (
                    c["system"].as_str().unwrap().to_string(),
                    c["code"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    // ── Against the SDOHCC 2.3.0 examples ──

    #[test]
    fn a_positive_food_answer_has_the_shape_of_the_sdohcc_example_observation() {
        let (_, observations) = build(core(), &with(&[("88122-7", choice("LA28397-0"))]));
        let ours = find(&observations, "88122-7")[0];
        let theirs = example_observation();
        same_shape(&theirs, ours, &["text", "issued", "display"], "Observation");
        assert_eq!(ours["resourceType"], "Observation");
        assert_eq!(ours["status"], theirs["status"]);
        assert_eq!(ours["meta"]["profile"], theirs["meta"]["profile"]);
        assert_eq!(
            codes(&ours["category"]),
            codes(&theirs["category"]),
            "survey, sdoh, food-insecurity"
        );
        assert_eq!(ours["category"], theirs["category"], "same displays too");
        assert_eq!(ours["interpretation"], theirs["interpretation"]);
        assert_eq!(ours["subject"], theirs["subject"]);
        assert_eq!(ours["effectiveDateTime"], theirs["effectiveDateTime"]);
        assert_eq!(
            ours["performer"][0]["reference"],
            theirs["performer"][0]["reference"]
        );
        assert_eq!(
            ours["derivedFrom"],
            json!([{"reference": "QuestionnaireResponse/resp-1"}])
        );
        assert_eq!(ours["code"]["coding"][0]["system"], "http://loinc.org");
        assert_eq!(
            ours["valueCodeableConcept"]["coding"][0]["code"],
            "LA28397-0"
        );
        assert_eq!(
            ours["valueCodeableConcept"]["coding"][0]["system"],
            theirs["valueCodeableConcept"]["coding"][0]["system"]
        );
    }

    /// The Hunger Vital Sign as an instrument of ours yields the example's own items.
    #[test]
    fn the_hunger_vital_sign_response_matches_the_sdohcc_example_item_for_item() {
        let theirs = example_response();
        let hvs = Instrument::from_toml(&format!(
            r#"
            id = "hvs"
            version = "1"
            loinc = "88121-9"
            questionnaire = "{q}"
            audience = "anyone"
            title = {{ en = "Hunger Vital Sign", es = "Signo vital del hambre" }}
            [[not_answered]]
            kind = "declined"
            code = "LA30122-8"
            display = "I choose not to answer this question"
            text = {{ en = "I choose not to answer this question", es = "Prefiero no responder" }}
            [[not_answered]]
            kind = "dont-know"
            code = "LA12688-0"
            display = "Don't know"
            text = {{ en = "I don't know", es = "No sé" }}
            [[page]]
            id = "food"
            title = {{ en = "Food", es = "Comida" }}
            [[page.item]]
            code = "88122-7"
            kind = "single"
            text = {{ en = "{t1}", es = "En los últimos 12 meses nos preocupó que se acabara la comida" }}
            [[page.item.answer]]
            code = "LA28397-0"
            text = {{ en = "Often true", es = "Con frecuencia es cierto" }}
            [[page.item]]
            code = "88123-5"
            kind = "single"
            text = {{ en = "{t2}", es = "En los últimos 12 meses la comida no alcanzó" }}
            [[page.item.answer]]
            code = "LA28397-0"
            text = {{ en = "Often true", es = "Con frecuencia es cierto" }}
            [[rule]]
            id = "food"
            domain = "food-insecurity"
            title = {{ en = "Food", es = "Comida" }}
            categories = ["food-pantries"]
            sensitive = false
            [[rule.when]]
            item = "88122-7"
            any_of = ["LA28397-0"]
            "#,
            q = theirs["questionnaire"].as_str().unwrap(),
            t1 = theirs["item"][0]["text"].as_str().unwrap(),
            t2 = theirs["item"][1]["text"].as_str().unwrap(),
        ))
        .unwrap();
        let answers = with(&[
            ("88122-7", choice("LA28397-0")),
            ("88123-5", choice("LA28397-0")),
        ]);
        let (ours, _) = build(&hvs, &answers);
        same_shape(
            &theirs,
            &ours,
            &["text", "_questionnaire", "display"],
            "QuestionnaireResponse",
        );
        for key in ["resourceType", "questionnaire", "status", "authored"] {
            assert_eq!(ours[key], theirs[key], "{key}");
        }
        assert_eq!(ours["meta"]["profile"], theirs["meta"]["profile"]);
        assert_eq!(ours["subject"]["reference"], theirs["subject"]["reference"]);
        assert_eq!(ours["source"]["reference"], theirs["source"]["reference"]);
        assert_eq!(ours["item"][0], theirs["item"][0]);
        assert_eq!(ours["item"][1], theirs["item"][1]);
        assert_eq!(
            ours["item"].as_array().unwrap().len(),
            2,
            "no derived item without a score"
        );
    }

    #[test]
    fn the_ahc_response_has_the_shape_of_the_sdohcc_example_response() {
        let theirs = example_response();
        let mut answers: Answers = core()
            .items()
            .map(|i| (i.code.clone(), choice(&i.answers[0].code)))
            .collect();
        answers.insert(
            "96778-6".into(),
            Answer::Choice(vec!["LA31996-4".into(), "LA28580-1".into()]),
        );
        let (ours, _) = build(core(), &answers);
        same_shape(
            &theirs,
            &ours,
            &["text", "_questionnaire", "display"],
            "QuestionnaireResponse",
        );
        assert_eq!(ours["questionnaire"], "http://loinc.org/q/96777-8");
        assert_eq!(
            ours["meta"]["tag"][0],
            json!({"system": INSTRUMENT_TAG, "code": "ahc-hrsn-core", "version": "2017-cms-ahc"})
        );
        assert_eq!(ours["language"], "en");
        let link_ids: Vec<&str> = ours["item"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["linkId"].as_str().unwrap())
            .collect();
        assert_eq!(
            link_ids,
            [
                "/71802-3", "/96778-6", "/88122-7", "/88123-5", "/93030-5", "/96779-4", "/95618-5",
                "/95617-7", "/95616-9", "/95615-1", "/95614-4"
            ]
        );
        assert_eq!(
            ours["item"][1]["answer"].as_array().unwrap().len(),
            2,
            "a multi-select keeps every answer"
        );
        assert_eq!(
            ours["item"][10]["answer"],
            json!([{"valueInteger": 4}]),
            "the safety total, derived"
        );
        assert_eq!(
            ours["meta"]["security"][0]["code"], "R",
            "safety answers are sensitive"
        );
    }

    // ── Declined, don't know, missing, skipped ──

    #[test]
    fn declined_and_dont_know_keep_their_codes_in_the_response_and_a_reason_in_the_observation() {
        let answers = with(&[("88122-7", Answer::Declined), ("88123-5", Answer::DontKnow)]);
        let (qr, observations) = build(core(), &answers);
        let items = qr["item"].as_array().unwrap();
        assert_eq!(
            items[0]["answer"][0]["valueCoding"],
            json!({"system": LOINC, "code": "LA30122-8", "display": "I choose not to answer this question"})
        );
        assert_eq!(
            items[1]["answer"][0]["valueCoding"],
            json!({"system": LOINC, "code": "LA12688-0", "display": "Don't know"})
        );
        let declined = find(&observations, "88122-7")[0];
        assert_eq!(
            declined["dataAbsentReason"]["coding"][0]["code"],
            "asked-declined"
        );
        assert_eq!(
            declined["dataAbsentReason"]["coding"][0]["system"],
            DATA_ABSENT_REASON
        );
        assert!(
            declined.get("valueCodeableConcept").is_none()
                && declined.get("interpretation").is_none()
        );
        let unknown = find(&observations, "88123-5")[0];
        assert_eq!(
            unknown["dataAbsentReason"]["coding"][0]["code"],
            "asked-unknown"
        );
        let blank = find(&observations, "93030-5")[0];
        assert_eq!(
            blank["dataAbsentReason"]["coding"][0]["code"], "unknown",
            "asked, left blank"
        );
        assert!(
            qr["item"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["linkId"] != "/93030-5"),
            "blank is not in the response"
        );
    }

    #[test]
    fn a_declined_safety_item_makes_the_total_absent_never_negative() {
        let mut answers: Answers = ["95618-5", "95617-7", "95616-9"]
            .iter()
            .map(|i| (i.to_string(), choice("LA6270-8")))
            .collect();
        answers.insert("95615-1".into(), Answer::Declined);
        let (qr, observations) = build(core(), &answers);
        let total = find(&observations, "95614-4")[0];
        assert_eq!(
            total["dataAbsentReason"]["coding"][0]["code"],
            "asked-declined"
        );
        assert!(total.get("interpretation").is_none() && total.get("valueInteger").is_none());
        assert!(
            qr["item"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["linkId"] != "/95614-4"),
            "no total in the response"
        );
        assert_eq!(
            codes(&total["category"])[2],
            (
                SDOHCC_CODES.to_string(),
                "intimate-partner-violence".to_string()
            )
        );
        assert_eq!(total["meta"]["security"][0]["code"], "R");
        let never = find(&observations, "95618-5")[0];
        assert!(
            never.get("interpretation").is_none(),
            "items speak through the total"
        );
    }

    #[test]
    fn a_positive_safety_total_is_pos_and_restricted() {
        let answers: Answers = ["95618-5", "95617-7", "95616-9", "95615-1"]
            .iter()
            .map(|i| (i.to_string(), choice("LA10082-8")))
            .collect();
        let (_, observations) = build(core(), &answers);
        let total = find(&observations, "95614-4")[0];
        assert_eq!(total["valueInteger"], 12);
        assert_eq!(total["interpretation"][0]["coding"][0]["code"], "POS");
        assert_eq!(
            total["meta"]["security"][0],
            json!({"system": CONFIDENTIALITY, "code": "R", "display": "restricted"})
        );
        let food = find(&observations, "88122-7")[0];
        assert!(
            food["meta"].get("security").is_none(),
            "food is not sensitive"
        );
    }

    #[test]
    fn skipped_questions_are_neither_in_the_response_nor_observed() {
        let answers = with(&[
            ("89555-7", choice("LA6111-4")),
            ("68516-4", choice("LA32060-8")),
        ]);
        let (qr, observations) = build(supplemental(), &answers);
        assert!(
            qr["item"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["linkId"] != "/68516-4"),
            "a stale answer is dropped"
        );
        assert!(find(&observations, "68516-4").is_empty());
        let minutes = find(&observations, "77594-0")[0];
        assert_eq!(
            minutes["valueQuantity"],
            json!({"value": 0, "unit": "min/wk", "system": UCUM, "code": "min/wk"})
        );
        assert_eq!(minutes["interpretation"][0]["coding"][0]["code"], "POS");
        let items: Vec<&Value> = qr["item"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["linkId"] == "/77594-0")
            .collect();
        assert_eq!(items[0]["answer"][0]["valueQuantity"]["value"], 0);
    }

    // ── Multi-select, interpretation, mirrors ──

    #[test]
    fn each_chosen_housing_problem_is_its_own_positive_observation() {
        let answers = with(&[(
            "96778-6",
            Answer::Choice(vec!["LA31996-4".into(), "LA32001-2".into()]),
        )]);
        let (_, observations) = build(core(), &answers);
        let problems = find(&observations, "96778-6");
        assert_eq!(problems.len(), 2);
        let values: Vec<&Value> = problems
            .iter()
            .map(|o| &o["valueCodeableConcept"]["coding"][0]["code"])
            .collect();
        assert_eq!(values, ["LA31996-4", "LA32001-2"]);
        assert!(problems
            .iter()
            .all(|o| o["interpretation"][0]["coding"][0]["code"] == "POS"));
        assert_ne!(problems[0]["id"], problems[1]["id"]);
        let none = build(core(), &with(&[("96778-6", choice("LA9-3"))])).1;
        let none = find(&none, "96778-6");
        assert_eq!(none.len(), 1);
        assert_eq!(none[0]["interpretation"][0]["coding"][0]["code"], "NEG");
        assert_eq!(codes(&none[0]["category"])[2].1, "inadequate-housing");
    }

    #[test]
    fn the_living_situation_observation_carries_both_housing_domains() {
        let (_, observations) = build(core(), &with(&[("71802-3", choice("LA31995-6"))]));
        let living = find(&observations, "71802-3")[0];
        let domains: Vec<String> = codes(&living["category"])
            .into_iter()
            .skip(2)
            .map(|(_, c)| c)
            .collect();
        assert_eq!(domains, ["housing-instability", "homelessness"]);
        assert_eq!(living["interpretation"][0]["coding"][0]["code"], "POS");
        let (_, steady) = build(core(), &with(&[("71802-3", choice("LA31993-1"))]));
        assert_eq!(
            find(&steady, "71802-3")[0]["interpretation"][0]["coding"][0]["code"],
            "NEG"
        );
    }

    #[test]
    fn self_assessment_observations_carry_our_code_and_the_loinc_code_it_mirrors() {
        let answers = with(&[
            ("self-food-worry", choice("often")),
            ("self-kids", choice("yes")),
            ("self-child-care", choice("yes")),
        ]);
        let r = Response {
            lang: Lang::Es,
            source: None,
            ..response(self_assessment(), &answers)
        };
        let outcome = score(self_assessment(), &answers);
        let qr = questionnaire_response(&r, &outcome);
        let observations = observations(&r, &outcome);
        let food = find(&observations, "self-food-worry")[0];
        assert_eq!(
            food["code"]["coding"],
            json!([
                {"system": "urn:wraparound:self-assessment", "code": "self-food-worry", "display": self_assessment().item("self-food-worry").unwrap().text.en},
                {"system": LOINC, "code": "88122-7"}
            ])
        );
        assert_eq!(
            food["valueCodeableConcept"]["coding"][1],
            json!({"system": LOINC, "code": "LA28397-0"})
        );
        assert_eq!(food["interpretation"][0]["coding"][0]["code"], "POS");
        assert!(
            food.get("performer").is_none(),
            "nobody named when the source is unknown"
        );
        let kids = find(&observations, "self-kids")[0];
        assert_eq!(
            codes(&kids["category"])[2].1,
            "sdoh-category-unspecified",
            "a question no need looks at"
        );
        assert!(kids.get("interpretation").is_none());
        assert_eq!(
            codes(&find(&observations, "self-child-care")[0]["category"])[2].1,
            "material-hardship"
        );
        assert_eq!(qr["language"], "es");
        assert_eq!(
            qr["item"][0]["text"],
            self_assessment().item("self-food-worry").unwrap().text.es
        );
        assert_eq!(
            qr["questionnaire"],
            "urn:wraparound:questionnaire:self-assessment"
        );
        assert!(qr.get("source").is_none());
        assert!(
            qr["meta"].get("security").is_none(),
            "nothing sensitive answered"
        );
    }

    // ── Every Observation ──

    #[test]
    fn every_observation_is_derived_from_the_response_and_grouped_once() {
        let answers: Answers = supplemental()
            .items()
            .map(|i| (i.code.clone(), choice(&i.answers[1].code)))
            .collect();
        let (qr, observations) = build(supplemental(), &answers);
        let panel = observations.last().unwrap();
        assert_eq!(
            panel["code"]["coding"][0],
            json!({"system": LOINC, "code": "97023-6", "display": supplemental().title.en})
        );
        let members: Vec<&str> = panel["hasMember"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["reference"].as_str().unwrap())
            .collect();
        assert_eq!(members.len(), observations.len() - 1);
        let mut ids = std::collections::BTreeSet::new();
        for obs in &observations {
            assert!(
                ids.insert(obs["id"].as_str().unwrap().to_string()),
                "ids are unique"
            );
            assert_eq!(
                obs["derivedFrom"][0]["reference"],
                format!("QuestionnaireResponse/{}", qr["id"].as_str().unwrap())
            );
            assert_eq!(obs["subject"]["reference"], "Patient/pat-53234");
            assert_eq!(obs["effectiveDateTime"], "2020-09-10T21:56:54.671Z");
            assert_eq!(obs["status"], "final");
            let categories = codes(&obs["category"]);
            assert_eq!(
                categories[0],
                (OBSERVATION_CATEGORY.to_string(), "survey".to_string())
            );
            assert_eq!(
                categories[1],
                (US_CORE_CATEGORY.to_string(), "sdoh".to_string())
            );
            assert!(
                categories.len() >= 3 && categories[2..].iter().all(|(s, _)| s == SDOHCC_CODES)
            );
            let has_value = ["valueCodeableConcept", "valueInteger", "valueQuantity"]
                .iter()
                .any(|k| obs.get(*k).is_some());
            assert!(
                has_value != obs.get("dataAbsentReason").is_some() || obs == panel,
                "a value or a reason, never both"
            );
        }
        assert!(members
            .iter()
            .all(|m| ids.contains(m.trim_start_matches("Observation/"))));
        let phq = find(&observations, "55757-9")[0];
        assert_eq!(phq["valueInteger"], 2, "several days + several days");
        assert_eq!(phq["interpretation"][0]["coding"][0]["code"], "NEG");
        assert_eq!(
            panel["meta"]["security"][0]["code"], "R",
            "the panel holds sensitive members"
        );
    }

    #[test]
    fn ids_are_stable_for_a_response_and_differ_between_responses() {
        let answers = with(&[("88122-7", choice("LA6729-3"))]);
        let (_, first) = build(core(), &answers);
        let (_, again) = build(core(), &answers);
        assert_eq!(first, again);
        let r = Response {
            id: "resp-2",
            ..response(core(), &answers)
        };
        let other = observations(&r, &score(core(), &answers));
        assert_ne!(first[0]["id"], other[0]["id"]);
        assert_eq!(
            observation_id("resp-1", "88122-7"),
            first
                .iter()
                .find(|o| o["code"]["coding"][0]["code"] == "88122-7")
                .unwrap()["id"]
        );
    }

    #[test]
    fn resources_put_the_response_first() {
        let answers = with(&[("88122-7", choice("LA6729-3"))]);
        let r = response(core(), &answers);
        let all = resources(&r, &score(core(), &answers));
        assert_eq!(all[0]["resourceType"], "QuestionnaireResponse");
        assert!(all[1..].iter().all(|o| o["resourceType"] == "Observation"));
    }
}
