//! Parser: builds the syntax tree ([`Node`]) from the lexer's tokens.
//!
//! Binary operators are parsed by precedence climbing in a loop, so a chain
//! `1+1+1+…` does not recurse. Every node is counted and its depth checked
//! the moment it is built, and every recursive descent into a
//! sub-expression goes through [`Parser::expr`], which counts nesting: the
//! parser never recurses deeper than the depth limit, and the tree it
//! returns is never deeper than the limit either (the evaluator recurses
//! over it).

use std::collections::BTreeSet;

use regex::RegexBuilder;

use super::ast::{BinOp, Node};
use super::functions::{self, Builtin};
use super::lexer::{Tok, Token};
use super::{CompileError, HARD_MAX_DEPTH, Limits, Value};

/// A node with the depth of the subtree it roots (a leaf has depth 1).
struct Built {
    node: Node,
    depth: u32,
}

type R<T> = Result<T, CompileError>;

fn syntax(offset: usize, message: impl Into<String>) -> CompileError {
    CompileError::Syntax {
        offset,
        message: message.into(),
    }
}

static EOF: Tok<'static> = Tok::Eof;

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    pos: usize,
    max_depth: u32,
    max_nodes: u32,
    nodes: u32,
    nesting: u32,
}

/// Parses a whole expression.
pub(crate) fn parse(toks: Vec<Token<'_>>, limits: &Limits) -> R<Node> {
    let mut p = Parser {
        toks,
        pos: 0,
        max_depth: limits.max_depth.min(HARD_MAX_DEPTH),
        max_nodes: limits.max_nodes,
        nodes: 0,
        nesting: 0,
    };
    let built = p.expr()?;
    if *p.peek() != Tok::Eof {
        return Err(p.unexpected("an operator or the end of the expression"));
    }
    Ok(built.node)
}

