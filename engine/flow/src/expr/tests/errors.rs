//! Error tests: every evaluation and compile error, with its message.

use serde_json::json;

use super::scope;
use crate::expr::*;

/// Compiles each source, evaluates it and expects the given error.
fn check_err(cases: &[(&str, EvalError)]) {
    let scope = scope();
    for (src, want) in cases {
        let got = Expr::compile(src)
            .map_err(|e| e.to_string())
            .map(|e| e.evaluate(&scope));
        assert_eq!(got, Ok(Err(want.clone())), "source: {src}");
    }
}

/// Expects each source to fail to compile with a message starting with the
/// given text.
fn check_compile_err(cases: &[(&str, &str)]) {
    for (src, want) in cases {
        match Expr::compile(src) {
            Ok(e) => panic!("source {src:?} compiled: {e:?}"),
            Err(e) => assert!(
                e.to_string().starts_with(want),
                "source {src:?}: got {:?}, want it to start with {want:?}",
                e.to_string()
            ),
        }
    }
}

fn mismatch(operation: &'static str, found: &'static str) -> EvalError {
    EvalError::TypeMismatch { operation, found }
}

fn conversion(to: &'static str, message: &str) -> EvalError {
    EvalError::Conversion {
        to,
        message: message.to_owned(),
    }
}

#[test]
fn evaluation_errors() {
    use EvalError::*;
    check_err(&[
        ("attemps < 3", UnknownVariable("attemps".into())),
        ("call.nope", NoSuchKey("nope".into())),
        ("call['nope']", NoSuchKey("nope".into())),
        ("{'a': attempts}.b", NoSuchKey("b".into())),
        ("list[3]", IndexOutOfRange { index: 3, len: 3 }),
        ("list[-1]", IndexOutOfRange { index: -1, len: 3 }),
        ("empty[0]", IndexOutOfRange { index: 0, len: 0 }),
        ("[attempts][1]", IndexOutOfRange { index: 1, len: 1 }),
        ("1 + 'a'", mismatch("'+'", "int and string")),
        ("'a' + 1", mismatch("'+'", "string and int")),
        ("[1] + 'a'", mismatch("'+'", "list and string")),
        ("true - 1", mismatch("'-'", "bool and int")),
        ("'a' * 2", mismatch("'*'", "string and int")),
        ("'a' < 1", mismatch("'<'", "string and int")),
        ("[1] < [2]", mismatch("'<'", "list and list")),
        ("null >= 1", mismatch("'>='", "null and int")),
        ("call > call", mismatch("'>'", "map and map")),
        ("!1", mismatch("'!'", "int")),
        ("-'a'", mismatch("'-'", "string")),
        ("1 && true", mismatch("'&&'", "int")),
        ("true && 1", mismatch("'&&'", "int")),
        ("false || 'x'", mismatch("'||'", "string")),
        ("1 ? 2 : 3", mismatch("'?:'", "int")),
        ("name.x", mismatch("field access", "string")),
        ("nothing.x", mismatch("field access", "null")),
        ("list['a']", mismatch("indexing", "list and string")),
        ("list[1.0]", mismatch("indexing", "list and double")),
        ("call[0]", mismatch("indexing", "map and int")),
        ("name[0]", mismatch("indexing", "string and int")),
        ("1 in 2", mismatch("'in'", "int and int")),
        ("1 in 'abc'", mismatch("'in'", "int and string")),
        ("size(1)", mismatch("size()", "int")),
        ("1.startsWith('a')", mismatch("startsWith()", "int")),
        ("'a'.endsWith(1)", mismatch("endsWith()", "int")),
        ("list.contains(1)", mismatch("contains()", "list")),
        ("attempts.matches('a')", mismatch("matches()", "int")),
        ("flag.lowerAscii()", mismatch("lowerAscii()", "bool")),
        ("1.upperAscii()", mismatch("upperAscii()", "int")),
        ("list.trim()", mismatch("trim()", "list")),
        ("digits(1.5)", mismatch("digits()", "double")),
        ("has(name.x)", mismatch("has()", "string")),
        ("has(nope.x)", UnknownVariable("nope".into())),
        ("has(call.meta.nope.x)", NoSuchKey("nope".into())),
        ("{attempts: 1}", mismatch("a map key", "int")),
        ("1 / 0", DivisionByZero),
        ("1 % 0", DivisionByZero),
        ("1.0 / 0", DivisionByZero),
        ("1 / 0.0", DivisionByZero),
        ("1.5 % 0.0", DivisionByZero),
        ("9223372036854775807 + 1", Overflow),
        ("-9223372036854775808 - 1", Overflow),
        ("big * 2", Overflow),
        ("-(-9223372036854775808)", Overflow),
        ("--9223372036854775808", Overflow),
        ("-9223372036854775808 / -1", Overflow),
        ("1e308 * 10", Overflow),
        ("-1e308 * 10", Overflow),
        ("1e308 + 1e308", Overflow),
        ("int(1e19)", conversion("int", "1e19 is out of range")),
        ("int(-1e19)", conversion("int", "-1e19 is out of range")),
        (
            "int('12a')",
            conversion("int", "\"12a\" is not a whole number"),
        ),
        ("int('')", conversion("int", "\"\" is not a whole number")),
        (
            "int(' 1')",
            conversion("int", "\" 1\" is not a whole number"),
        ),
        (
            "int('1.5')",
            conversion("int", "\"1.5\" is not a whole number"),
        ),
        (
            "int('99999999999999999999')",
            conversion("int", "\"99999999999999999999\" is not a whole number"),
        ),
        (
            "int(true)",
            conversion("int", "bool values cannot be converted"),
        ),
        (
            "double('abc')",
            conversion("double", "\"abc\" is not a number"),
        ),
        (
            "double('inf')",
            conversion("double", "\"inf\" is not a number"),
        ),
        (
            "double('NaN')",
            conversion("double", "\"NaN\" is not a number"),
        ),
        (
            "double('1e999')",
            conversion("double", "\"1e999\" is not a number"),
        ),
        (
            "double(null)",
            conversion("double", "null values cannot be converted"),
        ),
        (
            "string(null)",
            conversion("string", "null values cannot be converted"),
        ),
        (
            "string([1])",
            conversion("string", "list values cannot be converted"),
        ),
        (
            "string(call)",
            conversion("string", "map values cannot be converted"),
        ),
        (
            "bool('yes')",
            conversion("bool", "\"yes\" is neither \"true\" nor \"false\""),
        ),
        (
            "bool(1)",
            conversion("bool", "int values cannot be converted"),
        ),
    ]);
}

