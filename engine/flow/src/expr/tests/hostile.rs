//! Hostile inputs, depth and size limits, and property tests: every input
//! must give a clean result, quickly, within a 1 MiB stack (wasm32's).

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Map, json};

use super::super::*;

/// Limits that rely only on the hard depth ceiling.
const UNLIMITED: Limits = Limits {
    max_len: usize::MAX,
    max_depth: u32::MAX,
    max_nodes: u32::MAX,
};

/// Runs `f` on a thread with a 1 MiB stack, like wasm32.
/// On wasm32 there are no threads, and the main stack is the small (1 MiB) one already.
#[cfg(target_family = "wasm")]
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    f()
}

#[cfg(not(target_family = "wasm"))]
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = std::thread::Builder::new().stack_size(1 << 20).spawn(f);
    match handle.map(|h| h.join()) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(e) => panic!("cannot spawn a thread: {e}"),
    }
}

fn nest(open: &str, middle: &str, close: &str, n: usize) -> String {
    format!("{}{middle}{}", open.repeat(n), close.repeat(n))
}

/// What a hostile input must produce.
#[derive(Debug, Clone, Copy)]
enum Want {
    TooLong,
    TooDeep,
    TooDeepOrComplex,
    TooComplex,
    Syntax,
}

fn hostile_cases() -> Vec<(String, Want)> {
    let chain = |n: usize| format!("1{}", "+1".repeat(n));
    vec![
        (chain(512 * 1024), Want::TooLong),
        // 100 MiB natively; 8 MiB on wasm32, where growing linear memory past 100 MiB
        // crashes Node 20's V8 in its garbage collector. Both are far over the 4096 limit.
        (
            "x".repeat(if cfg!(target_family = "wasm") {
                8 << 20
            } else {
                100 << 20
            }),
            Want::TooLong,
        ),
        (chain(2000), Want::TooDeepOrComplex),
        (format!("1{}", "*1".repeat(2000)), Want::TooDeepOrComplex),
        (
            format!("true{}", " || true".repeat(500)),
            Want::TooDeepOrComplex,
        ),
        (nest("(", "1", ")", 2000), Want::TooDeep),
        (format!("{}true", "!".repeat(3000)), Want::TooDeep),
        (format!("{}1", "-".repeat(3000)), Want::TooDeep),
        (format!("{}1", "- ".repeat(2000)), Want::TooDeep),
        (nest("[", "", "]", 2000), Want::TooDeep),
        ("[".repeat(4000), Want::TooDeep),
        (format!("a{}", ".b".repeat(2000)), Want::TooDeep),
        (format!("a{}", "[0]".repeat(1300)), Want::TooDeep),
        (format!("a{}", ".size()".repeat(500)), Want::TooDeep),
        (nest("size(", "1", ")", 600), Want::TooDeep),
        (nest("f(", "1", ")", 1300), Want::Syntax),
        (format!("{}c", "a?b:".repeat(1000)), Want::TooDeep),
        (nest("{'a':", "1", "}", 100), Want::TooDeep),
        (format!("[{}1]", "1,".repeat(2000)), Want::TooComplex),
        (
            format!(
                "{{{}}}",
                (0..400).map(|i| format!("'k{i}':1,")).collect::<String>()
            ),
            Want::TooComplex,
        ),
        (format!("'{}", "a".repeat(4000)), Want::Syntax),
        ("\"".into(), Want::Syntax),
        ("((((((((((".into(), Want::Syntax),
        (")))))))))))".into(), Want::Syntax),
        ("\0".repeat(4000), Want::Syntax),
        ("é".repeat(2000), Want::Syntax),
    ]
}

