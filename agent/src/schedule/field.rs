//! One numeric cron field: `*`, values, names, ranges, lists and `/` steps,
//! parsed into the set of values it allows. The day-of-month and day-of-week
//! specials (`? L W #`) are handled by `cron.rs` before a field gets here.

use std::fmt;

use super::error::FieldProblem;

/// What one cron field may hold.
#[derive(Debug, PartialEq, Eq)]
pub struct FieldKind {
    pub name: &'static str,
    pub min: u32,
    pub max: u32,
    /// Names for `min`, `min + 1`, ... (months and days of week only).
    names: &'static [&'static str],
    /// How `names` reads in an error message.
    names_hint: &'static str,
    /// Added to an out-of-range message.
    range_hint: &'static str,
}

pub static SECONDS: FieldKind = FieldKind::numeric("seconds", 0, 59);
pub static MINUTES: FieldKind = FieldKind::numeric("minutes", 0, 59);
pub static HOURS: FieldKind = FieldKind::numeric("hours", 0, 23);
pub static DAY_OF_MONTH: FieldKind = FieldKind::numeric("day-of-month", 1, 31);
pub static MONTH: FieldKind = FieldKind {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    names_hint: "JAN-DEC or 1-12",
    range_hint: "",
};
/// AWS numbers days of the week 1-7 from Sunday, like Quartz and unlike
/// Unix cron (0-6 from Sunday).
pub static DAY_OF_WEEK: FieldKind = FieldKind {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    names_hint: "SUN-SAT or 1-7 (1 = Sunday)",
    range_hint: " (AWS numbers days of the week 1-7 with 1 = Sunday, 7 = Saturday)",
};
/// The range AWS documents for the year field.
pub static YEAR: FieldKind = FieldKind::numeric("year", 1970, 2199);

impl FieldKind {
    const fn numeric(name: &'static str, min: u32, max: u32) -> Self {
        FieldKind {
            name,
            min,
            max,
            names: &[],
            names_hint: "",
            range_hint: "",
        }
    }

    /// The text a value is written back as: a name where the field has names.
    pub fn spell(&self, value: u32) -> String {
        match self.names.get((value - self.min) as usize) {
            Some(name) => (*name).to_string(),
            None => value.to_string(),
        }
    }

    /// Reads one value: a number in range or a name (any case).
    pub fn value(&self, text: &str) -> Result<u32, FieldProblem> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            // Too many digits for a u32 is out of range all the same.
            let value: u32 = text.parse().unwrap_or(u32::MAX);
            if value == 0 && std::ptr::eq(self, &DAY_OF_WEEK) {
                return Err(FieldProblem::DayOfWeekZero);
            }
            if value < self.min || value > self.max {
                return Err(FieldProblem::OutOfRange {
                    value: text.to_string(),
                    min: self.min,
                    max: self.max,
                    hint: self.range_hint,
                });
            }
            return Ok(value);
        }
        // A word is a name (JAN, sun); `L`, `W` and `LW` are specials.
        let upper = text.to_ascii_uppercase();
        let word = !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphabetic());
        if word && !matches!(upper.as_str(), "L" | "W" | "LW") {
            if self.names.is_empty() {
                return Err(FieldProblem::NotANumber(text.to_string()));
            }
            return match self.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
                Some(i) => Ok(self.min + i as u32),
                None => Err(FieldProblem::UnknownName {
                    name: text.to_string(),
                    expected: self.names_hint,
                }),
            };
        }
        if let Some(special) = upper.chars().find(|c| "?LW#".contains(*c)) {
            return Err(FieldProblem::NotAllowedHere {
                special,
                allowed: allowed_in(special),
            });
        }
        Err(FieldProblem::NotANumber(text.to_string()))
    }
}

/// Where a special character may appear, for error messages.
pub fn allowed_in(special: char) -> &'static str {
    match special {
        '?' => "day-of-month or day-of-week",
        'W' => "day-of-month (as 15W or LW)",
        '#' => "day-of-week (as TUE#3)",
        _ => "day-of-month (L, LW) or day-of-week (L, 6L)",
    }
}

/// One comma-separated item of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// `*` or `*/step`.
    All { step: Option<u32> },
    /// `n`, or `n/step`: from n to the field's maximum.
    Value { value: u32, step: Option<u32> },
    /// `a-b` or `a-b/step`.
    Range {
        start: u32,
        end: u32,
        step: Option<u32>,
    },
}

/// A parsed field: the items as written (for display) and the values they
/// allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumField {
    kind: &'static FieldKind,
    items: Vec<Item>,
    /// Bit `v - kind.min` is set when value `v` is allowed.
    bits: [u64; 4],
}

