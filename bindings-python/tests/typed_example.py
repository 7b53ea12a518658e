"""A typed walk through the whole public API; `mypy --strict` and `pyright` must accept it."""

import asyncio
import datetime
from typing import Any

import dajisaas


def use_blocking(client: dajisaas.Client) -> None:
    link: dajisaas.PayUrl = client.pay_url(["2257455039610311973", 2257455039610311974])
    url: str = link.url
    ids: list[str] = link.order_ids
    trace: str | None = link.trace_id
    attempts: int = link.attempts
    data: dict[str, Any] = link.data
    links: list[dajisaas.PayUrl] = client.pay_urls(["1", "2"], batch_size=10)
    try:
        payment: dajisaas.Payment = client.prepare_pay("2257164624870311973")
        channel: str | None = payment.pay_channel
        print(url, ids, trace, attempts, data, links, channel, payment.order_id)
    except dajisaas.PaymentOutcomeUnknownError as e:
        print("check the order first", e.trace_id, e.attempts)
    except dajisaas.PaymentInProgressError as e:
        print("already being paid", e.code)
    except dajisaas.PaymentDeclinedError as e:
        print("not paid", e.code, e.api_code, e.http_status)
    except dajisaas.DajisaasError as e:
        print(e.message)
    result: Any = client.request("POST", "/alibaba/order/preview", {"cargo": [{"offerId": 1}]})
    print(result)

    def progress(item: dajisaas.PayManyItem) -> None:
        outcome: dajisaas.PayManyOutcome = item.outcome
        error: dajisaas.DajisaasError | None = item.error
        print(item.order_id, outcome, error)

    run: dajisaas.PayManyResult = client.pay_many(["1", 2], 8, on_progress=progress)
    paid: int = run.summary["paid"]
    counts: dict[str, int] = run.summary
    items: list[dajisaas.PayManyItem] = run.results
    first: dajisaas.Payment | None = items[0].payment
    print(paid, counts, first)
    still_kept: int = client.flush_journal(1.5)
    print(still_kept)


async def use_async(client: dajisaas.AsyncClient) -> None:
    link = await client.pay_url([1])
    links = await client.pay_urls(["1"], 5)
    task: asyncio.Task[dajisaas.Payment] = asyncio.create_task(client.prepare_pay(1))
    payment = await task
    data = await client.request("GET", "/alibaba/x")
    run = await client.pay_many([1, "2"], on_progress=lambda item: print(item.outcome))
    summary: dict[str, int] = run.summary
    record = await asyncio.wait_for(client.payment_record(1), timeout=5.0)
    kept: int = await client.flush_journal(datetime.timedelta(seconds=2))
    print(link.url, len(links), payment.attempts, data, summary["unknown"], record, kept)
    await client.aclose()


def main() -> None:
    signature: str = dajisaas.sign({"appKey": "K", "orderIdList": "[1,2]"}, "S")
    masked: str = dajisaas.signing_string_masked({"appKey": "K"})
    client = dajisaas.Client(
        "key", "secret", base_url="http://127.0.0.1:8787", timeout=10.0,
        connect_timeout=datetime.timedelta(seconds=2), max_retries=2, backoff_base=0.1,
        backoff_cap=1, order_id_format="comma_separated", max_concurrent_batches=2,
    )
    config: dajisaas.ClientConfig = client.config
    timeout: float = config["timeout"]
    order_id_format: dajisaas.OrderIdFormat = config["order_id_format"]
    print(timeout, order_id_format, repr(client))
    options: dajisaas.ClientOptions = {"timeout": 5.0, "max_retries": 1}
    optioned = dajisaas.AsyncClient("key", "secret", **options)
    async_config: dajisaas.ClientConfig = optioned.config
    print(async_config["max_concurrent_batches"])
    env_client: dajisaas.Client = dajisaas.Client.from_env()
    with dajisaas.Client("key", "secret") as scoped:
        scoped_client: dajisaas.Client = scoped
        print(scoped_client.config["backoff_cap"])
    use_blocking(client)
    use_blocking(env_client)
    asyncio.run(use_async(dajisaas.AsyncClient("key", "secret")))
    asyncio.run(use_async(dajisaas.AsyncClient.from_env()))
    code_to_class: dict[str, type[dajisaas.DajisaasError]] = dajisaas.ERRORS_BY_CODE
    print(signature, masked, code_to_class, dajisaas.__version__)


if __name__ == "__main__":
    main()
