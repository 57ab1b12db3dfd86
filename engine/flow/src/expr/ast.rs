//! The syntax tree built by the parser and walked by the evaluator, and
//! the variable paths an expression reads ([`references`]).

use std::collections::HashSet;

use regex::Regex;

use super::Value;
use super::functions::Func;
use super::lexer::Tok;

/// A node of the syntax tree.
#[derive(Debug)]
pub(crate) enum Node {
    /// A constant, including list and map literals whose parts are all
    /// constants.
    Lit(Value),
    /// A root variable, looked up in the scope.
    Var(Box<str>),
    /// `base.name`
    Field(Box<Node>, Box<str>),
    /// `base[index]`
    Index(Box<Node>, Box<Node>),
    /// `!x`
    Not(Box<Node>),
    /// `-x`
    Neg(Box<Node>),
    /// `l op r`, including the short-circuiting `&&` and `||`.
    Binary(BinOp, Box<Node>, Box<Node>),
    /// `cond ? then : else`
    Cond(Box<Node>, Box<Node>, Box<Node>),
    /// A list literal with at least one non-constant element.
    List(Vec<Node>),
    /// A map literal with at least one non-constant key or value.
    Map(Vec<(Node, Node)>),
    /// A built-in function; a method's receiver is the first argument.
    Call(Func, Vec<Node>),
    /// `target.matches("pattern")`, the pattern compiled once.
    Matches(Box<Node>, Box<Regex>),
    /// `has(base.name)`
    Has(Box<Node>, Box<str>),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    /// The operator a token stands for, if any.
    pub(crate) fn from_tok(tok: &Tok<'_>) -> Option<BinOp> {
        Some(match tok {
            Tok::OrOr => BinOp::Or,
            Tok::AndAnd => BinOp::And,
            Tok::EqEq => BinOp::Eq,
            Tok::NotEq => BinOp::Ne,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            Tok::In => BinOp::In,
            Tok::Plus => BinOp::Add,
            Tok::Minus => BinOp::Sub,
            Tok::Star => BinOp::Mul,
            Tok::Slash => BinOp::Div,
            Tok::Percent => BinOp::Rem,
            _ => return None,
        })
    }

    /// Binding strength; higher binds tighter. All are left-associative.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::In => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Rem => 5,
        }
    }

    /// The operator as written, for error messages.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "'||'",
            BinOp::And => "'&&'",
            BinOp::Eq => "'=='",
            BinOp::Ne => "'!='",
            BinOp::Lt => "'<'",
            BinOp::Le => "'<='",
            BinOp::Gt => "'>'",
            BinOp::Ge => "'>='",
            BinOp::In => "'in'",
            BinOp::Add => "'+'",
            BinOp::Sub => "'-'",
            BinOp::Mul => "'*'",
            BinOp::Div => "'/'",
            BinOp::Rem => "'%'",
        }
    }
}

/// The variable path `node` reads, if it is a chain of field steps
/// (`a.b`, `a["b"]`) rooted at a variable.
fn path_of(node: &Node) -> Option<Vec<String>> {
    let mut steps = Vec::new();
    let mut cur = node;
    loop {
        match cur {
            Node::Var(name) => {
                steps.push(name.to_string());
                steps.reverse();
                return Some(steps);
            }
            Node::Field(base, name) => {
                steps.push(name.to_string());
                cur = base;
            }
            Node::Index(base, key) => match &**key {
                Node::Lit(Value::String(k)) => {
                    steps.push(k.clone());
                    cur = base;
                }
                _ => return None,
            },
            _ => return None,
        }
    }
}

/// Paths found so far, in order, and a set to deduplicate them in linear
/// time.
#[derive(Default)]
struct Refs {
    list: Vec<Vec<String>>,
    seen: HashSet<Vec<String>>,
}

impl Refs {
    fn push(&mut self, path: Vec<String>) {
        if !self.seen.contains(&path) {
            self.seen.insert(path.clone());
            self.list.push(path);
        }
    }
}

fn collect(node: &Node, out: &mut Refs) {
    if let Some(path) = path_of(node) {
        out.push(path);
        return;
    }
    match node {
        Node::Lit(_) | Node::Var(_) => {}
        Node::Field(base, _) | Node::Not(base) | Node::Neg(base) | Node::Matches(base, _) => {
            collect(base, out);
        }
        Node::Index(a, b) | Node::Binary(_, a, b) => {
            collect(a, out);
            collect(b, out);
        }
        Node::Cond(a, b, c) => {
            collect(a, out);
            collect(b, out);
            collect(c, out);
        }
        Node::List(items) | Node::Call(_, items) => items.iter().for_each(|n| collect(n, out)),
        Node::Map(entries) => entries.iter().for_each(|(k, v)| {
            collect(k, out);
            collect(v, out);
        }),
        Node::Has(base, field) => match path_of(base) {
            Some(mut path) => {
                path.push(field.to_string());
                out.push(path);
            }
            None => collect(base, out),
        },
    }
}

/// Every variable path the tree reads, deduplicated, in source order.
pub(crate) fn references(root: &Node) -> Vec<Vec<String>> {
    let mut refs = Refs::default();
    collect(root, &mut refs);
    refs.list
}
