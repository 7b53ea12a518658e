/*
 * The C API against a running sandbox: the shared signing vectors, both endpoints, every row of
 * the outcome table, NULL and bad UTF-8 arguments, _free(NULL), threads sharing one handle.
 *
 * Usage: test_dajisaas VECTORS_TSV, with DAJISAAS_BASE_URL (the sandbox), DAJISAAS_APP_KEY and
 * DAJISAAS_APP_SECRET set (scripts/with-sandbox.sh does that). The sandbox must hold
 * deduct-then-hang answers longer than 2 s.
 * Ends with "N passed, N failed"; exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dajisaas.h"

static int passed, failed;

#define CHECK(cond, ...)                                                      \
  do {                                                                        \
    if (cond) {                                                               \
      passed++;                                                               \
    } else {                                                                  \
      failed++;                                                               \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
      fprintf(stderr, __VA_ARGS__);                                           \
      fputc('\n', stderr);                                                    \
    }                                                                         \
  } while (0)

static const char *env(const char *name) {
  const char *value = getenv(name);
  if (value == NULL) {
    fprintf(stderr, "missing environment variable %s\n", name);
    exit(2);
  }
  return value;
}

static daji_client *new_client(const char *secret, uint32_t timeout_ms) {
  daji_client_options options = daji_client_options_default();
  options.app_key = env("DAJISAAS_APP_KEY");
  options.app_secret = secret;
  options.base_url = env("DAJISAAS_BASE_URL");
  options.timeout_ms = timeout_ms;
  options.backoff_base_ms = 1;
  options.backoff_cap_ms = 5;
  daji_client *client = NULL;
  daji_status status = daji_client_new(&options, &client);
  if (status != DAJI_OK) {
    daji_error_info info;
    daji_last_error(&info);
    fprintf(stderr, "daji_client_new: %s: %s\n", daji_status_name(status), info.message);
    exit(2);
  }
  return client;
}

static daji_error_info last_error(void) {
  daji_error_info info;
  daji_last_error(&info);
  return info;
}

static void test_vectors(const char *path) {
  FILE *file = fopen(path, "r");
  CHECK(file != NULL, "cannot open the vectors");
  if (file == NULL) return;
  char *line = NULL;
  size_t capacity = 0;
  int count = 0;
  while (getline(&line, &capacity, file) > 0) {
    char *params = strtok(line, "\t");
    char *secret = strtok(NULL, "\t");
    char *expected = strtok(NULL, "\t\n");
    if (params == NULL || secret == NULL || expected == NULL) continue;
    char *sign = NULL;
    daji_status status = daji_sign(params, secret, &sign);
    CHECK(status == DAJI_OK && strcmp(sign, expected) == 0, "vector %d (%s): got %s", count,
          params, sign ? sign : daji_status_name(status));
    daji_string_free(sign);
    count++;
  }
  free(line);
  fclose(file);
  CHECK(count >= 25, "only %d vectors", count);
}

static void test_names_and_version(void) {
  CHECK(strcmp(daji_status_name(DAJI_OK), "ok") == 0, "ok");
  CHECK(strcmp(daji_status_name(DAJI_PAYMENT_DECLINED), "payment_declined") == 0, "declined");
  CHECK(strcmp(daji_status_name(DAJI_PAYMENT_OUTCOME_UNKNOWN), "payment_outcome_unknown") == 0,
        "unknown outcome");
  CHECK(strcmp(daji_status_name(42), "unknown") == 0, "not a status");
  CHECK(strcmp(daji_status_name(-1), "unknown") == 0, "negative");
  CHECK(strcmp(daji_version(), DAJI_VERSION) == 0, "%s vs %s", daji_version(), DAJI_VERSION);
}

static void test_links(daji_client *client) {
  const char *one[] = {"2257455039610311973"};
  char *url = NULL, *json = NULL;
  daji_status status = daji_pay_url(client, one, 1, &url, &json);
  CHECK(status == DAJI_OK, "pay_url: %s", last_error().message);
  if (status == DAJI_OK) {
    CHECK(strcmp(url, "https://trade.1688.com/order/cashier.htm?orderId=2257455039610311973") == 0,
          "%s", url);
    CHECK(strstr(json, "\"traceId\":\"") != NULL && strstr(json, "\"attempts\":1") != NULL, "%s",
          json);
  }
  daji_string_free(url);
  daji_string_free(json);

  /* The result JSON is optional. */
  const char *two[] = {"2257455039610311973", "2257455039610311974"};
  url = NULL;
  status = daji_pay_url(client, two, 2, &url, NULL);
  CHECK(status == DAJI_OK && strncmp(url, "https://cashier.alipay.com/", 27) == 0, "%s",
        url ? url : last_error().message);
  daji_string_free(url);

  /* 25 ids (one repeated) in batches of 10: three links, in order. */
  char ids[25][20];
  const char *pointers[25];
  for (int i = 0; i < 25; i++) {
    snprintf(ids[i], sizeof ids[i], "%d", 1000 + (i == 24 ? 0 : i));
    pointers[i] = ids[i];
  }
  char *links = NULL;
  status = daji_pay_urls(client, pointers, 25, 10, &links);
  CHECK(status == DAJI_OK, "pay_urls: %s", last_error().message);
  if (status == DAJI_OK) {
    int count = 0;
    for (const char *p = links; (p = strstr(p, "\"url\":")) != NULL; p++) count++;
    CHECK(count == 3, "%d links in %s", count, links);
    CHECK(strstr(links, "orderIds=1000,1001") != NULL, "order kept");
  }
  daji_string_free(links);
}