impl NumField {
    /// Parses `text` (already known to hold no day specials) for `kind`.
    pub fn parse(kind: &'static FieldKind, text: &str) -> Result<Self, FieldProblem> {
        let mut field = NumField {
            kind,
            items: Vec::new(),
            bits: [0; 4],
        };
        for part in text.split(',') {
            if part.is_empty() {
                return Err(FieldProblem::EmptyItem);
            }
            let item = parse_item(kind, part)?;
            field.add(item);
        }
        Ok(field)
    }

    /// `*`: every value of the field.
    pub fn all(kind: &'static FieldKind) -> Self {
        let mut field = NumField {
            kind,
            items: Vec::new(),
            bits: [0; 4],
        };
        field.add(Item::All { step: None });
        field
    }

    /// A single value, such as the implied `0` seconds.
    pub fn single(kind: &'static FieldKind, value: u32) -> Self {
        let mut field = NumField {
            kind,
            items: Vec::new(),
            bits: [0; 4],
        };
        field.add(Item::Value { value, step: None });
        field
    }

    fn add(&mut self, item: Item) {
        let (start, end, step) = match item {
            Item::All { step } => (self.kind.min, self.kind.max, step),
            // A bare value is itself; with a step it runs to the maximum.
            Item::Value { value, step: None } => (value, value, None),
            Item::Value { value, step } => (value, self.kind.max, step),
            Item::Range { start, end, step } => (start, end, step),
        };
        let step = step.unwrap_or(1) as usize;
        for v in (start..=end).step_by(step) {
            let bit = (v - self.kind.min) as usize;
            self.bits[bit / 64] |= 1 << (bit % 64);
        }
        self.items.push(item);
    }

    pub fn contains(&self, value: u32) -> bool {
        if value < self.kind.min || value > self.kind.max {
            return false;
        }
        let bit = (value - self.kind.min) as usize;
        self.bits[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// The smallest allowed value that is at least `from`.
    pub fn first_at_or_after(&self, from: u32) -> Option<u32> {
        (from.max(self.kind.min)..=self.kind.max).find(|v| self.contains(*v))
    }

    /// Allowed values in increasing order.
    pub fn values(&self) -> Vec<u32> {
        (self.kind.min..=self.kind.max)
            .filter(|v| self.contains(*v))
            .collect()
    }

    /// True when the field is exactly one bare value.
    pub fn is_single(&self, value: u32) -> bool {
        self.items == [Item::Value { value, step: None }]
    }
}

impl fmt::Display for NumField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let step = match *item {
                Item::All { step } => {
                    f.write_str("*")?;
                    step
                }
                Item::Value { value, step } => {
                    f.write_str(&self.kind.spell(value))?;
                    step
                }
                Item::Range { start, end, step } => {
                    let (a, b) = (self.kind.spell(start), self.kind.spell(end));
                    write!(f, "{a}-{b}")?;
                    step
                }
            };
            if let Some(step) = step {
                write!(f, "/{step}")?;
            }
        }
        Ok(())
    }
}

/// Parses one list item: `*`, `n`, `a-b`, each optionally with `/step`.
fn parse_item(kind: &'static FieldKind, text: &str) -> Result<Item, FieldProblem> {
    let (base, step) = match text.split_once('/') {
        Some((base, step)) => (base, Some(parse_step(kind, step)?)),
        None => (text, None),
    };
    if base == "*" {
        return Ok(Item::All { step });
    }
    if let Some((start, end)) = base.split_once('-') {
        if start.is_empty() || end.is_empty() {
            return Err(FieldProblem::NotANumber(base.to_string()));
        }
        let (start, end) = (kind.value(start)?, kind.value(end)?);
        if start > end {
            return Err(FieldProblem::ReversedRange { start, end });
        }
        return Ok(Item::Range { start, end, step });
    }
    if base.is_empty() {
        return Err(FieldProblem::NotANumber(text.to_string()));
    }
    Ok(Item::Value {
        value: kind.value(base)?,
        step,
    })
}

/// A step is a whole number from 1 up to the width of the field, so that
/// it can advance at least once.
fn parse_step(kind: &FieldKind, text: &str) -> Result<u32, FieldProblem> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldProblem::BadStep(text.to_string()));
    }
    let step: u32 = text
        .parse()
        .map_err(|_| FieldProblem::BadStep(text.to_string()))?;
    if step == 0 {
        return Err(FieldProblem::ZeroStep);
    }
    if step > kind.max - kind.min {
        return Err(FieldProblem::StepTooLarge {
            step,
            min: kind.min,
            max: kind.max,
        });
    }
    Ok(step)
}
