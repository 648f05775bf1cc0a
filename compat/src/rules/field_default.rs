//! FIELD_SAME_DEFAULT: defaults compared by value across compatible types.

use super::{field_description, go_quote, with};
use crate::error::CompatError;
use crate::model::{FieldId, Kind, Schema};
use crate::pairs;
use crate::rule::CheckContext;
use crate::violation::Finding;

type Result = std::result::Result<(), CompatError>;

#[derive(Debug, Clone, PartialEq)]
enum Comparable {
    /// String and bytes defaults compare as bytes.
    Bytes(Vec<u8>),
    Bool(bool),
    Int(i128),
    F32(f32),
    F64(f64),
}

struct Default {
    comparable: Comparable,
    printable: String,
}

impl Default {
    fn is_zero(&self) -> bool {
        match &self.comparable {
            Comparable::Bytes(b) => b.is_empty(),
            Comparable::Bool(b) => !b,
            Comparable::Int(i) => *i == 0,
            Comparable::F32(f) => f.to_bits() == 0,
            Comparable::F64(f) => f.to_bits() == 0,
        }
    }
}

fn can_have_default(schema: &Schema, field: FieldId) -> bool {
    let f = &schema.fields[field];
    f.label != crate::model::label::REPEATED
        && !matches!(schema.kind(field), Some(Kind::Message | Kind::Group) | None)
}