struct row {
  const char *order_id;
  daji_status status;
  uint32_t attempts;
};

static void test_outcomes(daji_client *client, daji_client *short_timeout) {
  const struct row rows[] = {
      {"2257164624870311973", DAJI_OK, 1},
      {"9001000000000000001", DAJI_OK, 3}, /* declined twice, then paid */
      {"9006000000000000001", DAJI_OK, 2}, /* rate limited once */
      {"9000000000000000001", DAJI_PAYMENT_DECLINED, 4},
      {"9005000000000000001", DAJI_RATE_LIMITED, 4},
      {"9003000000000000001", DAJI_PAYMENT_OUTCOME_UNKNOWN, 1}, /* 500 after deducting */
      {"9004000000000000001", DAJI_PAYMENT_OUTCOME_UNKNOWN, 1}, /* body not JSON */
      {"9008000000000000001", DAJI_PAYMENT_OUTCOME_UNKNOWN, 1}, /* success, not confirmed */
      {"9009000000000000001", DAJI_PAYMENT_OUTCOME_UNKNOWN, 1}, /* 503 */
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char *json = NULL;
    daji_status status = daji_prepare_pay(client, rows[i].order_id, &json);
    daji_error_info info = last_error();
    CHECK(status == rows[i].status, "%s: %s (%s)", rows[i].order_id, daji_status_name(status),
          info.message);
    if (status == DAJI_OK) {
      char expected[64];
      snprintf(expected, sizeof expected, "\"attempts\":%u", rows[i].attempts);
      CHECK(json != NULL && strstr(json, expected) != NULL, "%s: %s", rows[i].order_id, json);
    } else {
      CHECK(json == NULL, "output written on failure");
      CHECK(info.attempts == rows[i].attempts, "%s: %u attempts", rows[i].order_id, info.attempts);
      CHECK(info.status == status, "last error status");
    }
    daji_string_free(json);
  }

  /* Deducted, then no answer within the timeout. */
  daji_status status = daji_prepare_pay(short_timeout, "9002000000000000001", NULL);
  daji_error_info info = last_error();
  CHECK(status == DAJI_PAYMENT_OUTCOME_UNKNOWN && info.attempts == 1, "hang: %s %s",
        daji_status_name(status), info.message);
  CHECK(strstr(info.message, "check the order") != NULL, "%s", info.message);

  /* Nothing listens: retried, then a connection failure. */
  daji_client_options options = daji_client_options_default();
  options.app_key = "k";
  options.app_secret = "s";
  options.base_url = "http://127.0.0.1:1";
  options.backoff_base_ms = 1;
  options.backoff_cap_ms = 2;
  daji_client *nowhere = NULL;
  CHECK(daji_client_new(&options, &nowhere) == DAJI_OK, "client");
  status = daji_prepare_pay(nowhere, "1", NULL);
  info = last_error();
  CHECK(status == DAJI_CONNECTION && info.attempts == 4, "%s after %u", daji_status_name(status),
        info.attempts);
  daji_client_free(nowhere);
}