fn assert_wanted(src: &str, got: &Result<Expr, CompileError>, want: Want, max_depth: u32) {
    let ok = match (got, want) {
        (Err(CompileError::TooLong { .. }), Want::TooLong) => true,
        (Err(CompileError::TooDeep { max }), Want::TooDeep | Want::TooDeepOrComplex) => {
            *max == max_depth
        }
        (Err(CompileError::TooComplex { .. }), Want::TooComplex | Want::TooDeepOrComplex) => true,
        (Err(CompileError::Syntax { .. }), Want::Syntax) => true,
        _ => false,
    };
    let shown: String = src.chars().take(60).collect();
    assert!(ok, "source {shown:?}…: got {got:?}, want {want:?}");
}

#[test]
fn hostile_inputs_fail_cleanly() {
    on_small_stack(|| {
        for (src, want) in hostile_cases() {
            let got = Expr::compile(&src);
            assert_wanted(&src, &got, want, 32);
        }
    });
}

#[test]
fn hostile_inputs_without_limits_hit_the_hard_ceiling() {
    on_small_stack(|| {
        for (src, want) in hostile_cases() {
            if src.len() > 4 << 20 {
                continue;
            }
            let want = match want {
                Want::TooLong | Want::TooDeepOrComplex => Want::TooDeep,
                // Without a node limit these compile; they are checked below.
                Want::TooComplex => continue,
                other => other,
            };
            let got = Expr::compile_with(&src, &UNLIMITED);
            assert_wanted(&src, &got, want, HARD_MAX_DEPTH);
        }
        // Wide but shallow expressions are fine without a node limit.
        let mut scope = Map::new();
        scope.insert("attempts".into(), json!(1));
        for (item, n) in [
            ("attempts,", 20_000),
            ("1,", 200_000),
            ("attempts+", 100_000),
        ] {
            let wide = format!("[{}1]", item.repeat(n));
            let got = Expr::compile_with(&wide, &UNLIMITED).map(|e| e.evaluate(&scope));
            let ok = match got {
                Ok(Ok(Value::Array(a))) => a.len() == n + 1,
                Err(CompileError::TooDeep { .. }) => item == "attempts+",
                _ => false,
            };
            assert!(ok, "wide list of {n} {item}");
        }
    });
}

#[test]
fn depth_and_node_limits_are_exact() {
    let limits = Limits::default();
    let cases: Vec<(String, Result<Value, Want>)> = vec![
        (format!("1{}", "+1".repeat(31)), Ok(json!(32))),
        (format!("1{}", "+1".repeat(32)), Err(Want::TooDeep)),
        (nest("(", "1", ")", 31), Ok(json!(1))),
        (nest("(", "1", ")", 32), Err(Want::TooDeep)),
        (format!("{}true", "!".repeat(31)), Ok(json!(false))),
        (format!("{}true", "!".repeat(32)), Err(Want::TooDeep)),
        (format!("{}1", "-".repeat(31)), Ok(json!(-1))),
        (format!("{}1", "-".repeat(33)), Err(Want::TooDeep)),
        (format!("{}2", "false?1:".repeat(31)), Ok(json!(2))),
        (format!("{}2", "false?1:".repeat(32)), Err(Want::TooDeep)),
        (nest("string(", "'x'", ")", 31), Ok(json!("x"))),
        (nest("string(", "'x'", ")", 32), Err(Want::TooDeep)),
        (format!("[{}1][0]", "1,".repeat(508)), Ok(json!(1))),
        (format!("[{}1][0]", "1,".repeat(509)), Err(Want::TooComplex)),
    ];
    for (src, want) in cases {
        let got = Expr::compile_with(&src, &limits);
        match want {
            Ok(v) => {
                let got = got.map(|e| e.evaluate(&Map::new()));
                assert_eq!(got, Ok(Ok(v)), "source {src}");
            }
            Err(w) => assert_wanted(&src, &got, w, 32),
        }
    }
}