#[test]
fn evaluate_bool_requires_a_bool() {
    let scope = scope();
    let cases = [
        ("attempts < 3", Ok(true)),
        ("has(call.x)", Ok(false)),
        ("1", Err(EvalError::NotABool { found: "int" })),
        ("name", Err(EvalError::NotABool { found: "string" })),
        ("null", Err(EvalError::NotABool { found: "null" })),
        ("score", Err(EvalError::NotABool { found: "double" })),
        ("list", Err(EvalError::NotABool { found: "list" })),
        ("call", Err(EvalError::NotABool { found: "map" })),
        ("nope", Err(EvalError::UnknownVariable("nope".into()))),
    ];
    for (src, want) in cases {
        let expr = Expr::compile(src).map_err(|e| e.to_string());
        assert_eq!(
            expr.map(|e| e.evaluate_bool(&scope)),
            Ok(want),
            "source: {src}"
        );
    }
}

#[test]
fn results_are_bounded() {
    let mut scope = scope();
    scope.insert("half".into(), json!("h".repeat(600 * 1024)));
    scope.insert("third".into(), json!("t".repeat(400 * 1024)));
    scope.insert("ints".into(), json!(vec![1; 40_000]));
    let cases: &[(&str, Result<Value, EvalError>)] = &[
        ("half + half", Err(EvalError::ValueTooLarge)),
        ("third + third + third", Err(EvalError::ValueTooLarge)),
        ("size(third + third)", Ok(json!(800 * 1024))),
        ("size(half + 'x')", Ok(json!(600 * 1024 + 1))),
        ("[half, half]", Err(EvalError::ValueTooLarge)),
        ("{'a': half, 'b': half}", Err(EvalError::ValueTooLarge)),
        ("half.upperAscii() + half", Err(EvalError::ValueTooLarge)),
        ("ints + ints", Err(EvalError::ValueTooLarge)),
        ("size(ints + [1])", Ok(json!(40_001))),
        ("size(half) + size(half)", Ok(json!(1_228_800))),
        ("half == half", Ok(json!(true))),
    ];
    for (src, want) in cases {
        let got = Expr::compile(src).map_err(|e| e.to_string());
        assert_eq!(
            got.map(|e| e.evaluate(&scope)),
            Ok(want.clone()),
            "source: {src}"
        );
    }
}