static void test_error_fields(void) {
  daji_client *wrong = new_client("not-the-secret", 5000);
  const char *one[] = {"1"};
  char *url = (char *)"untouched";
  daji_status status = daji_pay_url(wrong, one, 1, &url, NULL);
  daji_error_info info = last_error();
  CHECK(status == DAJI_API, "%s", daji_status_name(status));
  CHECK(info.api_code == 401 && info.http_status == 200 && info.attempts == 1, "%lld %u %u",
        (long long)info.api_code, info.http_status, info.attempts);
  CHECK(info.trace_id != NULL && strlen(info.trace_id) == 12, "trace id");
  CHECK(strcmp(url, "untouched") == 0, "output written on failure");
  CHECK(strstr(info.message, "not-the-secret") == NULL, "secret in message");
  daji_client_free(wrong);
}

static void expect_invalid(daji_status status, const char *needle, const char *what) {
  daji_error_info info = last_error();
  CHECK(status == DAJI_INVALID_ARGUMENT && strstr(info.message, needle) != NULL,
        "%s: %s: %s", what, daji_status_name(status), info.message);
}

static void test_bad_arguments(daji_client *client) {
  char *out = NULL;
  const char *one[] = {"1"};
  const char *with_null[] = {"1", NULL};
  const char *bad_utf8[] = {"\xff\xfe"};
  expect_invalid(daji_sign(NULL, "s", &out), "params_json is NULL", "sign NULL params");
  expect_invalid(daji_sign("{}", NULL, &out), "secret is NULL", "sign NULL secret");
  expect_invalid(daji_sign("{}", "s", NULL), "sign_out is NULL", "sign NULL out");
  expect_invalid(daji_sign("[1]", "s", &out), "JSON object", "sign array");
  expect_invalid(daji_sign("{\"a\":\"\xff\"}", "s", &out), "UTF-8", "sign bad UTF-8");
  expect_invalid(daji_pay_url(NULL, one, 1, &out, NULL), "client is NULL", "NULL client");
  expect_invalid(daji_pay_url(client, NULL, 1, &out, NULL), "order_ids is NULL", "NULL ids");
  expect_invalid(daji_pay_url(client, with_null, 2, &out, NULL), "order_ids[1] is NULL", "NULL id");
  expect_invalid(daji_pay_url(client, bad_utf8, 1, &out, NULL), "UTF-8", "bad UTF-8 id");
  expect_invalid(daji_pay_url(client, one, 0, &out, NULL), "empty", "no ids");
  expect_invalid(daji_pay_url(client, one, (size_t)-1, &out, NULL), "at most", "huge count");
  expect_invalid(daji_pay_url(client, one, 1, NULL, NULL), "url_out is NULL", "NULL url_out");
  expect_invalid(daji_pay_urls(client, one, 1, 0, &out), "batch_size is 0", "batch 0");
  expect_invalid(daji_pay_urls(client, one, 1, 10, NULL), "result_json_out", "NULL out");
  expect_invalid(daji_prepare_pay(client, NULL, NULL), "order_id is NULL", "NULL order");
  expect_invalid(daji_prepare_pay(client, "12a", NULL), "only the digits", "non-digit");
  expect_invalid(daji_prepare_pay(client, " 1", NULL), "whitespace", "whitespace");
  expect_invalid(daji_request(client, "DELETE", "/alibaba/x", NULL, &out), "GET or POST", "method");
  expect_invalid(daji_request(client, "GET", NULL, NULL, &out), "path is NULL", "NULL path");
  expect_invalid(daji_request(client, "GET", "/alibaba/x", "{", &out), "not valid JSON", "params");
  CHECK(out == NULL, "no output written by failed calls");

  daji_client_options options = daji_client_options_default();
  daji_client *made = NULL;
  expect_invalid(daji_client_new(NULL, &made), "options is NULL", "NULL options");
  expect_invalid(daji_client_new(&options, &made), "app_key is NULL", "no key");
  options.app_key = "k";
  options.app_secret = "s";
  expect_invalid(daji_client_new(&options, NULL), "client_out is NULL", "NULL out");
  options.base_url = "http://example.com";
  expect_invalid(daji_client_new(&options, &made), "plain http", "non-loopback http");
  options.base_url = NULL;
  options.max_retries = 7;
  expect_invalid(daji_client_new(&options, &made), "at most 3", "retries");
  options.max_retries = 3;
  options.timeout_ms = 0;
  expect_invalid(daji_client_new(&options, &made), "above zero", "zero timeout");
  options.timeout_ms = 1000;
  options.root_certificates_pem = "not PEM";
  expect_invalid(daji_client_new(&options, &made), "root certificates", "bad root certificates");
  CHECK(made == NULL, "no client written by failed calls");

  daji_client_free(NULL);
  daji_string_free(NULL);
  CHECK(daji_last_error(NULL) == DAJI_INVALID_ARGUMENT, "last error kept across free(NULL)");
}

