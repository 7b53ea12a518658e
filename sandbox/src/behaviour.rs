//! Scripted misbehaviour, chosen by order id like a payment provider's test card numbers.
//!
//! An id that starts with `900` followed by one digit D gets behaviour D; every other valid id
//! behaves like a healthy gateway. The README lists the same table.

/// What the sandbox does for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers normally: links are made, payments deducted and confirmed.
    Normal,
    /// `9000…`: every payment is declined (`data.success == false`); links fail the same way.
    Decline,
    /// `9001…`: the first two payment calls are declined, the third pays.
    DeclineTwiceThenPay,
    /// `9002…`: the payment is deducted, then the answer is held back past the client's timeout.
    DeductThenHang,
    /// `9003…`: the payment is deducted, then the answer is HTTP 500 (links: always HTTP 500).
    DeductThen5xx,
    /// `9004…`: the payment is deducted, then the body is not JSON (links: the same body).
    DeductThenMalformed,
    /// `9005…`: every call is refused for the call-frequency limit (envelope code 429).
    RateLimited,
    /// `9006…`: the first call is refused for the call-frequency limit, later calls are normal.
    RateLimitedOnce,
    /// `9007…`: answers normally, but only after the sandbox's `slow` delay.
    Slow,
    /// `9008…`: deducted, but answered with `success: true` and `paySuccess: false`.
    SuccessButNotConfirmed,
    /// `9009…`: the first call gets HTTP 503 without any deduction, later calls are normal.
    Unavailable503Once,
}

impl Behaviour {
    /// The behaviour an order id asks for.
    pub fn of(order_id: &str) -> Behaviour {
        let b = order_id.as_bytes();
        if b.len() < 4 || &b[..3] != b"900" {
            return Behaviour::Normal;
        }
        match b[3] {
            b'0' => Behaviour::Decline,
            b'1' => Behaviour::DeclineTwiceThenPay,
            b'2' => Behaviour::DeductThenHang,
            b'3' => Behaviour::DeductThen5xx,
            b'4' => Behaviour::DeductThenMalformed,
            b'5' => Behaviour::RateLimited,
            b'6' => Behaviour::RateLimitedOnce,
            b'7' => Behaviour::Slow,
            b'8' => Behaviour::SuccessButNotConfirmed,
            b'9' => Behaviour::Unavailable503Once,
            _ => Behaviour::Normal,
        }
    }

    /// The behaviour of a batch: that of its first id that is not normal.
    pub fn of_batch<'a>(ids: impl IntoIterator<Item = &'a str>) -> (Behaviour, Option<&'a str>) {
        ids.into_iter()
            .map(|id| (Behaviour::of(id), Some(id)))
            .find(|(b, _)| *b != Behaviour::Normal)
            .unwrap_or((Behaviour::Normal, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(Behaviour::of("2257455039610311973"), Behaviour::Normal);
        assert_eq!(Behaviour::of("9000000000000000001"), Behaviour::Decline);
        assert_eq!(Behaviour::of("9009"), Behaviour::Unavailable503Once);
        assert_eq!(Behaviour::of("900"), Behaviour::Normal);
        assert_eq!(
            Behaviour::of_batch(["1", "9005000000000000001"]).0,
            Behaviour::RateLimited
        );
    }
}
