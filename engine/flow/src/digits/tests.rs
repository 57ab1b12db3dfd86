#![allow(clippy::unwrap_used)]

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn strip(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn contact(path: &str) -> Option<String> {
    match path {
        "contact.cpf" => Some("529.982.247-25".into()),
        "contact.empty" => Some("n/a".into()),
        _ => None,
    }
}

fn validator(rules: serde_json::Value) -> DigitValidator {
    let rules: Vec<DigitRule> = serde_json::from_value(rules).unwrap();
    DigitValidator::compile(&rules).unwrap()
}

fn outcome(v: &DigitValidator, input: &str) -> Result<(), (usize, &'static str)> {
    v.check(input, &contact).map_err(|r| (r.rule, r.code))
}

#[test]
fn cpf() {
    assert!(is_valid_cpf(&strip("529.982.247-25")));
    assert!(is_valid_cpf("11144477735"));
    assert!(!is_valid_cpf(&strip("111.111.111-11")));
    assert!(!is_valid_cpf("00000000000"));
    assert!(!is_valid_cpf("52998224726"), "wrong second check digit");
    assert!(!is_valid_cpf("52998224715"), "wrong first check digit");
    assert!(!is_valid_cpf("5299822472"), "10 digits");
    assert!(!is_valid_cpf("529982247250"), "12 digits");
    assert!(
        !is_valid_cpf("529.982.247-25"),
        "formatting is not stripped"
    );
    assert!(!is_valid_cpf(""));
    assert!(!is_valid_cpf("5299822472٥"), "non-ASCII digit");
}

#[test]
fn cnpj() {
    assert!(is_valid_cnpj(&strip("11.222.333/0001-81")));
    assert!(!is_valid_cnpj("11222333000182"));
    assert!(!is_valid_cnpj("11222333000191"));
    assert!(!is_valid_cnpj("00000000000000"));
    assert!(!is_valid_cnpj("77777777777777"));
    assert!(!is_valid_cnpj("1122233300018"));
    assert!(!is_valid_cnpj("11.222.333/0001-81"));
}

#[test]
fn luhn() {
    assert!(is_valid_luhn(&strip("4539 1488 0343 6467")));
    assert!(!is_valid_luhn(&strip("4539 1488 0343 6468")));
    assert!(is_valid_luhn("79927398713"));
    assert!(is_valid_luhn("00"));
    assert!(is_valid_luhn("18"));
    assert!(!is_valid_luhn("0"), "one digit is too short");
    assert!(!is_valid_luhn(""));
    assert!(!is_valid_luhn("4539 1488 0343 6467"));
}

#[test]
fn each_rule_accepts_and_rejects() {
    let cases: Vec<(serde_json::Value, &str, &str, &str)> = vec![
        (json!({"regex": "^[0-9]{3}$"}), "123", "1234", code::REGEX),
        (
            json!({"length": {"min": 3, "max": 4}}),
            "1234",
            "12",
            code::LENGTH,
        ),
        (
            json!({"length": {"min": 3, "max": 4}}),
            "123",
            "12345",
            code::LENGTH,
        ),
        (json!({"length": {"max": 2}}), "", "123", code::LENGTH),
        (json!("cpf"), "52998224725", "52998224724", code::CPF),
        (
            json!("cnpj"),
            "11222333000181",
            "11222333000180",
            code::CNPJ,
        ),
        (
            json!("luhn"),
            "4539148803436467",
            "4539148803436468",
            code::LUHN,
        ),
        (
            json!({"equals": "contact.cpf"}),
            "52998224725",
            "5299822472",
            code::EQUALS,
        ),
        (
            json!({"prefix-of": "contact.cpf"}),
            "529",
            "528",
            code::PREFIX,
        ),
        (
            json!({"prefix-of": "contact.cpf"}),
            "52998224725",
            "",
            code::PREFIX,
        ),
        (
            json!({"prefix-of": "contact.cpf"}),
            "5",
            "529982247250",
            code::PREFIX,
        ),
    ];
    for (rule, good, bad, want) in cases {
        let v = validator(json!([rule]));
        assert_eq!(outcome(&v, good), Ok(()), "{rule} should accept {good:?}");
        assert_eq!(
            outcome(&v, bad),
            Err((0, want)),
            "{rule} should reject {bad:?}"
        );
    }
}

#[test]
fn first_failing_rule_wins() {
    let v =
        validator(json!([{"length": {"min": 11, "max": 11}}, "cpf", {"equals": "contact.cpf"}]));
    assert_eq!(outcome(&v, "123"), Err((0, code::LENGTH)));
    assert_eq!(outcome(&v, "12345678901"), Err((1, code::CPF)));
    assert_eq!(outcome(&v, "11144477735"), Err((2, code::EQUALS)));
    assert_eq!(outcome(&v, "52998224725"), Ok(()));
    let r = v.check("123", &contact).unwrap_err();
    assert_eq!(r.message, "expected exactly 11 digits, got 3");
    assert_eq!(r.to_string(), r.message);
}

#[test]
fn missing_reference() {
    let v = validator(json!([{"equals": "contact.phone"}]));
    let r = v.check("123", &contact).unwrap_err();
    assert_eq!((r.rule, r.code), (0, code::MISSING_REFERENCE));
    assert!(r.message.contains("contact.phone"), "{}", r.message);
    let v = validator(json!([{"prefix-of": "contact.empty"}]));
    assert_eq!(outcome(&v, ""), Err((0, code::MISSING_REFERENCE)));
    assert_eq!(outcome(&v, "1"), Err((0, code::MISSING_REFERENCE)));
}

#[test]
fn references() {
    let v = validator(json!([
        {"equals": "contact.cpf"}, "luhn", {"prefix-of": "vars.code"}, {"prefix-of": "contact.cpf"}
    ]));
    assert_eq!(v.references(), ["contact.cpf", "vars.code"]);
    assert!(validator(json!(["cpf"])).references().is_empty());
}

#[test]
fn compile_errors_for_every_bad_rule() {
    let rules = vec![
        DigitRule::Regex("([0-9]".into()),
        DigitRule::Cpf,
        DigitRule::Length {
            min: Some(5),
            max: Some(3),
        },
        DigitRule::Equals("  ".into()),
        DigitRule::PrefixOf(String::new()),
        DigitRule::Length {
            min: Some(3),
            max: Some(3),
        },
    ];
    let errors = DigitValidator::compile(&rules).unwrap_err();
    let indexes: Vec<usize> = errors.iter().map(|e| e.0).collect();
    assert_eq!(indexes, [0, 2, 3, 4], "{errors:?}");
    assert!(errors[1].1.contains("greater than"), "{errors:?}");
}

#[test]
fn hostile_regex_is_a_compile_error() {
    for pattern in [
        "(a*)*{1000}{1000}",
        "[0-9]{1000}{1000}",
        "(((((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))))",
        "\\w{1000}",
    ] {
        let r = DigitValidator::compile(&[DigitRule::Regex(pattern.into())]);
        assert!(r.is_err(), "{pattern} should not compile");
    }
}

#[test]
fn serde_round_trip() {
    let forms = [
        json!({"regex": "^[0-9]{3}$"}),
        json!({"length": {"min": 3, "max": 11}}),
        json!({"length": {"min": 3}}),
        json!({"length": {}}),
        json!("cpf"),
        json!("cnpj"),
        json!("luhn"),
        json!({"equals": "contact.cpf"}),
        json!({"prefix-of": "contact.cpf"}),
    ];
    for form in forms {
        let rule: DigitRule = serde_json::from_value(form.clone()).unwrap();
        assert_eq!(serde_json::to_value(&rule).unwrap(), form);
    }
    assert_eq!(
        serde_json::from_value::<DigitRule>(json!({"prefix-of": "a.b"})).unwrap(),
        DigitRule::PrefixOf("a.b".into())
    );
    for bad in [
        json!("CPF"),
        json!({"prefix_of": "a"}),
        json!({"length": {"min": 3, "maximum": 4}}),
        json!({"length": {"min": -1}}),
        json!({"regex": 3}),
        json!({"equals": "a", "regex": "b"}),
    ] {
        assert!(
            serde_json::from_value::<DigitRule>(bad.clone()).is_err(),
            "{bad}"
        );
    }
    let schema = serde_json::to_value(schemars::schema_for!(Vec<DigitRule>)).unwrap();
    let text = schema.to_string();
    assert!(
        text.contains("prefix-of") && text.contains("Fewest digits"),
        "{text}"
    );
}

fn any_rules() -> impl Strategy<Value = Vec<DigitRule>> {
    let rule = prop_oneof![
        Just(DigitRule::Regex("^[0-9]{3,5}$".into())),
        (any::<Option<u32>>(), any::<Option<u32>>())
            .prop_map(|(min, max)| DigitRule::Length { min, max }),
        Just(DigitRule::Cpf),
        Just(DigitRule::Cnpj),
        Just(DigitRule::Luhn),
        prop::sample::select(vec!["contact.cpf", "contact.empty", "missing"])
            .prop_map(|p| DigitRule::Equals(p.into())),
        prop::sample::select(vec!["contact.cpf", "contact.empty", "missing"])
            .prop_map(|p| DigitRule::PrefixOf(p.into())),
    ];
    prop::collection::vec(rule, 0..6)
}

proptest! {
    #[test]
    fn never_panics(s in any::<String>(), d in "[0-9]{0,20}", rules in any_rules()) {
        for input in [s.as_str(), d.as_str()] {
            let _ = (is_valid_cpf(input), is_valid_cnpj(input), is_valid_luhn(input));
            if let Ok(v) = DigitValidator::compile(&rules)
                && let Err(r) = v.check(input, &contact)
            {
                prop_assert!(r.rule < rules.len());
                prop_assert!(!r.message.contains(input) || input.len() < 8);
            }
        }
    }

    #[test]
    fn arbitrary_regex_never_panics(pattern in any::<String>(), input in any::<String>()) {
        if let Ok(v) = DigitValidator::compile(&[DigitRule::Regex(pattern)]) {
            let _ = v.check(&input, &contact);
        }
    }

    #[test]
    fn prefixes_of_cpf_match(n in 1usize..=11) {
        let v = DigitValidator::compile(&[DigitRule::PrefixOf("contact.cpf".into())]).unwrap();
        prop_assert!(v.check(&"52998224725"[..n], &contact).is_ok());
    }
}

#[test]
fn validator_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<DigitValidator>();
    check::<Rejection>();
}