impl<'a> Parser<'a> {
    fn peek_at(&self, ahead: usize) -> &Tok<'a> {
        self.toks.get(self.pos + ahead).map_or(&EOF, |t| &t.tok)
    }

    fn peek(&self) -> &Tok<'a> {
        self.peek_at(0)
    }

    fn offset(&self) -> usize {
        match self.toks.get(self.pos) {
            Some(t) => t.offset,
            None => self.toks.last().map_or(0, |t| t.offset),
        }
    }

    /// Consumes the current token (the final `Eof` is never consumed).
    fn bump(&mut self) -> Tok<'a> {
        let tok = self.peek().clone();
        if tok != Tok::Eof {
            self.pos += 1;
        }
        tok
    }

    fn eat(&mut self, tok: &Tok<'_>) -> bool {
        if self.peek() == tok {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self, wanted: &str) -> CompileError {
        syntax(
            self.offset(),
            format!("expected {wanted}, found {}", self.peek().describe()),
        )
    }

    fn expect(&mut self, tok: &Tok<'_>, wanted: &str) -> R<()> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    fn too_deep(&self) -> CompileError {
        CompileError::TooDeep {
            max: self.max_depth,
        }
    }

    /// Counts a new node whose deepest child has depth `child_depth`.
    fn mk(&mut self, node: Node, child_depth: u32) -> R<Built> {
        self.nodes += 1;
        if self.nodes > self.max_nodes {
            return Err(CompileError::TooComplex {
                max: self.max_nodes,
            });
        }
        let depth = child_depth.saturating_add(1);
        if depth > self.max_depth {
            return Err(self.too_deep());
        }
        Ok(Built { node, depth })
    }

    // The functions below recurse (through `expr`), so they are kept small
    // and use `tri!` rather than `?`: in debug builds this keeps the stack
    // used per nesting level small. Work that does not recurse is done in
    // separate functions.

    /// expr := or ('?' or ':' expr)?  — the only entry point for nested
    /// sub-expressions, so it bounds the parser's recursion.
    fn expr(&mut self) -> R<Built> {
        self.nesting += 1;
        if self.nesting > self.max_depth {
            return Err(self.too_deep());
        }
        let cond = tri!(self.binary(1));
        let result = if *self.peek() == Tok::Question {
            self.ternary(cond)
        } else {
            Ok(cond)
        };
        self.nesting -= 1;
        result
    }

    fn ternary(&mut self, cond: Built) -> R<Built> {
        self.pos += 1;
        let then = tri!(self.binary(1));
        tri!(self.expect(&Tok::Colon, "':'"));
        let other = tri!(self.expr());
        let depth = cond.depth.max(then.depth).max(other.depth);
        let node = Node::Cond(
            Box::new(cond.node),
            Box::new(then.node),
            Box::new(other.node),
        );
        self.mk(node, depth)
    }

    /// Precedence climbing: operators of precedence >= `min`. Recursion is
    /// bounded by the number of precedence levels, and each level builds a
    /// node, so it is bounded by the depth limit too.
    fn binary(&mut self, min: u8) -> R<Built> {
        let mut lhs = tri!(self.unary());
        while let Some(op) = BinOp::from_tok(self.peek()) {
            let prec = op.precedence();
            if prec < min {
                break;
            }
            self.pos += 1;
            let rhs = tri!(self.binary(prec + 1));
            lhs = tri!(self.mk_binary(op, lhs, rhs));
        }
        Ok(lhs)
    }

    fn mk_binary(&mut self, op: BinOp, lhs: Built, rhs: Built) -> R<Built> {
        let depth = lhs.depth.max(rhs.depth);
        self.mk(
            Node::Binary(op, Box::new(lhs.node), Box::new(rhs.node)),
            depth,
        )
    }

    /// unary := ('!' | '-')* postfix, parsed with a loop.
    fn unary(&mut self) -> R<Built> {
        let start = self.pos;
        while matches!(self.peek(), Tok::Bang | Tok::Minus) {
            self.pos += 1;
        }
        let end = self.pos;
        if end == start {
            return self.postfix();
        }
        if (end - start) as u64 > u64::from(self.max_depth) {
            return Err(self.too_deep());
        }
        if self.at_negated_min_int(end) {
            self.pos += 1;
            // The last '-' is part of the literal.
            let literal = tri!(self.mk(Node::Lit(Value::from(i64::MIN)), 0));
            return self.apply_unary(start, end - 1, literal);
        }
        let operand = tri!(self.postfix());
        self.apply_unary(start, end, operand)
    }

    /// Whether the tokens at `end` are `9223372036854775808` preceded by '-'
    /// and not followed by a member or index: the one integer literal that
    /// only fits negated.
    fn at_negated_min_int(&self, end: usize) -> bool {
        *self.peek() == Tok::Int(1 << 63)
            && end > 0
            && self.toks.get(end - 1).is_some_and(|t| t.tok == Tok::Minus)
            && !matches!(self.peek_at(1), Tok::Dot | Tok::LBracket)
    }

    /// Applies the unary operators at `start..end`, innermost first.
    fn apply_unary(&mut self, start: usize, end: usize, mut operand: Built) -> R<Built> {
        for i in (start..end).rev() {
            let negate = self.toks.get(i).is_some_and(|t| t.tok == Tok::Minus);
            // `-` directly on a number literal is folded into the literal.
            let folded = match (negate && i + 1 == end, &operand.node) {
                (true, Node::Lit(Value::Number(n))) => match n.as_i64() {
                    Some(v) => v.checked_neg().map(Value::from),
                    None => n
                        .as_f64()
                        .and_then(|f| serde_json::Number::from_f64(-f))
                        .map(Value::Number),
                },
                _ => None,
            };
            operand = if let Some(value) = folded {
                Built {
                    node: Node::Lit(value),
                    depth: operand.depth,
                }
            } else if negate {
                self.mk(Node::Neg(Box::new(operand.node)), operand.depth)?
            } else {
                self.mk(Node::Not(Box::new(operand.node)), operand.depth)?
            };
        }
        Ok(operand)
    }

    /// postfix := primary ('.' IDENT | '.' IDENT '(' args ')' | '[' expr ']')*
    fn postfix(&mut self) -> R<Built> {
        let mut base = tri!(self.primary());
        loop {
            base = match self.peek() {
                Tok::Dot => tri!(self.member(base)),
                Tok::LBracket => tri!(self.index(base)),
                _ => return Ok(base),
            };
        }
    }

    fn member(&mut self, base: Built) -> R<Built> {
        self.pos += 1;
        let at = self.offset();
        let Tok::Ident(name) = *self.peek() else {
            return Err(self.unexpected("a field name after '.'"));
        };
        self.pos += 1;
        if *self.peek() == Tok::LParen {
            self.call(name, at, Some(base))
        } else {
            self.mk(Node::Field(Box::new(base.node), name.into()), base.depth)
        }
    }

    fn index(&mut self, base: Built) -> R<Built> {
        self.pos += 1;
        let index = tri!(self.expr());
        tri!(self.expect(&Tok::RBracket, "']'"));
        let depth = base.depth.max(index.depth);
        self.mk(
            Node::Index(Box::new(base.node), Box::new(index.node)),
            depth,
        )
    }

    fn primary(&mut self) -> R<Built> {
        match self.peek() {
            Tok::LParen => {
                self.pos += 1;
                let inner = tri!(self.expr());
                tri!(self.expect(&Tok::RParen, "')'"));
                Ok(inner)
            }
            Tok::LBracket => self.list(),
            Tok::LBrace => self.map(),
            Tok::Ident(name) => {
                let (name, at) = (*name, self.offset());
                self.pos += 1;
                if *self.peek() == Tok::LParen {
                    self.call(name, at, None)
                } else {
                    self.mk(Node::Var(name.into()), 0)
                }
            }
            _ => self.literal(),
        }
    }

    fn literal(&mut self) -> R<Built> {
        let at = self.offset();
        let value = match self.peek() {
            Tok::Int(n) => match i64::try_from(*n) {
                Ok(i) => Value::from(i),
                Err(_) => return Err(syntax(at, "integer literal is too large")),
            },
            Tok::Double(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => Value::Number(n),
                None => return Err(syntax(at, "number is out of range")),
            },
            Tok::Str(_) => match self.bump() {
                Tok::Str(s) => return self.mk(Node::Lit(Value::String(s)), 0),
                _ => return Err(syntax(at, "expected a string")),
            },
            Tok::True => Value::Bool(true),
            Tok::False => Value::Bool(false),
            Tok::Null => Value::Null,
            _ => return Err(self.unexpected("an expression")),
        };
        self.pos += 1;
        self.mk(Node::Lit(value), 0)
    }

    /// Comma-separated expressions up to `close` (a trailing comma is
    /// allowed), with the offset where each starts, and the deepest depth.
    fn items(&mut self, close: &Tok<'_>, wanted: &str) -> R<(Vec<(Built, usize)>, u32)> {
        let mut items = Vec::new();
        let mut depth = 0;
        while !self.eat(close) {
            let at = self.offset();
            let item = tri!(self.expr());
            depth = depth.max(item.depth);
            items.push((item, at));
            if !self.eat(&Tok::Comma) {
                tri!(self.expect(close, wanted));
                break;
            }
        }
        Ok((items, depth))
    }

    fn list(&mut self) -> R<Built> {
        self.pos += 1;
        let (items, depth) = tri!(self.items(&Tok::RBracket, "',' or ']'"));
        let nodes: Vec<Node> = items.into_iter().map(|(b, _)| b.node).collect();
        let node = if nodes.iter().all(|n| matches!(n, Node::Lit(_))) {
            let values = nodes.into_iter().filter_map(|n| match n {
                Node::Lit(v) => Some(v),
                _ => None,
            });
            Node::Lit(Value::Array(values.collect()))
        } else {
            Node::List(nodes)
        };
        self.mk(node, depth)
    }

    fn map(&mut self) -> R<Built> {
        self.pos += 1;
        let mut entries = Vec::new();
        let mut depth = 0;
        let mut seen = BTreeSet::new();
        while !self.eat(&Tok::RBrace) {
            let at = self.offset();
            let key = tri!(self.expr());
            tri!(check_key(&key.node, at, &mut seen));
            tri!(self.expect(&Tok::Colon, "':'"));
            let value = tri!(self.expr());
            depth = depth.max(key.depth).max(value.depth);
            entries.push((key.node, value.node));
            if !self.eat(&Tok::Comma) {
                tri!(self.expect(&Tok::RBrace, "',' or '}'"));
                break;
            }
        }
        self.mk(map_node(entries), depth)
    }

    /// A call of `name` (at offset `at`); the current token is '('.
    fn call(&mut self, name: &str, at: usize, receiver: Option<Built>) -> R<Built> {
        let entry = tri!(functions::lookup(name, receiver.is_some()).map_err(|m| syntax(at, m)));
        tri!(self.expect(&Tok::LParen, "'('"));
        let (args, depth) = tri!(self.items(&Tok::RParen, "',' or ')'"));
        let node = tri!(call_node(entry, at, receiver, args));
        self.mk(node.0, node.1.max(depth))
    }
}

