//! Exact money: integer nano-dollars for amounts, integer femto-dollars for unit prices.
//!
//! Prices arrive as decimal strings in USD per token (OpenRouter style). The
//! cheapest models cost fractions of a nano-dollar per token, so unit prices
//! keep six more decimal places than amounts; a request's cost is rounded
//! once, to the nano-dollar, when it is settled.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Femto-dollars (1e-15 USD) in one nano-dollar (1e-9 USD).
const FEMTO_PER_NANO: i128 = 1_000_000;
/// Decimal places held by a [`UnitPrice`].
const PRICE_DECIMALS: u32 = 15;
/// Decimal places held by a [`NanoUsd`].
const NANO_DECIMALS: u32 = 9;

/// An amount of money in nano-dollars (1e-9 USD): balances, costs, limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NanoUsd(pub i64);

impl NanoUsd {
    /// Zero dollars.
    pub const ZERO: NanoUsd = NanoUsd(0);

    /// Whole dollars (and cents) from a decimal string such as `"12.50"`.
    pub fn parse_usd(s: &str) -> Result<NanoUsd, PriceParseError> {
        let v = parse_scaled(s, NANO_DECIMALS)?;
        i64::try_from(v).map(NanoUsd).map_err(|_| PriceParseError::OutOfRange(s.to_owned()))
    }

    /// The amount in USD as a float, for rendering JSON only.
    pub fn as_usd_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Saturating addition, so a corrupt total can never wrap around.
    pub fn saturating_add(self, other: NanoUsd) -> NanoUsd {
        NanoUsd(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for NanoUsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(i128::from(self.0), NANO_DECIMALS))
    }
}

/// A price per unit (token, request, image...) in femto-dollars (1e-15 USD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitPrice(pub i64);

impl UnitPrice {
    /// Free.
    pub const ZERO: UnitPrice = UnitPrice(0);

    /// Cost of `units` units at this price, in femto-dollars (exact).
    pub fn times(self, units: u64) -> Femto {
        Femto(i128::from(self.0) * i128::from(units))
    }

    /// USD per million units, the unit of `provider.max_price`.
    pub fn per_million_usd(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// True when this price is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl FromStr for UnitPrice {
    type Err = PriceParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v = parse_scaled(s, PRICE_DECIMALS)?;
        i64::try_from(v).map(UnitPrice).map_err(|_| PriceParseError::OutOfRange(s.to_owned()))
    }
}

impl fmt::Display for UnitPrice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(i128::from(self.0), PRICE_DECIMALS))
    }
}

impl Serialize for UnitPrice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UnitPrice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Catalog dumps use strings; hand-written configs sometimes use numbers.
        let v = serde_json::Value::deserialize(d)?;
        let text = match &v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(serde::de::Error::custom("a price must be a decimal string")),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An exact intermediate sum in femto-dollars, before rounding to [`NanoUsd`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Femto(pub i128);

impl Femto {
    /// Rounds half away from zero to the nano-dollar, once, at settlement.
    pub fn round_to_nano(self) -> NanoUsd {
        let half = FEMTO_PER_NANO / 2;
        let q = if self.0 >= 0 { (self.0 + half) / FEMTO_PER_NANO } else { (self.0 - half) / FEMTO_PER_NANO };
        NanoUsd(i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN }))
    }
}

impl std::ops::Add for Femto {
    type Output = Femto;
    fn add(self, o: Femto) -> Femto {
        Femto(self.0 + o.0)
    }
}

impl std::iter::Sum for Femto {
    fn sum<I: Iterator<Item = Femto>>(iter: I) -> Femto {
        iter.fold(Femto(0), |a, b| a + b)
    }
}

/// Why a decimal money string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PriceParseError {
    /// Not a decimal number.
    #[error("`{0}` is not a decimal number")]
    Invalid(String),
    /// More precision than the type holds.
    #[error("`{0}` has more decimal places than can be held exactly")]
    TooPrecise(String),
    /// Too large.
    #[error("`{0}` is out of range")]
    OutOfRange(String),
}

