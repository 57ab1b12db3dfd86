//! Ramal's expression language: a small, safe subset of CEL (Common
//! Expression Language).
//!
//! Supervisors type expressions such as `attempts < 3`,
//! `call.caller.startsWith("+5511")` or
//! `digits(contact["cpf"]) == "12345678909"` in a browser, so every
//! expression is untrusted input. [`Expr::compile`] parses the source once
//! into a tree, checking [`Limits`] (source length before lexing, tree depth
//! and node count while parsing) so that no input can panic, overflow the
//! stack or take more than linear time. [`Expr::evaluate`] then runs the tree
//! against a [`Scope`], which supplies the root variables (`call`, `contact`
//! and the flow's variables) as JSON [`Value`]s.
//!
//! # Language
//!
//! * Literals: `42`, `0x2A`, `1.5`, `1e3`, `"text"`, `'text'`, `r"raw \d"`,
//!   `true`, `false`, `null`, lists `[1, 2]`, maps `{"k": v}`.
//! * Variables and access: `name`, `a.b`, `a[0]`, `a["k"]`.
//! * Operators, lowest precedence first: `?:`; `||`; `&&`;
//!   `==` `!=` `<` `<=` `>` `>=` `in`; `+` `-`; `*` `/` `%`; unary `!` `-`;
//!   member access, indexing and calls. `&&` and `||` short-circuit.
//! * Functions: `size`, `startsWith`, `endsWith`, `contains`, `matches`,
//!   `int`, `double`, `string`, `bool`, `has`, `lowerAscii`, `upperAscii`,
//!   `trim` and the extension `digits`.
//!
//! Integer arithmetic is checked; values never become NaN or infinite; every
//! string or list built during one evaluation counts against a 1 MiB budget.
//! `//` starts a comment that runs to the end of the line.

/// `?` without the `From` conversion. In debug builds `?` creates several
/// temporaries per use; the recursive parser and evaluator use this instead
/// to keep the stack used per nesting level small.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}

mod ast;
mod eval;
mod functions;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

pub use serde_json::Value;

/// Hard ceiling on the tree depth, whatever [`Limits::max_depth`] says: the
/// parser and the evaluator recurse once per level and must fit in a 1 MiB
/// stack (wasm32). At this depth a debug build uses under 400 KiB of stack
/// and a release build under 130 KiB. Under V8 (the browser, Node) wasm frames also
/// live on the engine's native stack, and a debug build at depth 64 overflowed it and
/// crashed the engine instead of trapping; 32 — the default — runs cleanly there.
pub const HARD_MAX_DEPTH: u32 = 32;

/// Bytes a single evaluation may allocate for new strings, lists and maps
/// (including copies of scope values placed into them) before it fails with
/// [`EvalError::ValueTooLarge`].
pub const EVAL_BUDGET_BYTES: usize = 1 << 20;

/// Limits checked while compiling an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted source, in bytes; checked before lexing.
    pub max_len: usize,
    /// Deepest accepted syntax tree (a leaf has depth 1; `1+1+1` has
    /// depth 3). Parenthesis nesting counts too. Values above
    /// [`HARD_MAX_DEPTH`] are treated as [`HARD_MAX_DEPTH`].
    pub max_depth: u32,
    /// Largest accepted number of syntax-tree nodes.
    pub max_nodes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_len: 4096,
            max_depth: 32,
            max_nodes: 512,
        }
    }
}

/// A compiled expression. Cheap to clone (the tree is shared).
#[derive(Clone)]
pub struct Expr {
    inner: Arc<Inner>,
}

struct Inner {
    source: Box<str>,
    root: ast::Node,
    references: Vec<Vec<String>>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expr")
            .field("source", &self.source())
            .finish()
    }
}

impl Expr {
    /// Compiles `source` with the default [`Limits`].
    pub fn compile(source: &str) -> Result<Expr, CompileError> {
        Self::compile_with(source, &Limits::default())
    }

    /// Compiles `source`, rejecting it if it exceeds `limits`.
    pub fn compile_with(source: &str, limits: &Limits) -> Result<Expr, CompileError> {
        if source.len() > limits.max_len {
            return Err(CompileError::TooLong {
                len: source.len(),
                max: limits.max_len,
            });
        }
        let tokens = lexer::lex(source)?;
        let root = parser::parse(tokens, limits)?;
        let references = ast::references(&root);
        Ok(Expr {
            inner: Arc::new(Inner {
                source: source.into(),
                root,
                references,
            }),
        })
    }

