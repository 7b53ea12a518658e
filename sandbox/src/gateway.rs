//! The gateway's endpoints as the sandbox answers them.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use dajisaas::{PAY_URL_PATH, PREPARE_PAY_PATH, Params};
use serde_json::{Value, json};

use crate::behaviour::Behaviour;
use crate::body;
use crate::state::{OrderCheck, RecordedRequest, State};

type Shared = Arc<State>;

/// Every request outside `/_sandbox/` comes here.
///
/// The work is done on a task of its own: when the client goes away (a timeout, a cancelled
/// call), hyper drops this future, but not the task, so a request once started is validated,
/// booked and decided to the end, deduction included, like at the real gateway.
pub(crate) async fn handle(
    AxumState(state): AxumState<Shared>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    tokio::spawn(process(state, method, uri, body))
        .await
        .unwrap_or_else(|_| server_error())
}

async fn process(state: Shared, method: Method, uri: Uri, body: Bytes) -> Response {
    let _in_flight = state.enter();
    state.record(RecordedRequest {
        method: method.to_string(),
        uri: uri.to_string(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    pause(state.config.latency).await;
    let params = match read_params(&method, &uri, &body) {
        Ok(params) => params,
        Err(why) => return refuse(400, &format!("参数错误 (bad parameters): {why}")),
    };
    if let Some(why) = credentials_problem(&state, &params) {
        return refuse(401, why);
    }
    // Past the credentials check the app key is the configured one.
    if !state.admit(&state.config.app_key) {
        return rate_limited();
    }
    match (uri.path(), &method) {
        (PAY_URL_PATH, &Method::GET) => pay_url(&state, &params).await,
        (PREPARE_PAY_PATH, &Method::POST) => prepare_pay(&state, &params).await,
        (PAY_URL_PATH | PREPARE_PAY_PATH, _) => {
            (StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response()
        }
        (path, _) if path.starts_with("/alibaba/") => echo(&method, path, params),
        _ => (StatusCode::NOT_FOUND, "no such endpoint").into_response(),
    }
}

/// GET: the query; POST: the top-level fields of the JSON body.
fn read_params(method: &Method, uri: &Uri, body: &[u8]) -> Result<Params, String> {
    if method == Method::GET {
        let query = uri.query().unwrap_or("");
        return Ok(url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

/// The gateway's rule: `appKey` must match and `sign` must be right, or, in debug mode,
/// `appSecret` must be the secret. Returns why the call is refused, if it is.
fn credentials_problem(state: &State, params: &Params) -> Option<&'static str> {
    let cfg = &state.config;
    if params.get("appKey").and_then(Value::as_str) != Some(cfg.app_key.as_str()) {
        return Some("appKey 无效 (unknown appKey)");
    }
    match (params.get("sign"), params.get("appSecret")) {
        (Some(sign), _)
            if sign.as_str() != Some(dajisaas::sign(params, &cfg.app_secret).as_str()) =>
        {
            Some("签名错误 (sign mismatch)")
        }
        (None, Some(secret)) if secret.as_str() != Some(cfg.app_secret.as_str()) => {
            Some("appSecret 错误 (wrong appSecret)")
        }
        (None, None) => Some("缺少签名 (sign missing)"),
        _ => None,
    }
}

async fn pay_url(state: &State, params: &Params) -> Response {
    let ids = match params
        .get("orderIdList")
        .and_then(Value::as_str)
        .map(parse_id_list)
    {
        Some(Ok(ids)) => ids,
        Some(Err(why)) => return refuse(400, &format!("参数错误: orderIdList {why}")),
        None => return refuse(400, "参数错误: orderIdList is required"),
    };
    let (pattern, deciding) = Behaviour::of_batch(ids.iter().map(String::as_str));
    let call = state.count_link_call(&ids, deciding);
    let behaviour = state
        .behaviour(pattern, deciding.unwrap_or(&ids[0]), call)
        .await;
    respond(state, behaviour, call, None, link_body(&ids)).await
}

fn link_body(ids: &[String]) -> String {
    let url = match ids {
        [one] => format!("https://trade.1688.com/order/cashier.htm?orderId={one}"),
        many => format!(
            "https://cashier.alipay.com/standard/batch.htm?orderIds={}",
            many.join(",")
        ),
    };
    envelope_text(
        200,
        "操作成功",
        json!({"erroMsg": null, "payUrl": url, "success": true, "errorCode": null}),
    )
}

async fn prepare_pay(state: &State, params: &Params) -> Response {
    let order_id = match params.get("orderId") {
        Some(Value::String(id)) if is_order_id(id) => id.clone(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return refuse(400, "参数错误: orderId must be a 1688 order id"),
    };
    let call = state.count_pay_call(&order_id);
    let behaviour = state
        .behaviour(Behaviour::of(&order_id), &order_id, call)
        .await;
    respond(state, behaviour, call, Some(&order_id), paid_body(true)).await
}

fn paid_body(confirmed: bool) -> String {
    envelope_text(
        200,
        "操作成功",
        json!({
            "success": true, "code": null, "message": null,
            "result": {"isPaySuccess": null, "payChannel": "alipay", "paySuccess": confirmed},
        }),
    )
}

/// What a behaviour answers. `paying` is the order a payment call is for (links deduct nothing);
/// `success` is the healthy answer.
///
/// A payment call meets, in this order: the gateway's own refusals (rate limit, 503, a dropped
/// connection), which never look at the order; then the platform's order check, atomic with
/// the deduction, which declines an order already paid; then the behaviour's answer. Behaviours
/// that hold their answer deduct first and hold after (`9002` hang, `9013` trickle), except the
/// slow one, which waits before it acts.
async fn respond(
    state: &State,
    behaviour: Behaviour,
    call: u32,
    paying: Option<&str>,
    success: String,
) -> Response {
    let refusal = match behaviour {
        Behaviour::RateLimited | Behaviour::ChaosRateLimit => Some(rate_limited()),
        Behaviour::RateLimitedOnce if call == 1 => Some(rate_limited()),
        Behaviour::Unavailable503Once if call == 1 => Some(unavailable()),
        Behaviour::ChaosUnavailable => Some(unavailable()),
        Behaviour::DropBeforeProcessing => Some(body::dropped(String::new())),
        _ => None,
    };
    if let Some(refusal) = refusal {
        if let Some(order_id) = paying {
            // Only counted, if the order was paid: the refusal comes before the order check.
            state.check_order(order_id, false);
        }
        return refusal;
    }
    if behaviour == Behaviour::Slow {
        pause(state.config.slow).await;
    }
    let declines = match behaviour {
        Behaviour::Decline | Behaviour::ChaosDecline => true,
        Behaviour::DeclineTwiceThenPay => call <= 2 && paying.is_some(),
        _ => false,
    };
    // Refusals for the order's state take nothing either.
    let takes_nothing = declines
        || matches!(
            behaviour,
            Behaviour::OrderClosed | Behaviour::OrderNotFound | Behaviour::PaidElsewhere
        );
    let check = paying.map(|order_id| state.check_order(order_id, !takes_nothing));
    if check == Some(OrderCheck::AlreadyPaid) {
        return already_paid();
    }
    match behaviour {
        _ if declines => declined(paying.is_some()),
        Behaviour::OrderClosed => refused(
            paying.is_some(),
            "ORDER_CLOSED",
            "订单已关闭 (order closed)",
        ),
        Behaviour::OrderNotFound => refused(
            paying.is_some(),
            "ORDER_NOT_EXIST",
            "订单不存在 (order not found)",
        ),
        Behaviour::PaidElsewhere if paying.is_some() => ok(json!({
            "success": false, "code": null,
            "message": "该订单已付款 (this order has been paid)", "result": null,
        })),
        Behaviour::DeductThenHang => {
            pause(state.config.hang).await;
            body::json(success)
        }
        Behaviour::DeductThen5xx => server_error(),
        Behaviour::DeductThenMalformed => malformed(),
        Behaviour::DeductThenDrop => body::dropped(success),
        Behaviour::DeductThenTruncated => body::truncated(success),
        Behaviour::DeductThenOversized => body::oversized(),
        Behaviour::DeductThenTrickle => body::trickle(success),
        Behaviour::SuccessButNotConfirmed if paying.is_some() => body::json(paid_body(false)),
        _ => body::json(success),
    }
}

/// The platform's answer to a payment of an order that is already paid: declined, nothing taken.
fn already_paid() -> Response {
    ok(json!({
        "success": false, "code": "ORDER_ALREADY_PAID",
        "message": "订单已支付 (order already paid)", "result": null,
    }))
}

/// The platform's refusal for the order's state: nothing taken.
fn refused(payment: bool, code: &str, message: &str) -> Response {
    let data = if payment {
        json!({"success": false, "code": code, "message": message, "result": null})
    } else {
        json!({"success": false, "payUrl": null, "errorCode": code, "erroMsg": message})
    };
    ok(data)
}

fn declined(payment: bool) -> Response {
    let data = if payment {
        json!({
            "success": false, "code": "DEDUCT_NOT_INITIATED",
            "message": "免密支付扣款失败 (no password-free agreement could be charged)", "result": null,
        })
    } else {
        json!({
            "success": false, "payUrl": null, "errorCode": "ORDER_STATUS_ERROR",
            "erroMsg": "订单状态不可支付 (the order cannot be paid)",
        })
    };
    ok(data)
}

/// Any other `/alibaba/...` endpoint: echoes what it was given, signature checked.
fn echo(method: &Method, path: &str, mut params: Params) -> Response {
    params.remove("sign");
    params.remove("appSecret");
    ok(json!({"success": true, "method": method.as_str(), "path": path, "params": params}))
}

fn parse_id_list(text: &str) -> Result<Vec<String>, String> {
    let ids: Vec<String> = if text.starts_with('[') {
        let values: Vec<Value> =
            serde_json::from_str(text).map_err(|e| format!("is not a JSON array: {e}"))?;
        values
            .iter()
            .map(|v| match v {
                Value::Number(n) if n.is_u64() => Ok(n.to_string()),
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("holds {other}, not an order id")),
            })
            .collect::<Result<_, _>>()?
    } else {
        text.split(',').map(str::to_string).collect()
    };
    if ids.is_empty() || ids.len() > 30 {
        return Err(format!("must hold 1 to 30 ids, not {}", ids.len()));
    }
    match ids.iter().find(|id| !is_order_id(id)) {
        Some(bad) => Err(format!("holds {bad:?}, not an order id")),
        None => Ok(ids),
    }
}

fn is_order_id(id: &str) -> bool {
    (1..=19).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) async fn pause(duration: Duration) {
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
}

fn envelope_text(code: i64, message: &str, data: Value) -> String {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let trace_id = format!("{:012x}", fastrand::u64(..) & 0xffff_ffff_ffff);
    json!({
        "code": code, "message": message, "data": data, "timestamp": timestamp, "traceId": trace_id,
    })
    .to_string()
}

fn ok(data: Value) -> Response {
    body::json(envelope_text(200, "操作成功", data))
}

fn refuse(code: i64, message: &str) -> Response {
    body::json(envelope_text(code, message, Value::Null))
}

fn rate_limited() -> Response {
    refuse(429, "调用频率超过限制 (app call frequency exceeded)")
}

fn unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "service unavailable").into_response()
}

fn server_error() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
}

fn malformed() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html")],
        "<html><body>502 upstream gateway error</body></html>",
    )
        .into_response()
}
