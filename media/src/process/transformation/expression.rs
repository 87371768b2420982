//! Cloudinary's arithmetic and conditions: `w_iw_div_2`, `$half_iw_div_2`,
//! `if_ar_gt_3:4_and_w_gt_300`. Values are `_`-separated tokens: numbers
//! (`0.5`, `3:4`), user variables (`$name`) and the image's own sizes
//! (`w`, `h`, `ar` as they are at that component; `iw`, `ih`, `iar` as
//! the original is), joined by `add`, `sub`, `mul`, `div`, `mod`, `pow`
//! with the usual precedence. Conditions compare two expressions (`eq`,
//! `ne`, `lt`, `gt`, `lte`, `gte`) and join comparisons with `and`, which
//! binds before `or`, as Cloudinary documents.
//!
//! Parsed once into postfix order, so evaluating is a loop over a short
//! list with no recursion a URL could deepen.

use std::collections::HashMap;

use super::values::decimal;

/// Most numbers and names one expression may hold.
const MAX_TERMS: usize = 12;
/// Most comparisons one condition may join.
const MAX_COMPARISONS: usize = 8;
/// Longest variable name, after the `$`.
const MAX_NAME: usize = 32;
/// Largest magnitude any value may reach while evaluating: far past every
/// size limit, small enough that no step overflows into infinity.
const MAX_MAGNITUDE: f64 = 1e9;

/// A quantity of the image, at the current component or the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Width,
    Height,
    AspectRatio,
    InitialWidth,
    InitialHeight,
    InitialAspectRatio,
}

impl Measure {
    fn parse(token: &str) -> Option<Self> {
        Some(match token {
            "w" => Self::Width,
            "h" => Self::Height,
            "ar" => Self::AspectRatio,
            "iw" => Self::InitialWidth,
            "ih" => Self::InitialHeight,
            "iar" => Self::InitialAspectRatio,
            _ => return None,
        })
    }
}