/// Rejects non-string literal keys and duplicate literal keys.
fn check_key(key: &Node, at: usize, seen: &mut BTreeSet<String>) -> R<()> {
    match key {
        Node::Lit(Value::String(k)) if !seen.insert(k.clone()) => {
            Err(syntax(at, format!("duplicate key \"{k}\" in map")))
        }
        Node::Lit(Value::String(_)) => Ok(()),
        Node::Lit(_) => Err(syntax(at, "map keys must be strings")),
        _ => Ok(()),
    }
}

/// A map literal, folded into a constant when every part is a constant.
fn map_node(entries: Vec<(Node, Node)>) -> Node {
    let constant = entries
        .iter()
        .all(|(k, v)| matches!((k, v), (Node::Lit(Value::String(_)), Node::Lit(_))));
    if !constant {
        return Node::Map(entries);
    }
    let mut map = serde_json::Map::new();
    for (k, v) in entries {
        if let (Node::Lit(Value::String(k)), Node::Lit(v)) = (k, v) {
            map.insert(k, v);
        }
    }
    Node::Lit(Value::Object(map))
}

/// Builds the node of a call whose arguments are parsed; returns it with the
/// receiver's depth.
fn call_node(
    entry: &functions::Entry,
    at: usize,
    receiver: Option<Built>,
    args: Vec<(Built, usize)>,
) -> R<(Node, u32)> {
    let method = receiver.is_some();
    entry
        .check_arity(method, args.len())
        .map_err(|m| syntax(at, m))?;
    let depth = receiver.as_ref().map_or(0, |r| r.depth);
    let mut all = receiver.map(|r| (r, at)).into_iter().chain(args);
    let node = match entry.builtin {
        Builtin::Func(f) => Node::Call(f, all.map(|(b, _)| b.node).collect()),
        Builtin::Matches => {
            let (Some((target, _)), Some((pattern, pattern_at))) = (all.next(), all.next()) else {
                return Err(syntax(at, "'matches' takes a string and a pattern"));
            };
            let Node::Lit(Value::String(pattern)) = pattern.node else {
                return Err(syntax(
                    pattern_at,
                    "the pattern of 'matches' must be a string literal",
                ));
            };
            let regex = RegexBuilder::new(&pattern)
                .size_limit(1 << 20)
                .nest_limit(32)
                .build()
                .map_err(|e| CompileError::BadRegex {
                    offset: pattern_at,
                    message: e.to_string(),
                })?;
            Node::Matches(Box::new(target.node), Box::new(regex))
        }
        Builtin::Has => match all.next() {
            Some((
                Built {
                    node: Node::Field(base, field),
                    ..
                },
                _,
            )) => Node::Has(base, field),
            Some((_, arg_at)) => {
                return Err(syntax(
                    arg_at,
                    "'has' needs a field selection, e.g. has(contact.email)",
                ));
            }
            None => return Err(syntax(at, "'has' takes 1 argument")),
        },
    };
    Ok((node, depth))
}
