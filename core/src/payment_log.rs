//! The key-values of a payment's log records (the `log` crate's `kv`), declared here once.
//!
//! Every record of a payment (its claim, fence, requests, retries, outcome, and the journal's
//! warnings about it) carries `order_id`, so that a handler can pick one payment's records out
//! of a busy log; the Python bridge turns the key-values into `LogRecord` attributes. Records
//! logged by the payment's task get the order id from the task ([`for_order`]); the records of
//! calls that pay nothing carry a null `order_id`, which bridges leave out. Values are plain
//! strings, integers and booleans, never `Debug` text.

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    /// The order whose payment the current task runs.
    static ORDER_ID: Arc<str>;
}

/// Runs `payment`, every record it logs through [`payment_log!`] carrying `order_id`.
pub(crate) async fn for_order<F: Future>(order_id: &str, payment: F) -> F::Output {
    ORDER_ID.scope(Arc::from(order_id), payment).await
}

/// The order whose payment the current task runs, if any.
pub(crate) fn order_id() -> Option<Arc<str>> {
    ORDER_ID.try_with(Arc::clone).ok()
}

/// A record with `order_id` and the key-values listed, under the target `dajisaas` unless one
/// is given: `payment_log!(debug, attempt = n; "…")`; `order = id` names the order outside its
/// payment's task.
macro_rules! payment_log {
    ($level:ident, order = $order:expr $(, $key:ident = $value:expr)*; $($message:tt)+) => {
        ::log::$level!(target: "dajisaas", order_id = $order $(, $key = $value)*; $($message)+)
    };
    (target: $target:literal, $level:ident $(, $key:ident = $value:expr)*; $($message:tt)+) => {
        ::log::$level!(
            target: $target,
            order_id = $crate::payment_log::order_id().as_deref() $(, $key = $value)*;
            $($message)+
        )
    };
    ($level:ident $(, $key:ident = $value:expr)*; $($message:tt)+) => {
        $crate::payment_log::payment_log!(
            target: "dajisaas", $level $(, $key = $value)*; $($message)+
        )
    };
}
pub(crate) use payment_log;

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use log::kv::{Key, Value, VisitSource, VisitValue};
    use log::{Log, Metadata, Record};

    use super::*;

    /// Each record as its key-values, rendered as a bridge sees them (null as "null").
    type Seen = BTreeMap<String, String>;

    thread_local! {
        static SEEN: RefCell<Vec<(String, Seen)>> = const { RefCell::new(Vec::new()) };
    }

    /// Keeps the records logged on the logging thread (tests run in parallel threads).
    struct Keep;

    impl Log for Keep {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }

        fn log(&self, record: &Record<'_>) {
            struct Collect(Seen);
            impl<'kvs> VisitSource<'kvs> for Collect {
                fn visit_pair(
                    &mut self,
                    key: Key<'kvs>,
                    value: Value<'kvs>,
                ) -> Result<(), log::kv::Error> {
                    let mut shown = Shown(String::new());
                    value.visit(&mut shown)?;
                    self.0.insert(key.to_string(), shown.0);
                    Ok(())
                }
            }
            /// The value's type and text: what a bridge can tell of it.
            struct Shown(String);
            impl<'v> VisitValue<'v> for Shown {
                fn visit_any(&mut self, value: Value<'_>) -> Result<(), log::kv::Error> {
                    self.0 = format!("other {value}");
                    Ok(())
                }
                fn visit_null(&mut self) -> Result<(), log::kv::Error> {
                    self.0 = "null".into();
                    Ok(())
                }
                fn visit_u64(&mut self, n: u64) -> Result<(), log::kv::Error> {
                    self.0 = format!("int {n}");
                    Ok(())
                }
                fn visit_str(&mut self, s: &str) -> Result<(), log::kv::Error> {
                    self.0 = format!("str {s}");
                    Ok(())
                }
            }
            let mut kv = Collect(Seen::new());
            record.key_values().visit(&mut kv).unwrap();
            SEEN.with(|s| s.borrow_mut().push((record.args().to_string(), kv.0)));
        }

        fn flush(&self) {}
    }

    fn seen(log: impl FnOnce()) -> Vec<(String, Seen)> {
        static KEEP: Keep = Keep;
        let _ = log::set_logger(&KEEP);
        log::set_max_level(log::LevelFilter::Trace);
        SEEN.with(|s| s.borrow_mut().clear());
        log();
        SEEN.with(|s| s.take())
    }

    fn fields(pairs: &[(&str, &str)]) -> Seen {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_payments_records_carry_its_order_id_as_plain_values() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let trace_id: Option<&str> = Some("0b1a");
        let records = seen(|| {
            runtime.block_on(for_order("9001", async {
                payment_log!(debug, attempt = 2u32, trace_id = trace_id; "sent {}", 1);
                payment_log!(target: "dajisaas::fence", trace; "fenced");
            }));
            payment_log!(info, attempt = 1u32; "no payment");
            payment_log!(warn, order = "9002", outcome = "paid"; "kept");
        });
        assert_eq!(
            records,
            vec![
                (
                    "sent 1".to_string(),
                    fields(&[
                        ("attempt", "int 2"),
                        ("order_id", "str 9001"),
                        ("trace_id", "str 0b1a")
                    ])
                ),
                ("fenced".to_string(), fields(&[("order_id", "str 9001")])),
                (
                    "no payment".to_string(),
                    fields(&[("attempt", "int 1"), ("order_id", "null")])
                ),
                (
                    "kept".to_string(),
                    fields(&[("order_id", "str 9002"), ("outcome", "str paid")])
                ),
            ]
        );
    }
}
