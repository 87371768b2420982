//! Money in integer minor units. The shop sells in Paraguayan guaraníes
//! (PYG), whose minor unit is the guaraní itself (ISO 4217 exponent 0), so
//! an amount is a whole number of guaraníes; integers keep sums exact.

use crate::fields::FieldError;

pub const CURRENCY: &str = "PYG";
/// Larger amounts are a typo, not a price (10^12 PYG is about 130 million USD).
const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// An amount of money, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(i64);

impl Money {
    /// # Errors
    /// 422 naming `field` when negative or absurdly large.
    pub fn parse(amount: i64, field: &str) -> Result<Self, FieldError> {
        if amount < 0 {
            return Err(FieldError::new(field, "an amount cannot be negative"));
        }
        if amount > MAX_AMOUNT {
            return Err(FieldError::new(field, "the amount is implausibly large"));
        }
        Ok(Self(amount))
    }

    /// # Errors
    /// 422 naming `field` unless `currency` is the shop's.
    pub fn check_currency(currency: Option<&str>, field: &str) -> Result<(), FieldError> {
        match currency {
            None | Some(CURRENCY) => Ok(()),
            Some(other) => Err(FieldError::new(
                field,
                format!("the shop sells in {CURRENCY}, not {other}"),
            )),
        }
    }

    pub fn from_stored(amount: i64) -> Self {
        Self(amount.max(0))
    }

    pub fn amount(self) -> i64 {
        self.0
    }

    /// `self * quantity`, saturating (quantities are bounded well below).
    pub fn times(self, quantity: i64) -> Self {
        Self(self.0.saturating_mul(quantity))
    }

    pub fn plus(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    pub fn minus(self, other: Self) -> Self {
        Self((self.0 - other.0).max(0))
    }

    /// `percent`% of this amount, rounded down to a whole guaraní.
    pub fn percent(self, percent: i64) -> Self {
        Self((i128::from(self.0) * i128::from(percent) / 100) as i64)
    }

    /// `₲ 150.000`, as prices are written in Paraguay.
    pub fn display(self) -> String {
        let digits = self.0.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(c);
        }
        format!("₲ {grouped}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_compute_and_display() {
        assert!(Money::parse(-1, "price").is_err());
        assert!(Money::parse(MAX_AMOUNT + 1, "price").is_err());
        let price = Money::parse(150_000, "price").expect("valid");
        assert_eq!(price.display(), "₲ 150.000");
        assert_eq!(Money::from_stored(999).display(), "₲ 999");
        assert_eq!(price.times(3).amount(), 450_000);
        assert_eq!(price.percent(15).amount(), 22_500);
        assert_eq!(
            Money::from_stored(5).minus(Money::from_stored(9)).amount(),
            0
        );
        assert!(Money::check_currency(Some("USD"), "currency").is_err());
        assert!(Money::check_currency(Some("PYG"), "currency").is_ok());
    }
}