fn default_of(schema: &Schema, field: FieldId) -> Default {
    let f = &schema.fields[field];
    let raw = f.default_value.as_deref();
    let kind = schema.kind(field).unwrap_or(Kind::Int32);
    match kind {
        Kind::Bytes => {
            let data = raw.map(unescape_c).unwrap_or_default();
            let printable = data
                .iter()
                .map(|b| format!("0x{b:X}"))
                .collect::<Vec<_>>()
                .join(",");
            Default {
                comparable: Comparable::Bytes(data),
                printable: format!("[{printable}]"),
            }
        }
        Kind::String => {
            let s = raw.unwrap_or_default();
            Default {
                comparable: Comparable::Bytes(s.as_bytes().to_vec()),
                printable: go_quote(s),
            }
        }
        Kind::Enum => {
            let e = schema.enum_by_name(f.type_name.trim_start_matches('.'));
            let values: Vec<(&str, i32)> = e
                .map(|e| {
                    schema.enums[e]
                        .values
                        .iter()
                        .map(|v| {
                            (
                                schema.enum_values[*v].name.as_str(),
                                schema.enum_values[*v].number,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let number = raw
                .and_then(|name| values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
                .or_else(|| values.first().map(|(_, v)| *v))
                .unwrap_or(0);
            let enum_name = e.map(|e| schema.enums[e].name.clone()).unwrap_or_default();
            let printable = match values.iter().find(|(_, v)| *v == number) {
                Some((name, _)) => format!("{enum_name}.{name}"),
                None => format!("{enum_name}.{number}(?)"),
            };
            Default {
                comparable: Comparable::Int(i128::from(number)),
                printable,
            }
        }
        Kind::Bool => {
            let b = raw == Some("true");
            Default {
                comparable: Comparable::Bool(b),
                printable: b.to_string(),
            }
        }
        Kind::Float => {
            let v = raw.map(parse_float).unwrap_or(0.0) as f32;
            Default {
                comparable: Comparable::F32(v),
                printable: go_format_float(f64::from(v), format!("{v:e}")),
            }
        }
        Kind::Double => {
            let v = raw.map(parse_float).unwrap_or(0.0);
            Default {
                comparable: Comparable::F64(v),
                printable: go_format_float(v, format!("{v:e}")),
            }
        }
        _ => {
            let v: i128 = raw.and_then(|r| r.trim().parse().ok()).unwrap_or(0);
            Default {
                comparable: Comparable::Int(v),
                printable: v.to_string(),
            }
        }
    }
}

fn parse_float(raw: &str) -> f64 {
    match raw.trim() {
        "inf" | "+inf" | "infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        "nan" | "-nan" => f64::NAN,
        other => other.parse().unwrap_or(0.0),
    }
}

/// Go's `%v` of a float: shortest digits, `%e` form when the exponent is
/// below -4 or at least 6 (the shortest-precision rule of `strconv`).
/// `exp_repr` is Rust's `{:e}` of the value in its own width (shortest digits).
fn go_format_float(v: f64, exp_repr: String) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let (negative, repr) = match exp_repr.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, exp_repr),
    };
    let (mantissa, exp) = repr.split_once('e').unwrap_or((&repr, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs());
    }
    let point = exp + 1;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if (point as usize) >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

/// Unescapes protoc's C-escaped bytes default.
fn unescape_c(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        i += 1;
        match bytes[i] {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'x' | b'X' => {
                let hex: String = bytes[i + 1..]
                    .iter()
                    .take(2)
                    .take_while(|b| b.is_ascii_hexdigit())
                    .map(|b| *b as char)
                    .collect();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(0));
                i += hex.len();
            }
            b'0'..=b'7' => {
                let oct: String = bytes[i..]
                    .iter()
                    .take(3)
                    .take_while(|b| (b'0'..=b'7').contains(b))
                    .map(|b| *b as char)
                    .collect();
                out.push(u8::from_str_radix(&oct, 8).unwrap_or(0));
                i += oct.len() - 1;
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

fn as_f64(c: &Comparable) -> Option<f64> {
    match c {
        Comparable::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Comparable::F32(f) => Some(f64::from(*f)),
        Comparable::F64(f) => Some(*f),
        _ => None,
    }
}

fn defaults_equal(previous: &Comparable, current: &Comparable) -> bool {
    match (previous, current) {
        (Comparable::Bytes(a), Comparable::Bytes(b)) => a == b,
        (Comparable::Bytes(_), _) | (_, Comparable::Bytes(_)) => false,
        (Comparable::F32(a), Comparable::F64(b)) | (Comparable::F64(b), Comparable::F32(a)) => {
            (a.is_nan() && b.is_nan()) || *a == (*b as f32)
        }
        (Comparable::Int(a), Comparable::Int(b)) => a == b,
        (Comparable::Int(i), other) | (other, Comparable::Int(i)) => match as_f64(other) {
            Some(f) if f.is_finite() && f.fract() == 0.0 => (f as i128) == *i && ((*i as f64) == f),
            _ => false,
        },
        (a, b) => match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => (x.is_nan() && y.is_nan()) || x == y,
            _ => false,
        },
    }
}

pub fn same_default(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    for (prev, cur) in pairs::fields(ctx) {
        if !can_have_default(ctx.previous, prev) || !can_have_default(ctx.current, cur) {
            continue;
        }
        let previous = default_of(ctx.previous, prev);
        let current = default_of(ctx.current, cur);
        if (previous.is_zero() && current.is_zero())
            || defaults_equal(&previous.comparable, &current.comparable)
        {
            continue;
        }
        let locate = |schema: &Schema, field: FieldId| {
            let f = &schema.fields[field];
            schema
                .location(f.file, &with(&f.path, &[7]))
                .or_else(|| schema.location(f.file, &f.path))
        };
        out.push(Finding::new(
            format!(
                "{} changed default value from {} to {}.",
                field_description(ctx.current, cur),
                previous.printable,
                current.printable
            ),
            locate(ctx.current, cur),
            locate(ctx.previous, prev).map(|l| l.file),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_format_float(1.5, format!("{:e}", 1.5f64)), "1.5");
        assert_eq!(go_format_float(1e6, format!("{:e}", 1e6f64)), "1e+06");
        assert_eq!(
            go_format_float(123456.0, format!("{:e}", 123456.0f64)),
            "123456"
        );
        assert_eq!(
            go_format_float(0.0001, format!("{:e}", 0.0001f64)),
            "0.0001"
        );
        assert_eq!(
            go_format_float(0.00001, format!("{:e}", 0.00001f64)),
            "1e-05"
        );
        assert_eq!(
            go_format_float(-2.25e10, format!("{:e}", -2.25e10f64)),
            "-2.25e+10"
        );
        assert_eq!(
            go_format_float(0.1f32 as f64, format!("{:e}", 0.1f32)),
            "0.1"
        );
        assert_eq!(go_format_float(f64::INFINITY, String::new()), "+Inf");
    }

    #[test]
    fn c_escapes_unescape() {
        assert_eq!(
            unescape_c(r"a\001\x41\n\\"),
            vec![b'a', 1, b'A', b'\n', b'\\']
        );
    }

    #[test]
    fn numeric_defaults_compare_across_types() {
        assert!(defaults_equal(&Comparable::Int(1), &Comparable::F64(1.0)));
        assert!(defaults_equal(&Comparable::F32(0.1), &Comparable::F64(0.1)));
        assert!(!defaults_equal(
            &Comparable::Int(1),
            &Comparable::Bytes(b"1".to_vec())
        ));
        assert!(defaults_equal(&Comparable::Bool(true), &Comparable::Int(1)));
    }
}
