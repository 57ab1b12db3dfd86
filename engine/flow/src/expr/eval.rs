//! Evaluator: walks the syntax tree against a [`Scope`].
//!
//! Intermediate values are `Cow<Value>`: variables, fields and literals are
//! borrowed from the scope or the tree, and only new strings, lists and maps
//! are allocated. Every allocation is charged against a per-evaluation
//! budget ([`EVAL_BUDGET_BYTES`]). Recursion follows the tree, whose depth
//! the parser bounded; equality and size estimates over scope values, whose
//! depth is unknown, use explicit stacks instead of recursion.

use std::borrow::Cow;
use std::cmp::Ordering;

use regex::Regex;

use super::ast::{BinOp, Node};
use super::functions::{Func, call1, call2};
use super::{EVAL_BUDGET_BYTES, EvalError, Scope, Value};

type R<'a> = Result<Cow<'a, Value>, EvalError>;

/// State of one evaluation.
pub(crate) struct Ctx<'a> {
    scope: &'a dyn Scope,
    budget: usize,
}

impl Ctx<'_> {
    /// Takes `bytes` from the allocation budget.
    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), EvalError> {
        self.budget = self
            .budget
            .checked_sub(bytes)
            .ok_or(EvalError::ValueTooLarge)?;
        Ok(())
    }

    /// Turns `v` into an owned value, charging for the copy if it is borrowed.
    fn own(&mut self, v: Cow<'_, Value>) -> Result<Value, EvalError> {
        match v {
            Cow::Owned(v) => Ok(v),
            Cow::Borrowed(v) => {
                self.charge(approx_size(v, self.budget))?;
                Ok(v.clone())
            }
        }
    }
}

/// Evaluates `root` against `scope`.
pub(crate) fn evaluate<'a>(root: &'a Node, scope: &'a dyn Scope) -> R<'a> {
    let mut cx = Ctx {
        scope,
        budget: EVAL_BUDGET_BYTES,
    };
    eval(root, &mut cx)
}

const NAMES: [&str; 7] = ["null", "bool", "int", "double", "string", "list", "map"];

#[rustfmt::skip]
const PAIRS: [[&str; 7]; 7] = [
    ["null and null", "null and bool", "null and int", "null and double", "null and string", "null and list", "null and map"],
    ["bool and null", "bool and bool", "bool and int", "bool and double", "bool and string", "bool and list", "bool and map"],
    ["int and null", "int and bool", "int and int", "int and double", "int and string", "int and list", "int and map"],
    ["double and null", "double and bool", "double and int", "double and double", "double and string", "double and list", "double and map"],
    ["string and null", "string and bool", "string and int", "string and double", "string and string", "string and list", "string and map"],
    ["list and null", "list and bool", "list and int", "list and double", "list and string", "list and list", "list and map"],
    ["map and null", "map and bool", "map and int", "map and double", "map and string", "map and list", "map and map"],
];

fn kind(v: &Value) -> usize {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(n) if n.is_i64() => 2,
        Value::Number(_) => 3,
        Value::String(_) => 4,
        Value::Array(_) => 5,
        Value::Object(_) => 6,
    }
}

/// The expression-language name of a value's type.
pub(crate) fn type_name(v: &Value) -> &'static str {
    NAMES.get(kind(v)).copied().unwrap_or("value")
}

/// "int and string" for a pair of values.
fn pair_name(a: &Value, b: &Value) -> &'static str {
    PAIRS
        .get(kind(a))
        .and_then(|row| row.get(kind(b)))
        .copied()
        .unwrap_or("values")
}

fn mismatch(operation: &'static str, found: &'static str) -> EvalError {
    EvalError::TypeMismatch { operation, found }
}

fn boolean<'a>(b: bool) -> R<'a> {
    Ok(Cow::Owned(Value::Bool(b)))
}

fn truth(v: &Value, operation: &'static str) -> Result<bool, EvalError> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(mismatch(operation, type_name(other))),
    }
}

/// Evaluates one node. Only dispatches: each kind of node has its own small
/// function, so the stack frame repeated per tree level stays small (the
/// tree may be [`super::HARD_MAX_DEPTH`] deep and wasm32 has a 1 MiB stack).
fn eval<'a>(node: &'a Node, cx: &mut Ctx<'a>) -> R<'a> {
    match node {
        Node::Lit(v) => Ok(Cow::Borrowed(v)),
        Node::Var(name) => variable(name, cx),
        Node::Binary(op, l, r) => eval_binary(*op, l, r, cx),
        Node::Field(base, name) => eval_field(base, name, cx),
        Node::Index(base, key) => eval_index(base, key, cx),
        Node::Not(x) => eval_not(x, cx),
        Node::Neg(x) => eval_neg(x, cx),
        Node::Cond(c, then, other) => eval_cond(c, then, other, cx),
        Node::List(items) => eval_list(items, cx),
        Node::Map(entries) => eval_map(entries, cx),
        Node::Call(f, args) => eval_call(*f, args, cx),
        Node::Matches(target, regex) => eval_matches(target, regex, cx),
        Node::Has(base, name) => eval_has(base, name, cx),
    }
}

