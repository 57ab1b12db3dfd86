use super::*;

fn descriptor(name: &str, ports: &[&str], schema: &str) -> types::Descriptor {
    types::Descriptor {
        name: name.to_owned(),
        version: "1.0.0".to_owned(),
        description: "d".to_owned(),
        params_schema: schema.to_owned(),
        ports: ports.iter().map(|port| (*port).to_owned()).collect(),
    }
}

#[test]
fn descriptions_are_checked() {
    assert!(check_description(descriptor("cpf-check", &["match", "no-match"], "{}")).is_ok());
    for bad in [
        descriptor("CPF", &["a"], "{}"),
        descriptor("x", &[], "{}"),
        descriptor("x", &["a", "a"], "{}"),
        descriptor("x", &["error"], "{}"),
        descriptor("x", &["a b"], "{}"),
        descriptor("x", &["a"], "[1]"),
        descriptor("x", &["a"], "not json"),
    ] {
        assert!(
            matches!(
                check_description(bad.clone()),
                Err(LoadError::BadDescription(_))
            ),
            "{bad:?}"
        );
    }
}

fn outcome(port: &str, set: &[(&str, &str)]) -> types::Outcome {
    types::Outcome {
        port: port.to_owned(),
        set: set
            .iter()
            .map(|(name, value)| types::Variable {
                name: (*name).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
    }
}

#[test]
fn outcomes_are_checked() {
    let description = check_description(descriptor("x", &["a"], "{}"));
    let Ok(description) = description else {
        panic!("the description is valid");
    };
    let good = check_outcome(outcome("a", &[("n", "1")]), &description, 100);
    assert_eq!(
        good.map(|o| o.variables.get("n").cloned()),
        Ok(Some(Value::from(1)))
    );
    assert!(check_outcome(outcome("error", &[]), &description, 100).is_ok());
    assert!(matches!(
        check_outcome(outcome("b", &[]), &description, 100),
        Err(RunError::BadOutcome(_))
    ));
    assert!(matches!(
        check_outcome(outcome("a", &[("call", "1")]), &description, 100),
        Err(RunError::BadOutcome(_))
    ));
    assert!(matches!(
        check_outcome(outcome("a", &[("n", "{")]), &description, 100),
        Err(RunError::BadOutcome(_))
    ));
    assert!(matches!(
        check_outcome(outcome("a", &[("n", &"1".repeat(200))]), &description, 100),
        Err(RunError::OutputTooLarge { .. })
    ));
}

#[test]
fn hashes_print_as_hex() {
    let hash = ModuleHash::of(b"abc");
    assert_eq!(
        hash.to_string(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
