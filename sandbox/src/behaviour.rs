//! Scripted misbehaviour, chosen by order id like a payment provider's test card numbers.
//!
//! An id that starts with `900` or `901` followed by one digit D gets the behaviour listed below;
//! every other valid id behaves like a healthy gateway, or, in chaos mode, gets a fault drawn
//! from the seed (see [`Chaos`]). The README lists the same table.

use std::time::Duration;

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
    /// `9010…`: the payment is deducted, then the connection drops in the middle of the body.
    DeductThenDrop,
    /// `9011…`: the payment is deducted, then a complete answer with half a JSON body.
    DeductThenTruncated,
    /// `9012…`: the payment is deducted, then a 5 MiB body (over the client's 4 MiB cap).
    DeductThenOversized,
    /// `9013…`: the payment is deducted, then the body trickles one byte every 50 ms.
    DeductThenTrickle,
    /// `9014…`: the connection drops before the request is acted on (nothing deducted).
    DropBeforeProcessing,
    /// `9015…`: the order is closed: payments are refused for the order's state (`ORDER_CLOSED`,
    /// 订单已关闭), nothing deducted; links fail the same way.
    OrderClosed,
    /// `9016…`: the order does not exist: payments are refused (`ORDER_NOT_EXIST`, 订单不存在),
    /// nothing deducted; links fail the same way.
    OrderNotFound,
    /// `9017…`: the order was paid elsewhere (through a link): payments are refused with only a
    /// message saying so (该订单已付款, no code), nothing deducted.
    PaidElsewhere,
    /// Chaos only: every call is declined (`data.success == false`), like `9000…` but random.
    ChaosDecline,
    /// Chaos only: the call is refused for the call-frequency limit.
    ChaosRateLimit,
    /// Chaos only: HTTP 503 without a deduction.
    ChaosUnavailable,
}

impl Behaviour {
    /// The behaviour an order id asks for.
    pub fn of(order_id: &str) -> Behaviour {
        let b = order_id.as_bytes();
        if b.len() < 4 {
            return Behaviour::Normal;
        }
        if &b[..3] == b"901" {
            return match b[3] {
                b'0' => Behaviour::DeductThenDrop,
                b'1' => Behaviour::DeductThenTruncated,
                b'2' => Behaviour::DeductThenOversized,
                b'3' => Behaviour::DeductThenTrickle,
                b'4' => Behaviour::DropBeforeProcessing,
                b'5' => Behaviour::OrderClosed,
                b'6' => Behaviour::OrderNotFound,
                b'7' => Behaviour::PaidElsewhere,
                _ => Behaviour::Normal,
            };
        }
        if &b[..3] != b"900" {
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

/// Seeded chaos: each call of an order that has no pattern of its own gets a fault (or none)
/// drawn from the seed, the order id and how many calls that order has had. The same seed gives
/// the same faults whatever the order of arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chaos {
    /// The seed of the draw.
    pub seed: u64,
}

impl Chaos {
    /// The behaviour of the `call`-th call (1-based) of `order_id`, and extra latency.
    pub fn draw(&self, order_id: &str, call: u32) -> (Behaviour, Duration) {
        let mut hash = self.seed ^ 0xcbf2_9ce4_8422_2325;
        for byte in order_id.bytes().chain(call.to_le_bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut rng = fastrand::Rng::with_seed(hash);
        let latency = Duration::from_millis(rng.u64(0..=20));
        let behaviour = match rng.u32(0..100) {
            0..=44 => Behaviour::Normal,
            45..=56 => Behaviour::ChaosDecline,
            57..=64 => Behaviour::ChaosRateLimit,
            65..=70 => Behaviour::DropBeforeProcessing,
            71..=76 => Behaviour::DeductThenDrop,
            77..=82 => Behaviour::DeductThen5xx,
            83..=86 => Behaviour::DeductThenTruncated,
            87..=89 => Behaviour::DeductThenOversized,
            90..=91 => Behaviour::DeductThenTrickle,
            92..=95 => Behaviour::ChaosUnavailable,
            _ => Behaviour::SuccessButNotConfirmed,
        };
        (behaviour, latency)
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
        assert_eq!(Behaviour::of("9015000000000000001"), Behaviour::OrderClosed);
        assert_eq!(
            Behaviour::of("9017000000000000001"),
            Behaviour::PaidElsewhere
        );
        assert_eq!(Behaviour::of("900"), Behaviour::Normal);
        assert_eq!(
            Behaviour::of_batch(["1", "9005000000000000001"]).0,
            Behaviour::RateLimited
        );
    }
}