#[test]
fn the_hard_ceiling_fits_in_a_small_stack() {
    let n = HARD_MAX_DEPTH as usize - 1;
    let mut deep = json!(1);
    for _ in 0..n {
        deep = json!({ "a": deep });
    }
    let mut scope = Map::new();
    scope.insert("a".into(), deep);
    let scope = Arc::new(scope);
    let half = n / 2;
    let cases: Vec<(String, Value)> = vec![
        (format!("1{}", "+1".repeat(n)), json!(n + 1)),
        (format!("1{}", " - -1 * 1".repeat(half)), json!(half + 1)),
        (nest("(", "1", ")", n), json!(1)),
        (nest("(1+", "1", ")", half), json!(half + 1)),
        (format!("{}true", "!".repeat(n)), json!(n.is_multiple_of(2))),
        (format!("{}1", "-".repeat(n)), json!(1 - 2 * (n as i64 % 2))),
        (format!("{}2", "false?1:".repeat(n)), json!(2)),
        (nest("string(", "'x'", ")", n), json!("x")),
        (
            nest("'x'.contains(string(", "'x'", "))", half),
            json!(false),
        ),
        (nest("[", "attempts", "][0]", half), json!(1)),
        (nest("{'a':", "attempts", "}.a", half), json!(1)),
        (nest("[0][", "0", "]", half), json!(0)),
        // Eight levels per step; f(x) = 7 + 2x, applied n / 8 times from 1.
        (
            nest("1+(2*(3-[{'a':-(", "attempts", ")}.a][0]))", n / 8),
            json!((0..n / 8).fold(1, |x, _| 7 + 2 * x)),
        ),
        (format!("size(a{})", ".a".repeat(n - 1)), json!(1)),
        (
            nest("[", "1", "]", n - 1) + " == " + &nest("[", "1.0", "]", n - 1),
            json!(true),
        ),
    ];
    let limits = Limits {
        max_len: 1 << 20,
        max_depth: 1000,
        max_nodes: 100_000,
    };
    on_small_stack(move || {
        let mut scope = (*scope).clone();
        scope.insert("attempts".into(), json!(1));
        for (src, want) in cases {
            let got = Expr::compile_with(&src, &limits).map(|e| e.evaluate(&scope));
            assert_eq!(got, Ok(Ok(want)), "source {src}");
        }
        let too_deep = format!("1{}", "+1".repeat(n + 1));
        assert_eq!(
            Expr::compile_with(&too_deep, &limits).err(),
            Some(CompileError::TooDeep {
                max: HARD_MAX_DEPTH
            })
        );
    });
}

#[test]
fn deep_scope_values_are_compared_without_recursion() {
    let mut deep = json!([1]);
    for _ in 0..1000 {
        deep = json!([deep]);
    }
    let mut scope = Map::new();
    scope.insert("d".into(), deep.clone());
    scope.insert("e".into(), deep);
    let scope = Arc::new(scope);
    let got = on_small_stack({
        let scope = Arc::clone(&scope);
        move || {
            let cases = ["d == e", "d in [e]", "size([d]) == 1"];
            cases.map(|src| Expr::compile(src).map(|e| e.evaluate_bool(&*scope)))
        }
    });
    assert_eq!(got, [Ok(Ok(true)), Ok(Ok(true)), Ok(Ok(true))]);
}

#[test]
fn many_regexes_compile_and_evaluate() {
    let src = format!(
        "'a'.matches('^\\\\w{{1,20}}[0-9a-f]+$'){}",
        " || 'b'.matches('(a|b|c)*d{2,9}\\\\w+')".repeat(30)
    );
    let limits = Limits {
        max_depth: 128,
        ..Limits::default()
    };
    let got = Expr::compile_with(&src, &limits).map(|e| e.evaluate_bool(&Map::new()));
    assert_eq!(got, Ok(Ok(false)));
}