#[test]
fn syntax_errors() {
    check_compile_err(&[
        (
            "",
            "syntax error at 0: expected an expression, found end of expression",
        ),
        ("   ", "syntax error at 3: expected an expression"),
        (
            "1 +",
            "syntax error at 3: expected an expression, found end of expression",
        ),
        (")", "syntax error at 0: expected an expression, found ')'"),
        (
            "(1",
            "syntax error at 2: expected ')', found end of expression",
        ),
        ("((attempts + 1) * 2", "syntax error at 19: expected ')'"),
        ("1 2", "syntax error at 2: expected an operator or the end"),
        (
            "in",
            "syntax error at 0: expected an expression, found 'in'",
        ),
        ("\"abc", "syntax error at 0: unterminated string"),
        ("\"", "syntax error at 0: unterminated string"),
        ("x == 'a", "syntax error at 5: unterminated string"),
        ("'a\nb'", "syntax error at 0: unterminated string"),
        ("'abc\\", "syntax error at 0: unterminated string"),
        ("r'abc", "syntax error at 0: unterminated string"),
        ("'\\q'", "syntax error at 1: unknown escape sequence '\\q'"),
        ("'\\u12'", "syntax error at 1: expected 4 hex digits"),
        (
            "'\\uD800'",
            "syntax error at 1: '\\uD800' is not a character",
        ),
        (
            "9223372036854775808",
            "syntax error at 0: integer literal is too large",
        ),
        (
            "99999999999999999999",
            "syntax error at 0: integer literal is too large",
        ),
        (
            "0x10000000000000000",
            "syntax error at 0: integer literal is too large",
        ),
        ("0x", "syntax error at 0: expected hexadecimal digits"),
        ("1e999", "syntax error at 0: number is out of range"),
        (
            "12abc",
            "syntax error at 2: unexpected character after number",
        ),
        ("1u", "syntax error at 1: unexpected character after number"),
        ("a = 1", "syntax error at 2: unexpected '='; use '=='"),
        ("a & b", "syntax error at 2: unexpected '&'"),
        ("a | b", "syntax error at 2: unexpected '|'"),
        ("café", "syntax error at 3: unexpected character 'é'"),
        ("ação == 1", "syntax error at 1: unexpected character 'ç'"),
        ("🎉", "syntax error at 0: unexpected character '🎉'"),
        (
            "1 +\0 2",
            "syntax error at 3: unexpected control character U+0000",
        ),
        (
            "\0",
            "syntax error at 0: unexpected control character U+0000",
        ),
        ("@", "syntax error at 0: unexpected character '@'"),
        ("'a' 'b'", "syntax error at 4: expected an operator"),
        ("a.", "syntax error at 2: expected a field name after '.'"),
        (
            "a.1",
            "syntax error at 2: expected a field name after '.', found number 1",
        ),
        ("a.true", "syntax error at 2: expected a field name"),
        ("a[1", "syntax error at 3: expected ']'"),
        ("[1 2]", "syntax error at 3: expected ',' or ']'"),
        ("[,]", "syntax error at 1: expected an expression"),
        ("{'a' 1}", "syntax error at 5: expected ':'"),
        ("{'a': 1", "syntax error at 7: expected ',' or '}'"),
        (
            "{'a': 1, 'a': 2}",
            "syntax error at 9: duplicate key \"a\" in map",
        ),
        ("{1: 2}", "syntax error at 1: map keys must be strings"),
        ("true ? 1", "syntax error at 8: expected ':'"),
        ("a ? b ? c : d : e", "syntax error at 6: expected ':'"),
        ("foo(1)", "syntax error at 0: unknown function 'foo'"),
        ("a.b(1)", "syntax error at 2: unknown function 'b'"),
        (
            "size()",
            "syntax error at 0: 'size' takes 1 argument, got 0",
        ),
        (
            "size(1, 2)",
            "syntax error at 0: 'size' takes 1 argument, got 2",
        ),
        (
            "'a'.size(1)",
            "syntax error at 4: 'size' takes 0 arguments, got 1",
        ),
        (
            "'a'.startsWith()",
            "syntax error at 4: 'startsWith' takes 1 argument, got 0",
        ),
        (
            "matches('a')",
            "syntax error at 0: 'matches' takes 2 arguments, got 1",
        ),
        (
            "x.int()",
            "syntax error at 2: 'int' is not a method; call it as int(x)",
        ),
        ("x.has(y)", "syntax error at 2: 'has' is not a method"),
        (
            "contains('a', 'b')",
            "syntax error at 0: 'contains' is a method",
        ),
        (
            "'a'.matches(x)",
            "syntax error at 12: the pattern of 'matches' must be a string literal",
        ),
        (
            "matches('a', 'b' + 'c')",
            "syntax error at 13: the pattern of 'matches'",
        ),
        ("'a'.matches('(')", "invalid regular expression at 12: "),
        (
            "'a'.matches('a{1000}{1000}')",
            "invalid regular expression at 12: ",
        ),
        ("has(x)", "syntax error at 4: 'has' needs a field selection"),
        (
            "has(x[0])",
            "syntax error at 4: 'has' needs a field selection",
        ),
        ("has()", "syntax error at 0: 'has' takes 1 argument, got 0"),
        ("size(", "syntax error at 5: expected an expression"),
        ("size(1", "syntax error at 6: expected ',' or ')'"),
        ("!", "syntax error at 1: expected an expression"),
        ("-", "syntax error at 1: expected an expression"),
        ("`", "syntax error at 0: unexpected character '`'"),
    ]);
}

#[test]
fn bad_regex_offset_and_nesting() {
    let nested = format!("'a'.matches('{}a{}')", "(".repeat(40), ")".repeat(40));
    assert!(matches!(
        Expr::compile(&nested),
        Err(CompileError::BadRegex { offset: 12, .. })
    ));
}
