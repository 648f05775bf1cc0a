//! Text conventions of protoc's C++ helpers that show up in generated code:
//! absl `CEscape` / `CHexEscape`, `SimpleDtoa` / `SimpleFtoa`, and the
//! default lowerCamel JSON name.

/// absl `CEscape`: named escapes for `\n \r \t " ' \`, three-digit octal
/// for other bytes outside printable ASCII.
pub fn c_escape(bytes: &[u8]) -> String {
    escape(bytes, false)
}

/// absl `CHexEscape`: like [`c_escape`] with `\xNN`; a hex digit right
/// after a hex escape is escaped too, so it cannot extend the escape.
pub fn c_hex_escape(bytes: &[u8]) -> String {
    escape(bytes, true)
}

fn escape(bytes: &[u8], use_hex: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut last_was_hex = false;
    for &byte in bytes {
        let previous_was_hex = last_was_hex;
        last_was_hex = false;
        match byte {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            _ => {
                let printable = (0x20..0x7f).contains(&byte);
                if !printable || (previous_was_hex && byte.is_ascii_hexdigit()) {
                    if use_hex {
                        out.push_str(&format!("\\x{byte:02x}"));
                        last_was_hex = true;
                    } else {
                        out.push_str(&format!("\\{byte:03o}"));
                    }
                } else {
                    out.push(char::from(byte));
                }
            }
        }
    }
    out
}

/// Reverses C-style escapes (`\n`, `\NNN` octal, `\xNN` hex, `\\`, quotes)
/// as found in `default_value` of bytes fields.
pub fn c_unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = bytes[i];
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                let mut digits = 1;
                while digits < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    value = value * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            b'x' | b'X' => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 && i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                    value = value * 16 + char::from(bytes[i]).to_digit(16).unwrap_or(0);
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            other => out.push(other),
        }
    }
    out
}

/// C `printf("%.*g", precision, value)` for finite values.
fn format_g(value: f64, precision: usize) -> String {
    let precision = precision.max(1);
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if exponent < -4 || exponent >= precision as i32 {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else {
        let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
        strip_fraction_zeros(&format!("{value:.decimals$}")).to_owned()
    }
}

fn strip_fraction_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

fn special(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("nan")
    } else if value == f64::INFINITY {
        Some("inf")
    } else if value == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}

/// protobuf `io::SimpleDtoa`: `%.15g`, or `%.17g` when that does not
/// round-trip.
pub fn simple_dtoa(value: f64) -> String {
    if let Some(text) = special(value) {
        return text.to_owned();
    }
    let short = format_g(value, 15);
    if short.parse::<f64>().ok() == Some(value) {
        short
    } else {
        format_g(value, 17)
    }
}

/// protobuf `io::SimpleFtoa`: `%.6g`, or `%.9g` when that does not
/// round-trip through a float.
pub fn simple_ftoa(value: f32) -> String {
    if let Some(text) = special(f64::from(value)) {
        return text.to_owned();
    }
    let short = format_g(f64::from(value), 6);
    if short.parse::<f32>().ok() == Some(value) {
        short
    } else {
        format_g(f64::from(value), 9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_escape_guards_following_hex_digits() {
        assert_eq!(c_hex_escape(b"\x15acme/"), "\\x15\\x61\\x63me/");
        assert_eq!(c_hex_escape(b"\"\n'"), "\\\"\\n\\'");
    }

    #[test]
    fn octal_escape_is_three_digits() {
        assert_eq!(c_escape(b"H\x01P\xc2\r"), "H\\001P\\302\\r");
    }

    #[test]
    fn dtoa_matches_printf_g() {
        assert_eq!(simple_dtoa(1.5e10), "15000000000");
        assert_eq!(simple_dtoa(1e100), "1e+100");
        assert_eq!(simple_dtoa(0.3333333333333333), "0.33333333333333331");
        assert_eq!(simple_dtoa(-0.25), "-0.25");
        assert_eq!(simple_ftoa(1e-30), "1e-30");
        assert_eq!(simple_ftoa(0.1), "0.1");
        assert_eq!(simple_dtoa(0.0001), "0.0001");
        assert_eq!(simple_dtoa(0.00001), "1e-05");
    }

    #[test]
    fn unescape_reverses_escape() {
        let raw = b"\x01\xffabc\\\"'\n";
        assert_eq!(c_unescape(&c_escape(raw)), raw);
        assert_eq!(c_unescape("\\x41\\101"), b"AA");
    }
}