fn variable<'a>(name: &str, cx: &mut Ctx<'a>) -> R<'a> {
    match cx.scope.lookup(name) {
        Some(v) => Ok(Cow::Borrowed(v)),
        None => Err(EvalError::UnknownVariable(name.to_owned())),
    }
}

fn eval_binary<'a>(op: BinOp, l: &'a Node, r: &'a Node, cx: &mut Ctx<'a>) -> R<'a> {
    if let BinOp::And | BinOp::Or = op {
        return eval_logic(op, l, r, cx);
    }
    let l = tri!(eval(l, cx));
    let r = tri!(eval(r, cx));
    binary(op, l, r, cx)
}

/// `&&` and `||`, short-circuiting left to right.
fn eval_logic<'a>(op: BinOp, l: &'a Node, r: &'a Node, cx: &mut Ctx<'a>) -> R<'a> {
    let l = tri!(eval(l, cx));
    let l = tri!(truth(&l, op.symbol()));
    if l == (op == BinOp::Or) {
        return boolean(l);
    }
    let r = tri!(eval(r, cx));
    truth(&r, op.symbol()).map(|b| Cow::Owned(Value::Bool(b)))
}

fn eval_field<'a>(base: &'a Node, name: &str, cx: &mut Ctx<'a>) -> R<'a> {
    let base = tri!(eval(base, cx));
    field(base, name)
}

fn eval_index<'a>(base: &'a Node, key: &'a Node, cx: &mut Ctx<'a>) -> R<'a> {
    let base = tri!(eval(base, cx));
    let key = tri!(eval(key, cx));
    index(base, &key)
}

fn eval_not<'a>(x: &'a Node, cx: &mut Ctx<'a>) -> R<'a> {
    let x = tri!(eval(x, cx));
    truth(&x, "'!'").map(|b| Cow::Owned(Value::Bool(!b)))
}

fn eval_neg<'a>(x: &'a Node, cx: &mut Ctx<'a>) -> R<'a> {
    let x = tri!(eval(x, cx));
    negate(&x)
}

fn eval_cond<'a>(c: &'a Node, then: &'a Node, other: &'a Node, cx: &mut Ctx<'a>) -> R<'a> {
    let c = tri!(eval(c, cx));
    if tri!(truth(&c, "'?:'")) {
        eval(then, cx)
    } else {
        eval(other, cx)
    }
}

fn eval_list<'a>(items: &'a [Node], cx: &mut Ctx<'a>) -> R<'a> {
    tri!(cx.charge(items.len().saturating_mul(16)));
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let v = tri!(eval(item, cx));
        out.push(tri!(cx.own(v)));
    }
    Ok(Cow::Owned(Value::Array(out)))
}

fn eval_map<'a>(entries: &'a [(Node, Node)], cx: &mut Ctx<'a>) -> R<'a> {
    let mut out = serde_json::Map::new();
    for (k, v) in entries {
        let key = tri!(eval(k, cx));
        let key = tri!(map_key(key, cx));
        let value = tri!(eval(v, cx));
        out.insert(key, tri!(cx.own(value)));
    }
    Ok(Cow::Owned(Value::Object(out)))
}

fn map_key(key: Cow<'_, Value>, cx: &mut Ctx<'_>) -> Result<String, EvalError> {
    cx.charge(48)?;
    match key {
        Cow::Owned(Value::String(s)) => Ok(s),
        Cow::Borrowed(Value::String(s)) => {
            cx.charge(s.len())?;
            Ok(s.clone())
        }
        other => Err(mismatch("a map key", type_name(&other))),
    }
}

fn eval_call<'a>(f: Func, args: &'a [Node], cx: &mut Ctx<'a>) -> R<'a> {
    match args {
        [x] => {
            let x = tri!(eval(x, cx));
            call1(f, x, cx)
        }
        [x, y] => {
            let x = tri!(eval(x, cx));
            let y = tri!(eval(y, cx));
            call2(f, x, y)
        }
        _ => Err(mismatch("a function call", "the wrong number of arguments")),
    }
}