/// Names Cloudinary defines that need what this service does not keep
/// (faces, pages, tags, context, metadata, durations): a clear refusal
/// rather than "unknown".
const UNAVAILABLE: [&str; 13] = [
    "fc", "pc", "cp", "tar", "px", "py", "tags", "ctx", "md", "du", "idu", "ils", "idn",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl Operator {
    fn parse(token: &str) -> Option<Self> {
        Some(match token {
            "add" => Self::Add,
            "sub" => Self::Sub,
            "mul" => Self::Mul,
            "div" => Self::Div,
            "mod" => Self::Mod,
            "pow" => Self::Pow,
            _ => return None,
        })
    }

    fn precedence(self) -> u8 {
        match self {
            Self::Add | Self::Sub => 1,
            Self::Mul | Self::Div | Self::Mod => 2,
            Self::Pow => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Number(f64),
    Measure(Measure),
    Variable(String),
    Apply(Operator),
}

/// An arithmetic expression, kept with its text for printing.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    /// Postfix order.
    terms: Vec<Term>,
    text: String,
}

/// What expressions may refer to while one component is resolved.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The component's input.
    pub current: (u32, u32),
    /// The original, oriented.
    pub initial: (u32, u32),
    variables: HashMap<String, f64>,
}

impl Scope {
    pub fn new(initial: (u32, u32)) -> Self {
        Self {
            current: initial,
            initial,
            variables: HashMap::new(),
        }
    }

    pub fn set(&mut self, name: &str, value: f64) {
        self.variables.insert(name.to_owned(), value);
    }

    fn measure(&self, measure: Measure) -> f64 {
        let ratio = |(w, h): (u32, u32)| f64::from(w) / f64::from(h.max(1));
        match measure {
            Measure::Width => f64::from(self.current.0),
            Measure::Height => f64::from(self.current.1),
            Measure::AspectRatio => ratio(self.current),
            Measure::InitialWidth => f64::from(self.initial.0),
            Measure::InitialHeight => f64::from(self.initial.1),
            Measure::InitialAspectRatio => ratio(self.initial),
        }
    }
}

/// `$name`: a letter, then letters and digits.
pub fn variable_name(text: &str) -> Option<&str> {
    let name = text.strip_prefix('$')?;
    let mut chars = name.chars();
    let first_is_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (first_is_letter && name.len() <= MAX_NAME && chars.all(|c| c.is_ascii_alphanumeric()))
        .then_some(name)
}

/// A literal: a decimal as every value family reads one, with an optional
/// sign, or a ratio `3:4`.
fn number(token: &str) -> Option<f64> {
    let plain = |t: &str| match t.strip_prefix('-') {
        Some(digits) => decimal(digits).map(|v| -v),
        None => decimal(t),
    };
    match token.split_once(':') {
        Some((a, b)) => {
            let (a, b) = (plain(a)?, plain(b)?);
            (b != 0.0).then(|| a / b)
        }
        None => plain(token),
    }
}

/// Whether a parameter's value is meant as an expression rather than a
/// literal: it names a variable or a measure, or applies an operator.
pub fn looks_symbolic(value: &str) -> bool {
    value.contains('$')
        || value.split('_').any(|t| {
            Measure::parse(t).is_some() || Operator::parse(t).is_some() || UNAVAILABLE.contains(&t)
        })
}

impl Expression {
    /// Parses `text` (already split off its key).
    ///
    /// # Errors
    /// Why the text is not an expression, for a 400.
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens: Vec<&str> = text.split('_').collect();
        Self::from_tokens(&tokens)
    }

    fn from_tokens(tokens: &[&str]) -> Result<Self, String> {
        if tokens.is_empty() || tokens.len() > 2 * MAX_TERMS - 1 {
            return Err(format!(
                "an expression holds 1 to {MAX_TERMS} numbers or names"
            ));
        }
        let mut output = Vec::with_capacity(tokens.len());
        let mut pending: Vec<Operator> = Vec::new();
        for (index, token) in tokens.iter().enumerate() {
            if index % 2 == 1 {
                let op = Operator::parse(token).ok_or_else(|| {
                    format!(
                        "expected add, sub, mul, div, mod or pow, not '{}'",
                        cut(token)
                    )
                })?;
                // Left to right within a precedence level.
                while let Some(&top) = pending.last() {
                    if top.precedence() >= op.precedence() && op != Operator::Pow {
                        output.push(Term::Apply(top));
                        pending.pop();
                    } else {
                        break;
                    }
                }
                pending.push(op);
            } else {
                output.push(operand(token)?);
            }
        }
        if tokens.len().is_multiple_of(2) {
            return Err("an expression cannot end with an operator".into());
        }
        output.extend(pending.into_iter().rev().map(Term::Apply));
        Ok(Self {
            terms: output,
            text: tokens.join("_"),
        })
    }

    /// The value in `scope`.
    ///
    /// # Errors
    /// An unset variable, a division by zero, or a value too large.
    pub fn evaluate(&self, scope: &Scope) -> Result<f64, String> {
        let mut stack: Vec<f64> = Vec::with_capacity(self.terms.len());
        for term in &self.terms {
            let value = match term {
                Term::Number(n) => *n,
                Term::Measure(m) => scope.measure(*m),
                Term::Variable(name) => *scope
                    .variables
                    .get(name)
                    .ok_or_else(|| format!("${name} is used before it is set"))?,
                Term::Apply(op) => {
                    let (Some(right), Some(left)) = (stack.pop(), stack.pop()) else {
                        return Err("a malformed expression".into());
                    };
                    apply(*op, left, right)?
                }
            };
            if !value.is_finite() || value.abs() > MAX_MAGNITUDE {
                return Err(format!("{} is out of range", self.text));
            }
            stack.push(value);
        }
        match stack.as_slice() {
            [value] => Ok(*value),
            _ => Err("a malformed expression".into()),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

fn apply(op: Operator, left: f64, right: f64) -> Result<f64, String> {
    Ok(match op {
        Operator::Add => left + right,
        Operator::Sub => left - right,
        Operator::Mul => left * right,
        Operator::Div | Operator::Mod if right == 0.0 => {
            return Err("divides by zero".into());
        }
        Operator::Div => left / right,
        Operator::Mod => left % right,
        Operator::Pow => left.powf(right),
    })
}

fn operand(token: &str) -> Result<Term, String> {
    if let Some(value) = number(token) {
        return Ok(Term::Number(value));
    }
    if let Some(measure) = Measure::parse(token) {
        return Ok(Term::Measure(measure));
    }
    if token.starts_with('$') {
        return variable_name(token)
            .map(|name| Term::Variable(name.to_owned()))
            .ok_or_else(|| {
                format!("a variable is $ and a letter, then letters or digits, at most {MAX_NAME}")
            });
    }
    if token.starts_with('!') {
        return Err("string values are for text layers, which this service does not draw".into());
    }
    if UNAVAILABLE.contains(&token) {
        return Err(format!(
            "'{token}' needs faces, pages, tags, context or metadata, which this service does not keep"
        ));
    }
    Err(format!(
        "'{}' is not a number, a $variable or one of w, h, ar, iw, ih, iar",
        cut(token)
    ))
}

fn cut(text: &str) -> String {
    text.chars().take(24).filter(|c| !c.is_control()).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Eq,
    Ne,
    Lt,
    Gt,
    Lte,
    Gte,
}

impl Relation {
    fn parse(token: &str) -> Option<Self> {
        Some(match token {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "lt" => Self::Lt,
            "gt" => Self::Gt,
            "lte" => Self::Lte,
            "gte" => Self::Gte,
            _ => return None,
        })
    }

    fn holds(self, left: f64, right: f64) -> bool {
        // Sizes are whole pixels and ratios come from them: equal within
        // a rounding error is equal.
        let equal = (left - right).abs() < 1e-9;
        match self {
            Self::Eq => equal,
            Self::Ne => !equal,
            Self::Lt => left < right && !equal,
            Self::Gt => left > right && !equal,
            Self::Lte => left < right || equal,
            Self::Gte => left > right || equal,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Comparison {
    left: Expression,
    relation: Relation,
    right: Expression,
}

/// `if_…`: comparisons joined by `and` (first) and `or`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Any of these groups, each holding when all its comparisons do.
    any: Vec<Vec<Comparison>>,
    text: String,
}

impl Condition {
    /// Parses what follows `if_`.
    ///
    /// # Errors
    /// Why the text is not a condition, for a 400.
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens: Vec<&str> = text.split('_').collect();
        let mut any = Vec::new();
        let mut count = 0;
        for group in tokens.split(|t| *t == "or") {
            let mut all = Vec::new();
            for comparison in group.split(|t| *t == "and") {
                count += 1;
                if count > MAX_COMPARISONS {
                    return Err(format!(
                        "a condition joins at most {MAX_COMPARISONS} comparisons"
                    ));
                }
                all.push(compare(comparison)?);
            }
            any.push(all);
        }
        Ok(Self {
            any,
            text: tokens.join("_"),
        })
    }

    /// Whether the condition holds in `scope`.
    ///
    /// # Errors
    /// As [`Expression::evaluate`].
    pub fn holds(&self, scope: &Scope) -> Result<bool, String> {
        for all in &self.any {
            let mut holds = true;
            for c in all {
                holds &= c
                    .relation
                    .holds(c.left.evaluate(scope)?, c.right.evaluate(scope)?);
            }
            if holds {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

fn compare(tokens: &[&str]) -> Result<Comparison, String> {
    if tokens.iter().any(|t| matches!(*t, "in" | "nin")) {
        return Err("in and nin test tags and context, which this service does not keep".into());
    }
    let at = tokens
        .iter()
        .position(|t| Relation::parse(t).is_some())
        .ok_or("a comparison needs eq, ne, lt, gt, lte or gte")?;
    let relation = Relation::parse(tokens[at]).ok_or("a comparison needs an operator")?;
    let (left, right) = (&tokens[..at], &tokens[at + 1..]);
    if left.is_empty() || right.is_empty() {
        return Err("a comparison needs a value on each side".into());
    }
    Ok(Comparison {
        left: Expression::from_tokens(left)?,
        relation,
        right: Expression::from_tokens(right)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        let mut scope = Scope::new((1200, 800));
        scope.current = (600, 400);
        scope.set("small", 150.0);
        scope
    }

    fn value(text: &str) -> f64 {
        Expression::parse(text)
            .expect(text)
            .evaluate(&scope())
            .expect(text)
    }

    #[test]
    fn arithmetic_follows_the_usual_precedence() {
        assert_eq!(value("iw_div_2"), 600.0);
        assert_eq!(value("w_add_h_mul_2"), 1400.0);
        assert_eq!(value("iw_sub_w_sub_100"), 500.0);
        assert_eq!(value("2_pow_3_pow_2"), 512.0);
        assert_eq!(value("$small_mul_2_add_1"), 301.0);
        assert_eq!(value("ar"), 1.5);
        assert_eq!(value("iar_mul_3:4"), 1.125);
        assert_eq!(value("10_mod_4"), 2.0);
    }

    #[test]
    fn bad_expressions_say_why() {
        for (text, why) in [
            ("iw_div_0", "zero"),
            ("$big_add_1", "$big is used"),
            ("iw_div", "end with an operator"),
            ("iw_plus_2", "expected add"),
            ("fc_mul_2", "faces"),
            ("!text!", "text layers"),
            ("10_pow_400", "out of range"),
        ] {
            let err = Expression::parse(text).and_then(|e| e.evaluate(&scope()));
            assert!(
                err.as_ref().is_err_and(|e| e.contains(why)),
                "{text}: {err:?}"
            );
        }
        let long = vec!["1"; MAX_TERMS + 1].join("_add_");
        assert!(Expression::parse(&long).is_err());
    }

    #[test]
    fn and_binds_before_or() {
        let holds = |text: &str| {
            Condition::parse(text)
                .expect(text)
                .holds(&scope())
                .expect(text)
        };
        assert!(holds("w_gt_500"));
        assert!(holds("ar_gt_3:4_and_w_gt_300_and_h_gt_200"));
        assert!(!holds("w_lt_500_and_h_gt_100"));
        // false and false or true: true only if `and` binds first.
        assert!(holds("w_lt_1_and_h_lt_1_or_iw_eq_1200"));
        assert!(holds("w_ne_h"));
        assert!(holds("iw_div_2_eq_w"));
        assert!(holds("w_lte_600_and_w_gte_600"));
        assert!(Condition::parse("tags_in_!sale!").is_err());
        assert!(Condition::parse("w_100").is_err());
    }
}
