//! Default values and struct tags as protobuf-go formats them
//! (`internal/encoding/defval`, `internal/encoding/tag`, `strconv`).

/// A parsed `default_value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Default {
    Bool(bool),
    Int(i64),
    Uint(u64),
    /// The value as Go holds it: float32 defaults are rounded to float32.
    Float(f64),
    String(String),
    Bytes(Vec<u8>),
    /// The enum value's name.
    Enum(String),
}

/// `strconv.FormatFloat(f, 'g', -1, bits)`.
pub(crate) fn format_float_g(f: f64, bits: u32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let negative = f.is_sign_negative();
    let scientific = if bits == 32 {
        format!("{:e}", (f as f32).abs())
    } else {
        format!("{:e}", f.abs())
    };
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let mut out = String::from(if negative { "-" } else { "" });
    if digits.is_empty() {
        out.push('0');
        return out;
    }
    let nd = digits.len() as i64;
    let dp = exponent + 1;
    let exp = dp - 1;
    let digit_at = |i: i64| -> char {
        if (0..nd).contains(&i) {
            digits.as_bytes()[i as usize] as char
        } else {
            '0'
        }
    };
    if !(-4..6).contains(&exp) {
        out.push(digit_at(0));
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
        return out;
    }
    if dp > 0 {
        (0..dp).for_each(|i| out.push(digit_at(i)));
    } else {
        out.push('0');
    }
    let decimals = (nd - dp).max(0);
    if decimals > 0 {
        out.push('.');
        (0..decimals).for_each(|i| out.push(digit_at(dp + i)));
    }
    out
}

/// `defval.unmarshalBytes`: C-style escapes as protoc writes them.
pub(crate) fn unescape_c_bytes(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = *b.get(i + 1)?;
        i += 2;
        match c {
            b'"' | b'\'' | b'\\' | b'?' => out.push(c),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    value = value * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(u8::try_from(value).ok()?);
            }
            b'x' | b'X' => {
                let mut value = 0u32;
                let mut n = 0;
                while n < 2 && i < b.len() && b[i].is_ascii_hexdigit() {
                    value = value * 16 + (b[i] as char).to_digit(16)?;
                    i += 1;
                    n += 1;
                }
                if n == 0 {
                    return None;
                }
                out.push(value as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// `defval.marshalBytes`: the `def=` form of a bytes default.
pub(crate) fn escape_c_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &c in bytes {
        match c {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\{c:03o}")),
        }
    }
    out
}

/// Parses a float default as `strconv.ParseFloat(s, bits)` plus protobuf's
/// `inf`/`-inf`/`nan` spellings.
pub(crate) fn parse_float(s: &str, bits: u32) -> Option<f64> {
    let value = match s {
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" => f64::NAN,
        _ => s.parse::<f64>().ok()?,
    };
    Some(if bits == 32 {
        f64::from(value as f32)
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_like_go() {
        assert_eq!(format_float_g(1.5, 64), "1.5");
        assert_eq!(format_float_g(1e30, 64), "1e+30");
        assert_eq!(format_float_g(0.25, 32), "0.25");
        assert_eq!(format_float_g(f64::from(0.1f32), 64), "0.10000000149011612");
        assert_eq!(format_float_g(f64::from(0.1f32), 32), "0.1");
        assert_eq!(format_float_g(100000.0, 64), "100000");
        assert_eq!(format_float_g(1000000.0, 64), "1e+06");
        assert_eq!(format_float_g(0.0001, 64), "0.0001");
        assert_eq!(format_float_g(0.00001, 64), "1e-05");
        assert_eq!(format_float_g(-2.0, 64), "-2");
        assert_eq!(format_float_g(0.0, 64), "0");
    }

    #[test]
    fn c_escapes_round_trip() {
        let bytes = unescape_c_bytes("\\001\\002abc\\x41\\n").unwrap();
        assert_eq!(bytes, b"\x01\x02abcA\n");
        assert_eq!(escape_c_bytes(&bytes), "\\001\\002abcA\\n");
    }
}