fn eval_matches<'a>(target: &'a Node, regex: &Regex, cx: &mut Ctx<'a>) -> R<'a> {
    let target = tri!(eval(target, cx));
    match target.as_ref() {
        Value::String(s) => boolean(regex.is_match(s)),
        other => Err(mismatch("matches()", type_name(other))),
    }
}

fn eval_has<'a>(base: &'a Node, name: &str, cx: &mut Ctx<'a>) -> R<'a> {
    let base = tri!(eval(base, cx));
    match base.as_ref() {
        Value::Object(m) => boolean(m.contains_key(name)),
        Value::Null => boolean(false),
        other => Err(mismatch("has()", type_name(other))),
    }
}

fn field<'a>(base: Cow<'a, Value>, name: &str) -> R<'a> {
    let found = match base {
        Cow::Borrowed(Value::Object(m)) => m.get(name).map(Cow::Borrowed),
        Cow::Owned(Value::Object(mut m)) => m.remove(name).map(Cow::Owned),
        other => return Err(mismatch("field access", type_name(&other))),
    };
    found.ok_or_else(|| EvalError::NoSuchKey(name.to_owned()))
}

fn index<'a>(base: Cow<'a, Value>, key: &Value) -> R<'a> {
    match (base.as_ref(), key) {
        (Value::Array(items), Value::Number(n)) if n.is_i64() => {
            let i = n.as_i64().unwrap_or(-1);
            let len = items.len();
            let out_of_range = EvalError::IndexOutOfRange { index: i, len };
            let Some(pos) = usize::try_from(i).ok().filter(|p| *p < len) else {
                return Err(out_of_range);
            };
            let found = match base {
                Cow::Borrowed(Value::Array(items)) => items.get(pos).map(Cow::Borrowed),
                Cow::Owned(Value::Array(items)) => items.into_iter().nth(pos).map(Cow::Owned),
                _ => None,
            };
            found.ok_or(out_of_range)
        }
        (Value::Object(_), Value::String(k)) => field(base, k),
        (b, k) => Err(mismatch("indexing", pair_name(b, k))),
    }
}

/// A number as the language sees it.
#[derive(Debug, Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

impl Num {
    fn of(v: &Value) -> Option<Num> {
        match v {
            Value::Number(n) => match n.as_i64() {
                Some(i) => Some(Num::I(i)),
                None => n.as_f64().map(Num::F),
            },
            _ => None,
        }
    }

    fn float(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }
}

/// Exact comparison of an int with a double.
fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        None
    } else if f >= TWO_63 {
        Some(Ordering::Less)
    } else if f < -TWO_63 {
        Some(Ordering::Greater)
    } else {
        let t = f.trunc();
        match i.cmp(&(t as i64)) {
            Ordering::Equal => 0.0f64.partial_cmp(&(f - t)),
            o => Some(o),
        }
    }
}

fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
        (Num::I(x), Num::F(y)) => cmp_int_float(x, y),
        (Num::F(x), Num::I(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

/// Equality on any two values: numbers compare across int and double,
/// containers deeply, different types are unequal. Iterative.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    let mut stack: Vec<(&Value, &Value)> = Vec::new();
    let (mut a, mut b) = (a, b);
    loop {
        let same = match (a, b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Number(_), Value::Number(_)) => matches!(
                Num::of(a).zip(Num::of(b)).and_then(|(x, y)| cmp_num(x, y)),
                Some(Ordering::Equal)
            ),
            (Value::String(x), Value::String(y)) => x == y,
            (Value::Array(x), Value::Array(y)) => {
                let same_len = x.len() == y.len();
                if same_len {
                    stack.extend(x.iter().zip(y.iter()));
                }
                same_len
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter().all(|(k, v)| match y.get(k) {
                        Some(w) => {
                            stack.push((v, w));
                            true
                        }
                        None => false,
                    })
            }
            _ => false,
        };
        if !same {
            return false;
        }
        match stack.pop() {
            Some((x, y)) => (a, b) = (x, y),
            None => return true,
        }
    }
}

/// Rough heap size of `v`, used to charge copies; stops counting once past
/// `cap`. Iterative.
fn approx_size(v: &Value, cap: usize) -> usize {
    match v {
        Value::String(s) => return s.len().saturating_add(16),
        Value::Array(_) | Value::Object(_) => {}
        Value::Null | Value::Bool(_) | Value::Number(_) => return 16,
    }
    let mut total = 16usize;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => total = total.saturating_add(s.len()),
            Value::Array(items) => {
                total = total.saturating_add(items.len().saturating_mul(16));
                if total <= cap {
                    stack.extend(items.iter());
                }
            }
            Value::Object(m) => {
                total = total.saturating_add(m.len().saturating_mul(48));
                for (k, v) in m {
                    total = total.saturating_add(k.len());
                    if total > cap {
                        break;
                    }
                    stack.push(v);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
        if total > cap {
            return total;
        }
    }
    total
}

fn negate(v: &Value) -> R<'static> {
    match Num::of(v) {
        Some(Num::I(i)) => i
            .checked_neg()
            .map(|n| Cow::Owned(Value::from(n)))
            .ok_or(EvalError::Overflow),
        Some(Num::F(f)) => number(-f),
        None => Err(mismatch("'-'", type_name(v))),
    }
}