/// Parses a decimal (optionally signed, optionally with an exponent) into an
/// integer scaled by 10^`decimals`, refusing any loss of precision.
fn parse_scaled(s: &str, decimals: u32) -> Result<i128, PriceParseError> {
    let invalid = || PriceParseError::Invalid(s.to_owned());
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| invalid())?),
        None => (t, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(invalid());
    }
    if !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let digits: String = int_part.chars().chain(frac_part.chars()).collect();
    // value = digits * 10^(exp - frac_len); scaled = value * 10^decimals
    let shift = i64::from(exp) - frac_part.len() as i64 + i64::from(decimals);
    let digits = digits.trim_start_matches('0');
    let mut value: i128 = 0;
    let too_big = || PriceParseError::OutOfRange(s.to_owned());
    if shift >= 0 {
        for b in digits.bytes() {
            value = value.checked_mul(10).and_then(|v| v.checked_add(i128::from(b - b'0'))).ok_or_else(too_big)?;
        }
        for _ in 0..shift {
            if value == 0 {
                break;
            }
            value = value.checked_mul(10).ok_or_else(too_big)?;
        }
    } else {
        let cut = usize::try_from(-shift).map_err(|_| invalid())?;
        let keep = digits.len().saturating_sub(cut);
        if digits[keep..].bytes().any(|b| b != b'0') {
            return Err(PriceParseError::TooPrecise(s.to_owned()));
        }
        for b in digits[..keep].bytes() {
            value = value.checked_mul(10).and_then(|v| v.checked_add(i128::from(b - b'0'))).ok_or_else(too_big)?;
        }
    }
    Ok(if neg { -value } else { value })
}

/// Renders an integer scaled by 10^`decimals` as a minimal decimal string.
fn format_scaled(v: i128, decimals: u32) -> String {
    let scale = 10i128.pow(decimals);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let int = a / scale.unsigned_abs();
    let frac = a % scale.unsigned_abs();
    if frac == 0 {
        return format!("{sign}{int}");
    }
    let frac = format!("{frac:0width$}", width = decimals as usize);
    format!("{sign}{int}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prices_exactly() {
        assert_eq!("0.0000025".parse::<UnitPrice>().unwrap(), UnitPrice(2_500_000_000));
        assert_eq!("0.0000000375".parse::<UnitPrice>().unwrap(), UnitPrice(37_500_000));
        assert_eq!("0".parse::<UnitPrice>().unwrap(), UnitPrice::ZERO);
        assert_eq!("-1".parse::<UnitPrice>().unwrap(), UnitPrice(-1_000_000_000_000_000));
        assert_eq!("2.5e-6".parse::<UnitPrice>().unwrap(), UnitPrice(2_500_000_000));
        assert_eq!("3".parse::<UnitPrice>().unwrap().to_string(), "3");
        assert_eq!(UnitPrice(37_500_000).to_string(), "0.0000000375");
        assert!(matches!("abc".parse::<UnitPrice>(), Err(PriceParseError::Invalid(_))));
        assert!(matches!("0.0000000000000001".parse::<UnitPrice>(), Err(PriceParseError::TooPrecise(_))));
        assert!(matches!("1e40".parse::<UnitPrice>(), Err(PriceParseError::OutOfRange(_))));
    }

    #[test]
    fn cost_rounds_once_to_the_nano() {
        let p: UnitPrice = "0.0000000375".parse().unwrap(); // 37.5 nano per token
        assert_eq!(p.times(1).round_to_nano(), NanoUsd(38));
        assert_eq!(p.times(2).round_to_nano(), NanoUsd(75));
        let total = p.times(3) + "0.00001".parse::<UnitPrice>().unwrap().times(10);
        assert_eq!(total.round_to_nano(), NanoUsd(100_113));
    }

    #[test]
    fn usd_amounts_parse_and_print() {
        assert_eq!(NanoUsd::parse_usd("12.5").unwrap(), NanoUsd(12_500_000_000));
        assert_eq!(NanoUsd(12_500_000_000).to_string(), "12.5");
        assert_eq!(NanoUsd(-35).to_string(), "-0.000000035");
    }
}
