//! Tests of the expression language: table-driven checks of every operator,
//! function, plus errors (in `errors`), hostile inputs and property tests
//! (in `hostile`).

mod errors;
mod hostile;

use serde_json::{Map, json};

use super::*;

/// The scope most tests evaluate against.
fn scope() -> Map<String, Value> {
    let v = json!({
        "attempts": 2,
        "score": 7.5,
        "name": "Ana",
        "flag": true,
        "nothing": null,
        "list": [1, 2, 3],
        "empty": [],
        "big": 9_223_372_036_854_775_807_i64,
        "huge": 18_446_744_073_709_551_615_u64,
        "call": {
            "caller": "+5511999990000",
            "queue": "sales",
            "tags": ["vip", "new"],
            "meta": { "depth": { "x": 1 } }
        },
        "contact": { "cpf": "123.456.789-09", "name": "  Maria Silva ", "email": null, "age": 30 }
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Compiles and evaluates each source, expecting the given value.
fn check(cases: &[(&str, Value)]) {
    let scope = scope();
    for (src, want) in cases {
        let got = Expr::compile(src)
            .map_err(|e| e.to_string())
            .map(|e| e.evaluate(&scope));
        assert_eq!(got, Ok(Ok(want.clone())), "source: {src}");
    }
}

#[test]
fn literals() {
    check(&[
        ("42", json!(42)),
        ("0x2A", json!(42)),
        ("0XfF", json!(255)),
        ("9223372036854775807", json!(i64::MAX)),
        ("-9223372036854775808", json!(i64::MIN)),
        ("-9223372036854775808 + 1", json!(i64::MIN + 1)),
        ("1.5", json!(1.5)),
        ("1e3", json!(1000.0)),
        ("2.5e-1", json!(0.25)),
        ("1E+2", json!(100.0)),
        ("'single'", json!("single")),
        ("\"double\"", json!("double")),
        (
            r#""\\ \" \' \n \t \r \u00e9 \`""#,
            json!("\\ \" ' \n \t \r é `"),
        ),
        (r#"r"\d+""#, json!("\\d+")),
        (r"R'\n'", json!("\\n")),
        ("'olá 🎉'", json!("olá 🎉")),
        ("'a\0b'", json!("a\0b")),
        ("''", json!("")),
        ("true", json!(true)),
        ("false", json!(false)),
        ("null", json!(null)),
        ("[]", json!([])),
        ("[1, 'a', null, [true]]", json!([1, "a", null, [true]])),
        ("[1, 2,]", json!([1, 2])),
        ("{}", json!({})),
        ("{'k': 1, \"j\": [2],}", json!({"k": 1, "j": [2]})),
        ("[attempts, name]", json!([2, "Ana"])),
        ("{'a': attempts, name: 1}", json!({"a": 2, "Ana": 1})),
        ("1 + // a comment\n 2", json!(3)),
    ]);
}

#[test]
fn arithmetic() {
    check(&[
        ("1 + 2", json!(3)),
        ("7 - 10", json!(-3)),
        ("6 * 7", json!(42)),
        ("7 / 2", json!(3)),
        ("-7 / 2", json!(-3)),
        ("7 % 3", json!(1)),
        ("-7 % 3", json!(-1)),
        ("-9223372036854775808 % -1", json!(0)),
        ("1.5 + 1", json!(2.5)),
        ("1 + 1.5", json!(2.5)),
        ("3.0 / 2", json!(1.5)),
        ("2 * 0.5", json!(1.0)),
        ("5.5 % 2", json!(1.5)),
        ("1.5 - 0.5", json!(1.0)),
        ("attempts + 1", json!(3)),
        ("score * 2", json!(15.0)),
        ("-attempts", json!(-2)),
        ("-score", json!(-7.5)),
        ("-(1)", json!(-1)),
        ("--1", json!(1)),
        ("- - 1.5", json!(1.5)),
        ("1 - -1", json!(2)),
        ("'a' + 'b'", json!("ab")),
        ("name + '!' + '?'", json!("Ana!?")),
        ("'x' + name", json!("xAna")),
        ("[1] + [2, 3]", json!([1, 2, 3])),
        ("list + [4] + list", json!([1, 2, 3, 4, 1, 2, 3])),
        ("[] + []", json!([])),
    ]);
}

#[test]
fn precedence_and_associativity() {
    check(&[
        ("1 + 2 * 3", json!(7)),
        ("(1 + 2) * 3", json!(9)),
        ("10 - 4 - 3", json!(3)),
        ("3 - 2 + 1", json!(2)),
        ("100 / 10 / 5", json!(2)),
        ("2 * 3 % 4", json!(2)),
        ("1 + 2 == 3", json!(true)),
        ("1 < 2 == true", json!(true)),
        ("2 in [1, 2] == true", json!(true)),
        ("true || false && false", json!(true)),
        ("(true || false) && false", json!(false)),
        ("false && true || true", json!(true)),
        ("!false && true", json!(true)),
        ("!(true && false)", json!(true)),
        ("-2 * -3", json!(6)),
        ("-list[0]", json!(-1)),
        ("!flag", json!(false)),
        ("!!flag", json!(true)),
        ("false ? 1 : 2", json!(2)),
        ("true ? 1 : false ? 2 : 3", json!(1)),
        ("false ? 1 : false ? 2 : 3", json!(3)),
        ("false ? 1 : true ? 2 : 3", json!(2)),
        ("1 + 1 == 2 ? 'y' : 'n'", json!("y")),
        ("true ? 1 + 1 : 0", json!(2)),
        ("false || true ? 'a' : 'b'", json!("a")),
        ("[1, 2][1] * 2", json!(4)),
        ("{'a': [5]}.a[0] + 1", json!(6)),
    ]);
}

#[test]
fn comparisons_and_equality() {
    check(&[
        ("1 < 2", json!(true)),
        ("2 <= 2", json!(true)),
        ("3 > 2.5", json!(true)),
        ("2 >= 2.0", json!(true)),
        ("2 > 2", json!(false)),
        ("1 == 1.0", json!(true)),
        ("1 != 1.0", json!(false)),
        ("1 != 2", json!(true)),
        ("0.0 == -0.0", json!(true)),
        ("'a' < 'b'", json!(true)),
        ("'b' > 'abc'", json!(true)),
        ("'é' > 'z'", json!(true)),
        ("false < true", json!(true)),
        ("true >= true", json!(true)),
        ("1 == '1'", json!(false)),
        ("null == null", json!(true)),
        ("nothing == null", json!(true)),
        ("null == false", json!(false)),
        ("[1, 2] == [1.0, 2]", json!(true)),
        ("[1] == [1, 2]", json!(false)),
        ("{'a': [1]} == {'a': [1.0]}", json!(true)),
        ("{'a': 1} == {'a': 2}", json!(false)),
        ("{'a': 1} == {'b': 1}", json!(false)),
        ("call == call", json!(true)),
        ("big > 9223372036854775806", json!(true)),
        ("big < 1e19", json!(true)),
        ("big == 9223372036854775807.0", json!(false)),
        ("9007199254740993 > 9007199254740992.0", json!(true)),
        ("-2 < -1.5", json!(true)),
        ("-1 > -1.5", json!(true)),
        ("huge > big", json!(true)),
        ("attempts < 3", json!(true)),
        ("contact.email == null", json!(true)),
    ]);
}

#[test]
fn membership_and_logic() {
    check(&[
        ("2 in list", json!(true)),
        ("5 in list", json!(false)),
        ("2.0 in [1, 2]", json!(true)),
        ("[1] in [[1], [2]]", json!(true)),
        ("'vip' in call.tags", json!(true)),
        ("'queue' in call", json!(true)),
        ("'x' in call", json!(false)),
        ("1 in {'a': 1}", json!(false)),
        ("'ell' in 'hello'", json!(true)),
        ("'' in ''", json!(true)),
        ("'z' in name", json!(false)),
        ("false && undefined_var", json!(false)),
        ("true || undefined_var", json!(true)),
        ("false && 1 / 0 == 1", json!(false)),
        ("true ? 1 : 1 / 0", json!(1)),
        ("false ? nope : 'ok'", json!("ok")),
        ("true && true", json!(true)),
        ("false || false", json!(false)),
    ]);
}

#[test]
fn access() {
    check(&[
        ("call.caller", json!("+5511999990000")),
        ("call['queue']", json!("sales")),
        ("call.meta.depth.x", json!(1)),
        ("call['meta'].depth['x']", json!(1)),
        ("call.tags[1]", json!("new")),
        ("list[0]", json!(1)),
        ("list[2]", json!(3)),
        ("[[1, 2], [3]][0][1]", json!(2)),
        ("[attempts, name][1]", json!("Ana")),
        ("{'k': attempts}.k", json!(2)),
        ("{'k': [attempts]}['k'][0]", json!(2)),
        ("{'a': {'b': 5}}.a.b", json!(5)),
        (
            "contact",
            scope().get("contact").cloned().unwrap_or_default(),
        ),
    ]);
}

#[test]
fn functions() {
    check(&[
        ("size('olá')", json!(3)),
        ("'abc'.size()", json!(3)),
        ("size(list)", json!(3)),
        ("list.size()", json!(3)),
        ("size(call)", json!(4)),
        ("size({})", json!(0)),
        ("size([])", json!(0)),
        ("size('')", json!(0)),
        ("call.caller.startsWith('+55')", json!(true)),
        ("'abc'.startsWith('b')", json!(false)),
        ("'abc'.endsWith('bc')", json!(true)),
        ("'abc'.contains('d')", json!(false)),
        ("'abc'.contains('')", json!(true)),
        (r"call.caller.matches('^\\+55[0-9]+$')", json!(true)),
        ("matches('abc', 'b')", json!(true)),
        ("'ABC'.matches('^[a-z]+$')", json!(false)),
        (
            r"contact.cpf.matches(r'^\d{3}\.\d{3}\.\d{3}-\d{2}$')",
            json!(true),
        ),
        ("'ação'.matches('^\\\\w+$')", json!(true)),
        ("int(42)", json!(42)),
        ("int(3.9)", json!(3)),
        ("int(-3.9)", json!(-3)),
        ("int('0123')", json!(123)),
        ("int('-5')", json!(-5)),
        ("int('+7')", json!(7)),
        ("int(score)", json!(7)),
        ("int('9223372036854775807')", json!(i64::MAX)),
        ("double(2)", json!(2.0)),
        ("double('2.5')", json!(2.5)),
        ("double(1.5)", json!(1.5)),
        ("double('1e3')", json!(1000.0)),
        ("double(huge) > 1e19", json!(true)),
        ("string(42)", json!("42")),
        ("string(1.5)", json!("1.5")),
        ("string(-0.5)", json!("-0.5")),
        ("string(true)", json!("true")),
        ("string('x')", json!("x")),
        ("string(attempts) + '!'", json!("2!")),
        ("bool('true')", json!(true)),
        ("bool('false')", json!(false)),
        ("bool(flag)", json!(true)),
        ("has(call.caller)", json!(true)),
        ("has(call.nope)", json!(false)),
        ("has(contact.email)", json!(true)),
        ("has(call.meta.depth)", json!(true)),
        ("has(nothing.x)", json!(false)),
        ("has({'a': 1}.a)", json!(true)),
        ("'ÁbC'.lowerAscii()", json!("Ábc")),
        ("'abc é'.upperAscii()", json!("ABC é")),
        ("contact.name.trim()", json!("Maria Silva")),
        ("digits(contact.cpf)", json!("12345678909")),
        ("contact.cpf.digits()", json!("12345678909")),
        ("digits(123)", json!("123")),
        ("digits(-45)", json!("45")),
        ("digits('abc')", json!("")),
        ("digits(contact.cpf) == '12345678909'", json!(true)),
        (
            "size(name) > 2 && name.lowerAscii().startsWith('an')",
            json!(true),
        ),
    ]);
}

#[test]
fn references_are_paths_as_written() {
    let cases: &[(&str, &[&[&str]])] = &[
        (
            "call.caller == '1' && attempts < 3",
            &[&["call", "caller"], &["attempts"]],
        ),
        ("contact['cpf']", &[&["contact", "cpf"]]),
        ("x.size()", &[&["x"]]),
        ("size(x.y)", &[&["x", "y"]]),
        ("a[0].b", &[&["a"]]),
        ("a.b[i]", &[&["a", "b"], &["i"]]),
        ("a[b.c]", &[&["a"], &["b", "c"]]),
        ("has(a.b.c)", &[&["a", "b", "c"]]),
        ("has(a.b) && a.b.c", &[&["a", "b"], &["a", "b", "c"]]),
        ("a.b + a.b + a", &[&["a", "b"], &["a"]]),
        ("[x, {'k': y, z: 1}]", &[&["x"], &["y"], &["z"]]),
        ("a.b.startsWith(c.d)", &[&["a", "b"], &["c", "d"]]),
        (
            "a.matches('x') || !b && -c.d > 1",
            &[&["a"], &["b"], &["c", "d"]],
        ),
        ("f ? g : h", &[&["f"], &["g"], &["h"]]),
        ("{'a': 1}.a", &[]),
        ("1 + 2", &[]),
        (
            "digits(contact.cpf) == digits(contact['cpf'])",
            &[&["contact", "cpf"]],
        ),
    ];
    for (src, want) in cases {
        let expr = Expr::compile(src).map_err(|e| e.to_string());
        let got = expr.map(|e| e.references().to_vec());
        let want: Vec<Vec<String>> = want
            .iter()
            .map(|p| p.iter().map(|s| (*s).to_owned()).collect())
            .collect();
        assert_eq!(got, Ok(want), "source: {src}");
    }
}

#[test]
fn api_surface() {
    fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    assert_traits::<Expr>();
    assert_traits::<CompileError>();
    assert_traits::<EvalError>();
    assert_eq!(
        Limits::default(),
        Limits {
            max_len: 4096,
            max_depth: 32,
            max_nodes: 512
        }
    );
    let expr = Expr::compile(" attempts < 3 ").map_err(|e| e.to_string());
    assert_eq!(expr.as_ref().map(Expr::source), Ok(" attempts < 3 "));
    if let Ok(e) = expr {
        assert_eq!(
            format!("{:?}", e.clone()),
            "Expr { source: \" attempts < 3 \" }"
        );
        assert_eq!(e.clone().references(), e.references());
    }
    let messages = [
        (
            CompileError::TooLong {
                len: 9000,
                max: 4096,
            }
            .to_string(),
            "expression is 9000 bytes long; the limit is 4096",
        ),
        (
            EvalError::UnknownVariable("attemps".into()).to_string(),
            "no variable named `attemps`",
        ),
        (
            EvalError::TypeMismatch {
                operation: "'+'",
                found: "int and string",
            }
            .to_string(),
            "cannot apply '+' to int and string",
        ),
        (
            EvalError::IndexOutOfRange { index: 3, len: 2 }.to_string(),
            "index 3 is out of range for a list of 2 items",
        ),
        (
            EvalError::NotABool { found: "int" }.to_string(),
            "the expression must produce true or false, but produced a value of type int",
        ),
    ];
    for (got, want) in messages {
        assert_eq!(got, want);
    }
    let long = "1+".repeat(4500) + "1";
    assert_eq!(
        Expr::compile(&long)
            .map_err(|e| e.to_string())
            .err()
            .as_deref(),
        Some("expression is 9001 bytes long; the limit is 4096")
    );
}