fn number(f: f64) -> R<'static> {
    serde_json::Number::from_f64(f)
        .map(|n| Cow::Owned(Value::Number(n)))
        .ok_or(EvalError::Overflow)
}

fn arith(op: BinOp, a: Num, b: Num) -> R<'static> {
    if let (Num::I(x), Num::I(y)) = (a, b) {
        if matches!(op, BinOp::Div | BinOp::Rem) && y == 0 {
            return Err(EvalError::DivisionByZero);
        }
        let r = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::Div => x.checked_div(y),
            _ => Some(x.wrapping_rem(y)),
        };
        return r
            .map(|n| Cow::Owned(Value::from(n)))
            .ok_or(EvalError::Overflow);
    }
    let (x, y) = (a.float(), b.float());
    if matches!(op, BinOp::Div | BinOp::Rem) && y == 0.0 {
        return Err(EvalError::DivisionByZero);
    }
    number(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        _ => x % y,
    })
}

fn binary<'a>(op: BinOp, l: Cow<'a, Value>, r: Cow<'a, Value>, cx: &mut Ctx<'_>) -> R<'a> {
    match op {
        BinOp::Eq => boolean(equal(&l, &r)),
        BinOp::Ne => boolean(!equal(&l, &r)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = match (l.as_ref(), r.as_ref()) {
                (Value::Number(_), Value::Number(_)) => Num::of(&l)
                    .zip(Num::of(&r))
                    .and_then(|(a, b)| cmp_num(a, b)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
                _ => None,
            };
            let Some(ord) = ord else {
                return Err(mismatch(op.symbol(), pair_name(&l, &r)));
            };
            boolean(match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Le => ord.is_le(),
                BinOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        BinOp::In => match (l.as_ref(), r.as_ref()) {
            (needle, Value::Array(items)) => boolean(items.iter().any(|x| equal(needle, x))),
            (Value::String(k), Value::Object(m)) => boolean(m.contains_key(k)),
            (_, Value::Object(_)) => boolean(false),
            (Value::String(n), Value::String(h)) => boolean(h.contains(n.as_str())),
            (a, b) => Err(mismatch(op.symbol(), pair_name(a, b))),
        },
        BinOp::Add => match (l.as_ref(), r.as_ref()) {
            (Value::String(_), Value::String(_)) => concat_strings(l, r, cx),
            (Value::Array(_), Value::Array(_)) => concat_lists(l, r, cx),
            _ => numeric(op, &l, &r),
        },
        BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => numeric(op, &l, &r),
        BinOp::And | BinOp::Or => {
            let a = truth(&l, op.symbol())?;
            let b = truth(&r, op.symbol())?;
            boolean(if op == BinOp::And { a && b } else { a || b })
        }
    }
}

fn numeric<'a>(op: BinOp, l: &Value, r: &Value) -> R<'a> {
    match (Num::of(l), Num::of(r)) {
        (Some(a), Some(b)) => arith(op, a, b),
        _ => Err(mismatch(op.symbol(), pair_name(l, r))),
    }
}

fn concat_strings<'a>(l: Cow<'a, Value>, r: Cow<'a, Value>, cx: &mut Ctx<'_>) -> R<'a> {
    let b = r.as_str().unwrap_or_default();
    let s = match l {
        Cow::Owned(Value::String(mut a)) => {
            cx.charge(b.len())?;
            a.push_str(b);
            a
        }
        other => {
            let a = other.as_str().unwrap_or_default();
            cx.charge(a.len().saturating_add(b.len()))?;
            let mut s = String::with_capacity(a.len() + b.len());
            s.push_str(a);
            s.push_str(b);
            s
        }
    };
    Ok(Cow::Owned(Value::String(s)))
}

fn concat_lists<'a>(l: Cow<'a, Value>, r: Cow<'a, Value>, cx: &mut Ctx<'_>) -> R<'a> {
    let Value::Array(mut items) = cx.own(l)? else {
        return Err(mismatch("'+'", "list"));
    };
    let Value::Array(more) = cx.own(r)? else {
        return Err(mismatch("'+'", "list"));
    };
    items.extend(more);
    Ok(Cow::Owned(Value::Array(items)))
}