static void test_request(daji_client *client) {
  char *data = NULL;
  daji_status status = daji_request(client, "POST", "/alibaba/order/preview",
                                    "{\"cargo\":[{\"offerId\":2257455039610311973}],\"memo\":\"\xe5\xa4\x87\"}",
                                    &data);
  CHECK(status == DAJI_OK && strstr(data, "\"offerId\":2257455039610311973") != NULL, "%s",
        data ? data : last_error().message);
  daji_string_free(data);
  data = NULL;
  status = daji_request(client, "GET", "/alibaba/product/search", NULL, &data);
  CHECK(status == DAJI_OK && strstr(data, "\"method\":\"GET\"") != NULL, "%s",
        data ? data : last_error().message);
  daji_string_free(data);
}

#define THREADS 8
#define CALLS_PER_THREAD 5

struct work {
  const daji_client *client;
  int index;
  int failures;
};

static void *thread_main(void *arg) {
  struct work *work = arg;
  for (int i = 0; i < CALLS_PER_THREAD; i++) {
    char id[24];
    snprintf(id, sizeof id, "%d", 5000 + work->index * 100 + i);
    const char *ids[] = {id};
    char *url = NULL;
    if (daji_pay_url(work->client, ids, 1, &url, NULL) != DAJI_OK || strstr(url, id) == NULL) {
      work->failures++;
    }
    daji_string_free(url);
  }
  return NULL;
}

static void test_threads(const daji_client *client) {
  pthread_t threads[THREADS];
  struct work work[THREADS];
  for (int i = 0; i < THREADS; i++) {
    work[i] = (struct work){client, i, 0};
    CHECK(pthread_create(&threads[i], NULL, thread_main, &work[i]) == 0, "thread %d", i);
  }
  int failures = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    failures += work[i].failures;
  }
  CHECK(failures == 0, "%d of %d calls failed", failures, THREADS * CALLS_PER_THREAD);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--bad-arguments-only") == 0) {
    /* Run against a sandbox of its own, which must then have received nothing. */
    daji_client *client = new_client(env("DAJISAAS_APP_SECRET"), 5000);
    test_bad_arguments(client);
    daji_client_free(client);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s tests/vectors/sign.tsv | --bad-arguments-only\n", argv[0]);
    return 2;
  }
  daji_client *client = new_client(env("DAJISAAS_APP_SECRET"), 5000);
  daji_client *short_timeout = new_client(env("DAJISAAS_APP_SECRET"), 2000);
  test_vectors(argv[1]);
  test_names_and_version();
  test_links(client);
  test_outcomes(client, short_timeout);
  test_error_fields();
  test_bad_arguments(client);
  test_request(client);
  test_threads(client);
  daji_client_free(short_timeout);
  daji_client_free(client);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