fn test_scope() -> Map<String, Value> {
    let v = json!({
        "x": 3, "n": -2, "f": 2.5, "s": "str", "e": "", "l": [1, "a", [2]],
        "m": { "k": "v", "n": { "k": 1 } }, "t": true, "z": null,
        "attempts": 1, "call": { "caller": "+55" }
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

const TOKENS: &[&str] = &[
    "1",
    "0",
    "2.5",
    "0x1F",
    "9223372036854775807",
    "9223372036854775808",
    "1e308",
    "'a'",
    "\"b\"",
    "''",
    "r'\\d'",
    "'[('",
    "true",
    "false",
    "null",
    "x",
    "n",
    "f",
    "s",
    "e",
    "l",
    "m",
    "z",
    "k",
    "call",
    "caller",
    "missing",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ".",
    ",",
    ":",
    "?",
    "+",
    "-",
    "*",
    "/",
    "%",
    "!",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "in",
    "size",
    "has",
    "int",
    "double",
    "string",
    "bool",
    "startsWith",
    "endsWith",
    "contains",
    "matches",
    "lowerAscii",
    "upperAscii",
    "trim",
    "digits",
    "'",
    "\"",
    "\\",
    "//",
    "=",
    "&",
    "é",
    "\0",
];

const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "in", "&&", "||",
];

/// Random, mostly well-formed expressions.
fn expression() -> impl Strategy<Value = String> {
    let leaves = [
        "1",
        "0",
        "-1",
        "2.5",
        "0.0",
        "'a'",
        "''",
        "'b c'",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "[1, 'a']",
        "{'k': 1}",
        "x",
        "n",
        "f",
        "s",
        "e",
        "l",
        "m",
        "t",
        "z",
        "m.k",
        "l[0]",
        "missing",
        "9223372036854775807",
        "-9223372036854775808",
        "1e308",
        "'12.3'",
        "'true'",
    ];
    let leaf = prop::sample::select(leaves.to_vec()).prop_map(String::from);
    leaf.prop_recursive(5, 64, 3, |inner| {
        let select = |v: &[&'static str]| prop::sample::select(v.to_vec());
        prop_oneof![
            (inner.clone(), select(BINOPS), inner.clone())
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (select(&["!", "-"]), inner.clone()).prop_map(|(op, a)| format!("{op}{a}")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("({a} ? {b} : {c})")),
            (
                select(&["size", "int", "double", "string", "bool", "digits"]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (
                inner.clone(),
                select(&["size", "lowerAscii", "upperAscii", "trim", "digits"])
            )
                .prop_map(|(a, m)| format!("{a}.{m}()")),
            (
                inner.clone(),
                select(&["startsWith", "endsWith", "contains"]),
                inner.clone()
            )
                .prop_map(|(a, m, b)| format!("{a}.{m}({b})")),
            inner
                .clone()
                .prop_map(|a| format!("{a}.matches('^[a-z]+$')")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("[{a}, {b}]")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}[{b}]")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{{'k': {a}, 'j': {b}}}")),
            inner.clone().prop_map(|a| format!("{a}.k")),
            inner.prop_map(|a| format!("has({a}.k)")),
        ]
    })
}

fn exercise(src: &str) {
    let empty = Map::new();
    let scope = test_scope();
    if let Ok(expr) = Expr::compile(src) {
        let _ = expr.evaluate(&empty);
        let _ = expr.evaluate(&scope);
        let _ = expr.evaluate_bool(&scope);
        let _ = expr.references();
    }
    let _ = Expr::compile_with(src, &UNLIMITED).map(|e| e.evaluate(&scope));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_strings_never_panic(src in any::<String>()) {
        exercise(&src);
    }

    #[test]
    fn printable_strings_never_panic(src in "[ -~]{0,80}") {
        exercise(&src);
    }

    #[test]
    fn token_soup_never_panics(
        tokens in prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..48),
        glue in prop::sample::select(vec!["", " "]),
    ) {
        exercise(&tokens.join(glue));
    }

    #[test]
    fn generated_expressions_never_panic_and_equal_themselves(src in expression()) {
        exercise(&src);
        let scope = test_scope();
        if let Ok(Ok(_)) = Expr::compile(&src).map(|e| e.evaluate(&scope)) {
            let same = format!("({src}) == ({src})");
            if let Ok(e) = Expr::compile(&same) {
                prop_assert_eq!(e.evaluate(&scope), Ok(json!(true)), "{}", same);
            }
        }
    }
}