    /// The source text the expression was compiled from.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Every variable path the expression reads, as written:
    /// `call.caller` gives `["call", "caller"]`, `contact["cpf"]` gives
    /// `["contact", "cpf"]`, and `x.size()` or `x[0]` give `["x"]` (a path
    /// stops at the first step that is not a field name). Deduplicated, in
    /// order of first appearance.
    pub fn references(&self) -> &[Vec<String>] {
        &self.inner.references
    }

    /// Evaluates the expression against `scope`.
    pub fn evaluate(&self, scope: &dyn Scope) -> Result<Value, EvalError> {
        eval::evaluate(&self.inner.root, scope).map(std::borrow::Cow::into_owned)
    }

    /// Evaluates the expression and requires a boolean result
    /// ([`EvalError::NotABool`] otherwise).
    pub fn evaluate_bool(&self, scope: &dyn Scope) -> Result<bool, EvalError> {
        match eval::evaluate(&self.inner.root, scope)?.as_ref() {
            Value::Bool(b) => Ok(*b),
            other => Err(EvalError::NotABool {
                found: eval::type_name(other),
            }),
        }
    }
}

/// Where root identifiers come from. The executor stores `call` and
/// `contact` as JSON objects and flow variables by name.
pub trait Scope {
    /// The value of the root variable `root`, if it exists.
    fn lookup(&self, root: &str) -> Option<&Value>;
}

impl Scope for serde_json::Map<String, Value> {
    fn lookup(&self, root: &str) -> Option<&Value> {
        self.get(root)
    }
}

/// Why an expression did not compile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// The source is longer than [`Limits::max_len`].
    #[error("expression is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Length of the source, in bytes.
        len: usize,
        /// The limit, in bytes.
        max: usize,
    },
    /// The expression nests deeper than [`Limits::max_depth`].
    #[error("expression is nested too deeply; the limit is {max} levels")]
    TooDeep {
        /// The depth limit that was applied.
        max: u32,
    },
    /// The expression has more parts than [`Limits::max_nodes`].
    #[error("expression is too complex; the limit is {max} parts")]
    TooComplex {
        /// The node-count limit.
        max: u32,
    },
    /// The source is not a valid expression.
    #[error("syntax error at {offset}: {message}")]
    Syntax {
        /// Byte offset into the source.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// The pattern given to `matches` is not a valid regular expression.
    #[error("invalid regular expression at {offset}: {message}")]
    BadRegex {
        /// Byte offset of the pattern literal in the source.
        offset: usize,
        /// The regex engine's explanation.
        message: String,
    },
}

/// Why an evaluation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A root identifier is not in the scope.
    #[error("no variable named `{0}`")]
    UnknownVariable(String),
    /// A map has no such key (field access or indexing).
    #[error("no field named `{0}`")]
    NoSuchKey(String),
    /// A list index is negative or past the end.
    #[error("index {index} is out of range for a list of {len} items")]
    IndexOutOfRange {
        /// The index used.
        index: i64,
        /// Length of the list.
        len: usize,
    },
    /// An operation or function got a value of the wrong type.
    #[error("cannot apply {operation} to {found}")]
    TypeMismatch {
        /// The operator or function, e.g. "`+`" or "size()".
        operation: &'static str,
        /// The type(s) found, e.g. "string" or "int and string".
        found: &'static str,
    },
    /// Integer division or remainder by zero (or a double divided by zero,
    /// since JSON cannot hold infinity).
    #[error("division by zero")]
    DivisionByZero,
    /// Integer overflow, or a double result that is not finite.
    #[error("arithmetic overflow")]
    Overflow,
    /// [`Expr::evaluate_bool`] got a value that is not a boolean.
    #[error("the expression must produce true or false, but produced a value of type {found}")]
    NotABool {
        /// Type of the value produced.
        found: &'static str,
    },
    /// A conversion function (`int`, `double`, `string`, `bool`) failed.
    #[error("cannot convert to {to}: {message}")]
    Conversion {
        /// The target type.
        to: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The evaluation built strings or lists larger than
    /// [`EVAL_BUDGET_BYTES`].
    #[error("the expression built a value larger than 1 MiB")]
    ValueTooLarge,
}
