/*
 * The C API against a running sandbox: the shared signing vectors, both endpoints, every row of
 * the behaviour table (tests/vectors/outcomes.json, as the TSV tests/c/run.sh writes), the
 * options struct (sizes, defaults, out-of-range enumerations and flags), NULL and bad UTF-8
 * arguments, _free(NULL), threads sharing one handle, and calls made while a thread exits (a
 * pthread_key destructor) and while the process exits (an atexit handler).
 *
 * Usage: test_dajisaas SIGN_TSV OUTCOMES_TSV, with DAJISAAS_BASE_URL (a sandbox started with the
 * table's settings), DAJISAAS_APP_KEY and DAJISAAS_APP_SECRET set (scripts/with-sandbox.sh does
 * that); or test_dajisaas --bad-arguments-only, which sends nothing.
 * Ends with "N passed, N failed" (and a line from the atexit handler); exits non-zero on any
 * failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

static daji_error_info last_error(void) {
  daji_error_info info;
  daji_error_info_last(&info);
  return info;
}

static daji_client *must_create(const daji_client_options *options) {
  daji_client *client = NULL;
  daji_status status = daji_client_new(options, &client);
  if (status != DAJI_OK) {
    fprintf(stderr, "daji_client_new: %s: %s\n", daji_status_name(status), last_error().message);
    exit(2);
  }
  return client;
}

static daji_client *new_client(const char *secret, uint32_t timeout_ms) {
  daji_client_options options = sandbox_options(secret);
  options.timeout_ms = timeout_ms;
  return must_create(&options);
}

/* The client's effective options as JSON (the caller frees it), or NULL. */
static char *config_json(const daji_client *client) {
  char *json = NULL;
  daji_status status = daji_client_config_json(client, &json);
  CHECK(status == DAJI_OK, "config_json: %s", last_error().message);
  return json;
}

/* The number after "key": in a JSON text, or -1. */
static long long json_number(const char *json, const char *key) {
  char needle[64];
  snprintf(needle, sizeof needle, "\"%s\":", key);
  const char *at = json ? strstr(json, needle) : NULL;
  return at ? strtoll(at + strlen(needle), NULL, 10) : -1;
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
  CHECK(strcmp(daji_status_name(DAJI_PAYMENT_IN_PROGRESS), "payment_in_progress") == 0,
        "in progress");
  CHECK(DAJI_PAYMENT_IN_PROGRESS == 11, "code 11");
  for (int status = 0; status <= DAJI_ORDER_NOT_PAYABLE; status++) {
    CHECK(strcmp(daji_status_name(status), "unknown") != 0, "status %d has no name", status);
  }
  CHECK(strcmp(daji_status_name(DAJI_JOURNAL), "journal") == 0 && DAJI_JOURNAL == 12, "journal");
  CHECK(strcmp(daji_status_name(DAJI_ORDER_NOT_PAYABLE), "order_not_payable") == 0 &&
            DAJI_ORDER_NOT_PAYABLE == 13,
        "order_not_payable");
  CHECK(strcmp(daji_status_name(14), "unknown") == 0, "not a status");
  CHECK(strcmp(daji_status_name(-1), "unknown") == 0, "negative");
  CHECK(strcmp(daji_version(), DAJI_VERSION) == 0, "%s vs %s", daji_version(), DAJI_VERSION);
}

static void test_links(daji_client *client) {
  /* Order ids of the behaviour table are left to test_outcomes, whose counters are checked. */
  const char *one[] = {"2257455039610311980"};
  char *url = NULL, *json = NULL;
  daji_status status = daji_client_pay_url(client, one, 1, &url, &json);
  CHECK(status == DAJI_OK, "pay_url: %s", last_error().message);
  if (status == DAJI_OK) {
    CHECK(strcmp(url, "https://trade.1688.com/order/cashier.htm?orderId=2257455039610311980") == 0,
          "%s", url);
    CHECK(strstr(json, "\"trace_id\":\"") != NULL && json_number(json, "attempts") == 1 &&
              strstr(json, "\"order_ids\":[\"2257455039610311980\"]") != NULL,
          "%s", json);
  }
  daji_string_free(url);
  daji_string_free(json);

  /* The result JSON is optional. */
  const char *two[] = {"2257455039610311981", "2257455039610311982"};
  url = NULL;
  status = daji_client_pay_url(client, two, 2, &url, NULL);
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
  status = daji_client_pay_urls(client, pointers, 25, 10, &links);
  CHECK(status == DAJI_OK, "pay_urls: %s", last_error().message);
  if (status == DAJI_OK) {
    int count = 0;
    for (const char *p = links; (p = strstr(p, "\"url\":")) != NULL; p++) count++;
    CHECK(count == 3, "%d links in %s", count, links);
    CHECK(strstr(links, "orderIds=1000,1001") != NULL, "order kept");
  }
  daji_string_free(links);
}

/* ---- The behaviour table ---- */

#define MAX_ROWS 128
#define MAX_PARTS 4

struct row {
  char *line; /* owns the strings below */
  const char *order_id, *endpoint, *code;
  unsigned long attempts, http_status;
  long long api_code;
  int trace_id;
  const char *message_contains[MAX_PARTS];
  int parts;
  /* What the call reported, filled by its thread. */
  const daji_client *client;
  daji_status status;
  uint32_t got_attempts;
  uint16_t got_http_status;
  int64_t got_api_code;
  int got_trace_id;
  int output_written;
  char *message;
};

/* Sets the option the table names; returns 0 for an option this test does not know. */
static int set_option(daji_client_options *options, const char *name, uint32_t value) {
  if (strcmp(name, "timeout_ms") == 0) options->timeout_ms = value;
  else if (strcmp(name, "connect_timeout_ms") == 0) options->connect_timeout_ms = value;
  else if (strcmp(name, "max_retries") == 0) options->max_retries = value;
  else if (strcmp(name, "backoff_base_ms") == 0) options->backoff_base_ms = value;
  else if (strcmp(name, "backoff_cap_ms") == 0) options->backoff_cap_ms = value;
  else if (strcmp(name, "max_concurrent_batches") == 0) options->max_concurrent_batches = value;
  else return 0;
  return 1;
}

static void *row_main(void *arg) {
  struct row *row = arg;
  char *json = NULL, *url = NULL;
  if (strcmp(row->endpoint, "prepare_pay") == 0) {
    row->status = daji_client_prepare_pay(row->client, row->order_id, &json);
  } else {
    const char *ids[] = {row->order_id};
    row->status = daji_client_pay_url(row->client, ids, 1, &url, &json);
  }
  daji_error_info info = last_error();
  if (row->status == DAJI_OK) {
    long long attempts = json_number(json, "attempts");
    row->got_attempts = attempts < 0 ? 0 : (uint32_t)attempts;
    row->got_trace_id = json != NULL && strstr(json, "\"trace_id\":\"") != NULL;
    row->message = strdup("");
  } else {
    row->output_written = json != NULL || url != NULL;
    row->got_attempts = info.attempts;
    row->got_http_status = info.http_status;
    row->got_api_code = info.api_code;
    row->got_trace_id = info.trace_id != NULL;
    row->message = strdup(info.message);
  }
  daji_string_free(json);
  daji_string_free(url);
  return NULL;
}

/* Reads the TSV; returns the number of rows, and fills *options from the option lines. */
static int read_table(const char *path, struct row *rows, daji_client_options *options) {
  FILE *file = fopen(path, "r");
  CHECK(file != NULL, "cannot open %s", path);
  if (file == NULL) return 0;
  int count = 0;
  char *line = NULL;
  size_t capacity = 0;
  while (getline(&line, &capacity, file) > 0) {
    line[strcspn(line, "\n")] = '\0';
    char *fields[8 + MAX_PARTS];
    int n = 0;
    for (char *f = strtok(line, "\t"); f != NULL && n < 8 + MAX_PARTS; f = strtok(NULL, "\t")) {
      fields[n++] = f;
    }
    if (n == 3 && strcmp(fields[0], "option") == 0) {
      CHECK(set_option(options, fields[1], (uint32_t)strtoul(fields[2], NULL, 10)),
            "the table sets option %s, unknown to this test", fields[1]);
    } else if (n >= 8 && strcmp(fields[0], "row") == 0 && count < MAX_ROWS) {
      struct row *row = &rows[count++];
      memset(row, 0, sizeof *row);
      /* The fields point into the line, which the row keeps. */
      row->line = line;
      row->order_id = fields[1];
      row->endpoint = fields[2];
      row->code = fields[3];
      row->attempts = strtoul(fields[4], NULL, 10);
      row->http_status = strtoul(fields[5], NULL, 10);
      row->api_code = strtoll(fields[6], NULL, 10);
      row->trace_id = atoi(fields[7]);
      for (int i = 8; i < n; i++) row->message_contains[row->parts++] = fields[i];
      line = NULL;
      capacity = 0;
    } else {
      CHECK(0, "unreadable line in %s (%d fields)", path, n);
    }
  }
  free(line);
  fclose(file);
  return count;
}

/* Two payments of one order at once on one client: one is made (and here ends in doubt, as the
 * sandbox holds the answer past the timeout); the other sends nothing, waits for it and gets
 * its outcome. The sandbox's log (DAJI_EXPECT_OUTCOMES) shows the order's one call. */
struct racer {
  const daji_client *client;
  pthread_barrier_t *start;
  daji_status status;
  uint32_t attempts;
};

static void *racer_main(void *arg) {
  struct racer *racer = arg;
  pthread_barrier_wait(racer->start);
  racer->status = daji_client_prepare_pay(racer->client, "9002000000000000077", NULL);
  racer->attempts = last_error().attempts;
  return NULL;
}

static void test_payment_under_way(const daji_client *client) {
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2);
  struct racer racers[2] = {{client, &start, DAJI_OK, 0}, {client, &start, DAJI_OK, 0}};
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, racer_main, &racers[i]);
  for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
  pthread_barrier_destroy(&start);
  for (int i = 0; i < 2; i++) {
    CHECK(racers[i].status == DAJI_PAYMENT_OUTCOME_UNKNOWN && racers[i].attempts == 1,
          "payment %d: %s after %u attempts", i, daji_status_name(racers[i].status),
          racers[i].attempts);
  }
  /* The journal now holds the order as unknown: a third payment is refused unsent. */
  CHECK(daji_client_prepare_pay(client, "9002000000000000077", NULL) ==
                DAJI_PAYMENT_OUTCOME_UNKNOWN &&
            last_error().attempts == 0,
        "third payment: %s", daji_status_name(last_error().status));
  /* An order the journal has no record of: NULL, and DAJI_OK. */
  char *record = (char *)"untouched";
  CHECK(daji_client_payment_record(client, "9002000000000000078", &record) == DAJI_OK &&
            record == NULL,
        "no record: %s", record ? record : "(NULL)");
  CHECK(daji_client_payment_record(client, "9002000000000000077", &record) == DAJI_OK &&
            strstr(record, "\"state\":\"unknown\"") != NULL,
        "record: %s", record ? record : "(none)");
  daji_string_free(record);
  CHECK(daji_client_resolve_payment(client, "9002000000000000077", 2, NULL, NULL) ==
            DAJI_INVALID_ARGUMENT,
        "resolve with paid=2 is refused");
  record = NULL;
  CHECK(daji_client_resolve_payment(client, "9002000000000000077", 1, "seen in 1688", &record) ==
                DAJI_OK &&
            strstr(record, "\"state\":\"paid\"") != NULL,
        "resolved: %s", record ? record : "(none)");
  daji_string_free(record);
  char *listed = NULL;
  CHECK(daji_client_payment_records(client, "paid", &listed) == DAJI_OK &&
            strstr(listed, "9002000000000000077") != NULL,
        "records: %s", listed ? listed : "(none)");
  daji_string_free(listed);
  /* Every outcome landed: nothing kept for the journal. A timeout out of range is refused. */
  size_t kept = 99;
  CHECK(daji_client_flush_journal(client, 0, &kept) == DAJI_OK && kept == 0,
        "flush_journal: %s, %zu kept", daji_status_name(last_error().status), kept);
  CHECK(daji_client_flush_journal(client, 500, NULL) == DAJI_OK, "flush_journal, no kept_out");
  CHECK(daji_client_flush_journal(client, 50, &kept) == DAJI_INVALID_ARGUMENT &&
            strstr(last_error().message, "100 to 60000") != NULL,
        "flush_journal(50 ms): %s", last_error().message);
}

static void test_outcomes(const char *path) {
  static struct row rows[MAX_ROWS];
  daji_client_options options = sandbox_options(env("DAJISAAS_APP_SECRET"));
  int count = read_table(path, rows, &options);
  CHECK(count >= 32, "only %d rows in %s", count, path);
  daji_client *client = must_create(&options);

  /* Concurrently: the rows that wait out a timeout on every attempt take seconds each. Under
   * valgrind, which runs one thread at a time, the table's timeouts only hold for a few calls at
   * once: DAJI_TABLE_THREADS limits how many rows run together. */
  const char *limit = getenv("DAJI_TABLE_THREADS");
  int wave = limit != NULL && atoi(limit) > 0 ? atoi(limit) : MAX_ROWS;
  pthread_t threads[MAX_ROWS];
  for (int first = 0; first < count; first += wave) {
    int last = first + wave < count ? first + wave : count;
    for (int i = first; i < last; i++) {
      rows[i].client = client;
      CHECK(pthread_create(&threads[i], NULL, row_main, &rows[i]) == 0, "thread %d", i);
    }
    for (int i = first; i < last; i++) pthread_join(threads[i], NULL);
  }

  for (int i = 0; i < count; i++) {
    struct row *r = &rows[i];
    const char *got = daji_status_name(r->status);
    CHECK(strcmp(got, r->code) == 0, "%s %s: %s, want %s (%s)", r->order_id, r->endpoint, got,
          r->code, r->message);
    CHECK(r->got_attempts == r->attempts, "%s %s: %u attempts, want %lu", r->order_id,
          r->endpoint, r->got_attempts, r->attempts);
    CHECK(r->got_http_status == r->http_status, "%s %s: http_status %u, want %lu", r->order_id,
          r->endpoint, r->got_http_status, r->http_status);
    CHECK(r->got_api_code == r->api_code, "%s %s: api_code %" PRId64 ", want %lld", r->order_id,
          r->endpoint, r->got_api_code, r->api_code);
    CHECK(r->got_trace_id == r->trace_id, "%s %s: trace_id %d, want %d", r->order_id,
          r->endpoint, r->got_trace_id, r->trace_id);
    CHECK(!r->output_written, "%s %s: output written on failure", r->order_id, r->endpoint);
    for (int p = 0; p < r->parts; p++) {
      CHECK(strstr(r->message, r->message_contains[p]) != NULL, "%s %s: message %s lacks %s",
            r->order_id, r->endpoint, r->message, r->message_contains[p]);
    }
    free(r->message);
    free(r->line);
  }

  test_payment_under_way(client);
  daji_client_free(client);

  /* Nothing listens: retried, then a connection failure. */
  daji_client_options nowhere_options;
  daji_client_options_init(&nowhere_options, sizeof nowhere_options);
  nowhere_options.app_key = "k";
  nowhere_options.app_secret = "s";
  nowhere_options.base_url = "http://127.0.0.1:1";
  nowhere_options.backoff_base_ms = 1;
  nowhere_options.backoff_cap_ms = 2;
  daji_client *nowhere = must_create(&nowhere_options);
  daji_status status = daji_client_prepare_pay(nowhere, "1", NULL);
  daji_error_info info = last_error();
  CHECK(status == DAJI_CONNECTION && info.attempts == 4, "%s after %u", daji_status_name(status),
        info.attempts);
  daji_client_free(nowhere);
}

/* An order paid by another process (a journal that never saw its payment): the gateway's
 * "already paid" ends it as paid after one request; a closed order is not payable. */
static void test_gateway_word(void) {
  const char *id = "2257164624870311995";
  daji_client_options first_options = sandbox_options(env("DAJISAAS_APP_SECRET"));
  first_options.journal = "memory:c-first-process";
  daji_client *first = must_create(&first_options);
  CHECK(daji_client_prepare_pay(first, id, NULL) == DAJI_OK, "first payment");
  daji_client_options next_options = sandbox_options(env("DAJISAAS_APP_SECRET"));
  next_options.journal = "memory:c-the-next-night";
  daji_client *next = must_create(&next_options);
  char *payment = NULL;
  CHECK(daji_client_prepare_pay(next, id, &payment) == DAJI_OK && payment != NULL &&
            strstr(payment, "\"already_paid\":true") != NULL &&
            strstr(payment, "\"attempts\":1") != NULL,
        "paid again from another journal: %s", payment ? payment : "(none)");
  daji_string_free(payment);
  char *record = NULL;
  CHECK(daji_client_payment_record(next, id, &record) == DAJI_OK && record != NULL &&
            strstr(record, "\"state\":\"paid\"") != NULL,
        "journaled: %s", record ? record : "(none)");
  daji_string_free(record);
  daji_status closed = daji_client_prepare_pay(next, "9015000000000000195", NULL);
  CHECK(closed == DAJI_ORDER_NOT_PAYABLE && last_error().attempts == 1, "a closed order: %s",
        daji_status_name(closed));
  daji_client_free(next);
  daji_client_free(first);
}

static void test_error_fields(void) {
  daji_client *wrong = new_client("not-the-secret", 5000);
  const char *one[] = {"1"};
  char *url = (char *)"untouched";
  daji_status status = daji_client_pay_url(wrong, one, 1, &url, NULL);
  daji_error_info info = last_error();
  CHECK(status == DAJI_API, "%s", daji_status_name(status));
  CHECK(info.status == DAJI_API, "last error status");
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

/* Client options: every value out of range of an enumeration or flag, sizes, ranges. None of
 * these sends anything. */
static void test_bad_options(void) {
  daji_client_options options;
  daji_client *made = NULL;
  expect_invalid(daji_client_options_init(NULL, sizeof options), "options is NULL", "init NULL");
  expect_invalid(daji_client_options_init(&options, 2), "size is 2", "init size 2");
  memset(&options, 0, sizeof options);
  options.app_key = "k";
  options.app_secret = "s";
  expect_invalid(daji_client_new(&options, &made), "struct_size is 0", "not initialised");

  daji_client_options_init(&options, sizeof options);
  expect_invalid(daji_client_new(NULL, &made), "options is NULL", "NULL options");
  expect_invalid(daji_client_new(&options, &made), "app_key is required", "no key");
  options.app_key = "k";
  expect_invalid(daji_client_new(&options, &made), "app_secret is required", "no secret");
  options.app_secret = "a-secret-of-20-chars"; /* debug mode takes 8 or more */
  expect_invalid(daji_client_new(&options, NULL), "client_out is NULL", "NULL out");

  const uint32_t formats[] = {2, 3, 255, 256, 0x80000000u, 0xFFFFFFFFu};
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    options.order_id_format = formats[i];
    char needle[64];
    snprintf(needle, sizeof needle, "order_id_format is %" PRIu32 ";", formats[i]);
    expect_invalid(daji_client_new(&options, &made), needle, "order_id_format");
  }
  options.order_id_format = DAJI_ORDER_IDS_JSON_ARRAY;
  const uint8_t flags[] = {2, 3, 127, 128, 254, 255};
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    options.dangerously_send_app_secret_instead_of_sign = flags[i];
    char needle[96];
    snprintf(needle, sizeof needle, "dangerously_send_app_secret_instead_of_sign is %u;",
             (unsigned)flags[i]);
    expect_invalid(daji_client_new(&options, &made), needle, "flag");
  }
  CHECK(made == NULL, "no client written by failed calls");

  /* The valid values: 0 and 1, each shown by the client's effective options. */
  for (uint8_t flag = 0; flag <= 1; flag++) {
    options.dangerously_send_app_secret_instead_of_sign = flag;
    options.order_id_format = flag ? DAJI_ORDER_IDS_COMMA_SEPARATED : DAJI_ORDER_IDS_JSON_ARRAY;
    made = NULL;
    CHECK(daji_client_new(&options, &made) == DAJI_OK, "flag %u: %s", flag, last_error().message);
    char *json = config_json(made);
    CHECK(json != NULL && strstr(json, flag ? "\"dangerously_send_app_secret_instead_of_sign\":true"
                                            : "\"dangerously_send_app_secret_instead_of_sign\":false"),
          "%s", json);
    CHECK(json != NULL && strstr(json, flag ? "\"order_id_format\":\"comma_separated\""
                                            : "\"order_id_format\":\"json_array\""),
          "%s", json);
    CHECK(json != NULL && strstr(json, "\"app_secret\"") == NULL && strstr(json, "\"s\"") == NULL,
          "the secret is shown: %s", json);
    daji_string_free(json);
    daji_client_free(made);
  }
  options.dangerously_send_app_secret_instead_of_sign = 0;
  options.order_id_format = DAJI_ORDER_IDS_JSON_ARRAY;
  made = NULL;

  options.base_url = "http://example.com";
  expect_invalid(daji_client_new(&options, &made), "plain http", "non-loopback http");
  options.base_url = NULL;
  options.max_retries = 7;
  expect_invalid(daji_client_new(&options, &made), "max_retries must be", "retries");
  options.max_retries = 3;
  options.timeout_ms = 0;
  expect_invalid(daji_client_new(&options, &made), "timeout_ms must be", "zero timeout");
  options.timeout_ms = 1000;
  options.max_concurrent_batches = 0;
  expect_invalid(daji_client_new(&options, &made), "max_concurrent_batches must be", "batches 0");
  options.max_concurrent_batches = 17;
  expect_invalid(daji_client_new(&options, &made), "max_concurrent_batches must be", "batches 17");
  options.max_concurrent_batches = 4;
  options.backoff_base_ms = 300;
  options.backoff_cap_ms = 200;
  expect_invalid(daji_client_new(&options, &made), "must not exceed", "backoff");
  options.backoff_cap_ms = 5000;
  options.root_certificates_pem = "not PEM";
  expect_invalid(daji_client_new(&options, &made), "root certificates", "bad root certificates");
  options.root_certificates_pem = NULL;

  /* A program compiled against a newer header, with a field this library does not know. */
  struct {
    daji_client_options options;
    uint64_t future_option;
  } newer;
  memset(&newer, 0xAB, sizeof newer);
  CHECK(daji_client_options_init(&newer.options, sizeof newer) == DAJI_OK, "init newer");
  CHECK(newer.future_option == 0 && newer.options.struct_size == sizeof newer,
        "unknown fields zeroed");
  newer.options.app_key = "k";
  newer.options.app_secret = "s";
  CHECK(daji_client_new(&newer.options, &made) == DAJI_OK, "newer, unknown field unset: %s",
        last_error().message);
  daji_client_free(made);
  made = NULL;
  newer.future_option = 1;
  expect_invalid(daji_client_new(&newer.options, &made), "newer dajisaas.h", "unknown field set");
  newer.options.struct_size = 1 << 20;
  expect_invalid(daji_client_new(&newer.options, &made), "struct_size is 1048576", "huge size");
  CHECK(made == NULL, "no client written by failed calls");
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
  expect_invalid(daji_client_pay_url(NULL, one, 1, &out, NULL), "client is NULL", "NULL client");
  expect_invalid(daji_client_pay_url(client, NULL, 1, &out, NULL), "order_ids is NULL", "NULL ids");
  expect_invalid(daji_client_pay_url(client, with_null, 2, &out, NULL), "order_ids[1] is NULL",
                 "NULL id");
  expect_invalid(daji_client_pay_url(client, bad_utf8, 1, &out, NULL), "UTF-8", "bad UTF-8 id");
  expect_invalid(daji_client_pay_url(client, one, 0, &out, NULL), "empty", "no ids");
  expect_invalid(daji_client_pay_url(client, one, (size_t)-1, &out, NULL), "at most", "huge count");
  expect_invalid(daji_client_pay_url(client, one, 1, NULL, NULL), "url_out is NULL",
                 "NULL url_out");
  expect_invalid(daji_client_pay_urls(client, one, 1, 0, &out), "batch_size is 0", "batch 0");
  expect_invalid(daji_client_pay_urls(client, one, 1, 10, NULL), "result_json_out", "NULL out");
  expect_invalid(daji_client_prepare_pay(client, NULL, NULL), "order_id is NULL", "NULL order");
  expect_invalid(daji_client_prepare_pay(client, "12a", NULL), "only the digits", "non-digit");
  expect_invalid(daji_client_prepare_pay(client, " 1", NULL), "whitespace", "whitespace");
  expect_invalid(daji_client_request(client, "DELETE", "/alibaba/x", NULL, &out), "GET or POST",
                 "method");
  expect_invalid(daji_client_request(client, "GET", NULL, NULL, &out), "path is NULL", "NULL path");
  expect_invalid(daji_client_request(client, "GET", "/alibaba/x", "{", &out), "not valid JSON",
                 "params");
  expect_invalid(daji_client_config_json(NULL, &out), "client is NULL", "config NULL client");
  expect_invalid(daji_client_config_json(client, NULL), "json_out is NULL", "config NULL out");
  CHECK(out == NULL, "no output written by failed calls");

  test_bad_options();

  daji_client_free(NULL);
  daji_string_free(NULL);
  CHECK(daji_error_info_last(NULL) == DAJI_INVALID_ARGUMENT, "last error kept across free(NULL)");
}

/* What the progress callback of daji_client_pay_many saw. */
struct progress_log {
  pthread_t caller;
  int calls;
  int on_other_threads;
  char first[64];
  int stop_after; /* return non-zero at this call (0: never) */
};

static int on_progress(const char *result_json, void *user_data) {
  struct progress_log *log = user_data;
  if (!pthread_equal(pthread_self(), log->caller)) log->on_other_threads++;
  if (log->calls == 0) snprintf(log->first, sizeof log->first, "%s", result_json);
  log->calls++;
  return log->stop_after > 0 && log->calls >= log->stop_after;
}

static void test_pay_many(daji_client *client) {
  char *json = NULL;
  /* One bad id: nothing is sent, and the message names its position. */
  const char *bad[] = {"2257164624870315001", "9000000000000000501", "9003000000000000501",
                       "12a"};
  CHECK(daji_client_pay_many(client, bad, 4, 2, NULL, NULL, &json) == DAJI_INVALID_ARGUMENT,
        "bad id");
  CHECK(strstr(last_error().message, "orderIds[3] \"12a\"") != NULL, "%s", last_error().message);
  CHECK(json == NULL, "no output on failure");
  CHECK(daji_client_pay_many(client, bad, 1, 65, NULL, NULL, &json) == DAJI_INVALID_ARGUMENT,
        "concurrency 65");
  CHECK(daji_client_pay_many(client, bad, 1, 2, NULL, NULL, NULL) == DAJI_INVALID_ARGUMENT,
        "NULL out");

  /* Each order's outcome, in input order; the repeat paid once; progress once per order, on
   * this thread. */
  const char *ids[] = {"2257164624870315001", "9000000000000000501", "9003000000000000501",
                       "2257164624870315001", "2257164624870315002"};
  struct progress_log log = {.caller = pthread_self()};
  daji_status status = daji_client_pay_many(client, ids, 5, 3, on_progress, &log, &json);
  CHECK(status == DAJI_OK, "pay_many: %s", last_error().message);
  CHECK(log.calls == 4, "%d progress calls", log.calls);
  CHECK(log.on_other_threads == 0, "%d calls on other threads", log.on_other_threads);
  CHECK(strncmp(log.first, "{\"order_id\":", 12) == 0, "%s", log.first);
  if (json != NULL) {
    const char *a = strstr(json, "{\"order_id\":\"2257164624870315001\",\"outcome\":\"paid\"");
    const char *b = strstr(json, "{\"order_id\":\"9000000000000000501\",\"outcome\":\"declined\"");
    const char *c = strstr(json, "{\"order_id\":\"9003000000000000501\",\"outcome\":\"unknown\"");
    const char *d = strstr(json, "{\"order_id\":\"2257164624870315002\",\"outcome\":\"paid\"");
    CHECK(a && b && c && d && a < b && b < c && c < d, "input order: %s", json);
    CHECK(strstr(json, "\"code\":\"payment_outcome_unknown\"") != NULL, "%s", json);
    /* An error object carries daji_error_info's names: status (the number) and trace_id. */
    CHECK(strstr(json, "\"status\":9,") != NULL && strstr(json, "\"traceId\"") == NULL &&
              strstr(json, "\"trace_id\"") != NULL,
          "%s", json);
    CHECK(strstr(json, "\"summary\":{\"paid\":2,\"declined\":1,\"unknown\":1,"
                       "\"in_progress\":0,\"not_payable\":0,\"failed\":0}") != NULL,
          "%s", json);
  }
  daji_string_free(json);
  json = NULL;
  /* Without a callback, the same JSON; the journal replays the paid order. */
  CHECK(daji_client_pay_many(client, ids, 1, 0, NULL, NULL, &json) == DAJI_OK, "%s",
        last_error().message);
  CHECK(json && strstr(json, "\"replayed\":true") != NULL, "%s", json ? json : "");
  daji_string_free(json);

  /* max_calls_per_second: a field at the end of the options, 0 for no fixed limit. */
  daji_client_options options = sandbox_options(env("DAJISAAS_APP_SECRET"));
  CHECK(options.max_calls_per_second == 0, "default %u", options.max_calls_per_second);
  options.max_calls_per_second = 10001;
  daji_client *made = NULL;
  CHECK(daji_client_new(&options, &made) == DAJI_INVALID_ARGUMENT, "10001 calls a second");
  CHECK(strstr(last_error().message, "max_calls_per_second must be") != NULL, "%s",
        last_error().message);
  options.max_calls_per_second = 40;
  made = must_create(&options);
  char *config = config_json(made);
  CHECK(json_number(config, "max_calls_per_second") == 40, "%s", config);
  daji_string_free(config);
  daji_client_free(made);
  config = config_json(client);
  CHECK(config && strstr(config, "\"max_calls_per_second\":null") != NULL, "%s", config);
  daji_string_free(config);
}

/* A program compiled against an older header, before max_concurrent_batches: it passes its own,
 * smaller size, and the client takes the library's default for the option it does not know. */
static void test_smaller_struct(void) {
  daji_client_options full = sandbox_options(env("DAJISAAS_APP_SECRET"));
  daji_client *reference = must_create(&full);

  const size_t old_size = offsetof(daji_client_options, max_concurrent_batches);
  daji_client_options old;
  memset(&old, 0xAB, sizeof old);
  CHECK(daji_client_options_init(&old, old_size) == DAJI_OK, "init old: %s",
        last_error().message);
  CHECK(old.struct_size == old_size, "struct_size %u", old.struct_size);
  CHECK(old.max_concurrent_batches == 0xABABABABu, "init wrote past the size it was given");
  CHECK(old.timeout_ms == full.timeout_ms && old.max_retries == full.max_retries,
        "the same defaults");
  old.app_key = full.app_key;
  old.app_secret = full.app_secret;
  old.base_url = full.base_url;
  old.backoff_base_ms = full.backoff_base_ms;
  old.backoff_cap_ms = full.backoff_cap_ms;
  daji_client *client = NULL;
  CHECK(daji_client_new(&old, &client) == DAJI_OK, "old struct: %s", last_error().message);
  if (client == NULL) {
    daji_client_free(reference);
    return;
  }

  /* The left-out option took the library's default: the one daji_client_options_init wrote. */
  char *got = config_json(client), *want = config_json(reference);
  CHECK(json_number(got, "max_concurrent_batches") == (long long)full.max_concurrent_batches,
        "%s", got);
  CHECK(got && want && strcmp(got, want) == 0, "%s\nvs %s", got, want);
  CHECK(json_number(got, "timeout_ms") == (long long)full.timeout_ms, "%s", got);
  daji_string_free(got);
  daji_string_free(want);

  /* And it works. */
  const char *ids[] = {"3000", "3001", "3002"};
  char *links = NULL;
  daji_status status = daji_client_pay_urls(client, ids, 3, 1, &links);
  CHECK(status == DAJI_OK && links != NULL && strstr(links, "orderId=3002") != NULL, "%s",
        links ? links : last_error().message);
  daji_string_free(links);
  daji_client_free(client);
  daji_client_free(reference);
}

static void test_request(daji_client *client) {
  char *data = NULL;
  daji_status status = daji_client_request(
      client, "POST", "/alibaba/order/preview",
      "{\"cargo\":[{\"offerId\":2257455039610311973}],\"memo\":\"\xe5\xa4\x87\"}", &data);
  CHECK(status == DAJI_OK && strstr(data, "\"offerId\":2257455039610311973") != NULL, "%s",
        data ? data : last_error().message);
  daji_string_free(data);
  data = NULL;
  status = daji_client_request(client, "GET", "/alibaba/product/search", NULL, &data);
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
    if (daji_client_pay_url(work->client, ids, 1, &url, NULL) != DAJI_OK ||
        strstr(url, id) == NULL) {
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

/* ---- Calls while a thread or the process exits ---- */

/* What the calls made during an exit reported. */
struct exit_calls {
  daji_status link, link_info, invalid, invalid_info, failed, free_status;
  uint32_t failed_attempts;
  uint16_t failed_http_status;
  int url_ok, message_ok;
  daji_status created;
};

/* A real link, a call rejected before sending, and one the sandbox fails with HTTP 500 (4
 * attempts): the status and the numbers of the last error must be exact. */
static void exit_time_calls(const daji_client *client, struct exit_calls *r) {
  const char *ids[] = {"2257455039610311990"};
  char *url = NULL;
  r->link = daji_client_pay_url(client, ids, 1, &url, NULL);
  r->link_info = daji_error_info_last(NULL);
  r->url_ok = url != NULL && strstr(url, "orderId=2257455039610311990") != NULL;
  daji_string_free(url);

  const char *bad[] = {"12a"};
  r->invalid = daji_client_pay_url(client, bad, 1, &url, NULL);
  daji_error_info info;
  r->invalid_info = daji_error_info_last(&info);
  /* The fixed message shows that the thread's storage was indeed gone: the call was made
   * where it used to abort the process. */
  r->message_ok = info.status == DAJI_INVALID_ARGUMENT && info.message != NULL &&
                  strstr(info.message, "after the thread's storage was freed") != NULL &&
                  info.trace_id == NULL;

  const char *failing[] = {"9003000000000000077"};
  r->failed = daji_client_pay_url(client, failing, 1, &url, NULL);
  daji_error_info_last(&info);
  r->failed_attempts = info.attempts;
  r->failed_http_status = info.http_status;
}

static int check_exit_calls(const char *where, const struct exit_calls *r) {
  int before = failed;
  CHECK(r->link == DAJI_OK && r->url_ok, "%s: pay_url: %s", where, daji_status_name(r->link));
  CHECK(r->link_info == DAJI_OK, "%s: last error after a success: %s", where,
        daji_status_name(r->link_info));
  CHECK(r->invalid == DAJI_INVALID_ARGUMENT && r->invalid_info == DAJI_INVALID_ARGUMENT &&
            r->message_ok,
        "%s: invalid id: %s, last error %s", where, daji_status_name(r->invalid),
        daji_status_name(r->invalid_info));
  CHECK(r->failed == DAJI_HTTP_STATUS && r->failed_attempts == 4 && r->failed_http_status == 500,
        "%s: HTTP 500: %s, %u attempts, http_status %u", where, daji_status_name(r->failed),
        r->failed_attempts, r->failed_http_status);
  CHECK(r->created == DAJI_OK, "%s: daji_client_new: %s", where, daji_status_name(r->created));
  return failed - before;
}

/* A thread that used the library exits; its pthread_key destructor runs after the thread's
 * Rust thread-locals were destroyed. */
struct exiting_thread {
  daji_client *client;
  struct exit_calls calls;
};

static pthread_key_t exit_key;

static void exit_key_destructor(void *arg) {
  struct exiting_thread *t = arg;
  exit_time_calls(t->client, &t->calls);
  daji_client_free(t->client);
  /* A client made and freed during the exit. */
  daji_client_options options = sandbox_options(env("DAJISAAS_APP_SECRET"));
  daji_client *client = NULL;
  t->calls.created = daji_client_new(&options, &client);
  daji_client_free(client);
}

static void *exiting_thread_main(void *arg) {
  struct exiting_thread *t = arg;
  t->client = new_client(env("DAJISAAS_APP_SECRET"), 5000);
  const char *ids[] = {"2257455039610311991"};
  char *url = NULL;
  if (daji_client_pay_url(t->client, ids, 1, &url, NULL) != DAJI_OK) return NULL;
  daji_string_free(url);
  daji_status bad = daji_client_prepare_pay(t->client, NULL, NULL);
  (void)bad; /* leaves a last error (with a message) behind in the thread's storage */
  pthread_setspecific(exit_key, t);
  return NULL;
}

static void test_thread_exit(void) {
  struct exiting_thread t;
  memset(&t, 0, sizeof t);
  t.calls.link = t.calls.created = DAJI_INTERNAL;
  CHECK(pthread_key_create(&exit_key, exit_key_destructor) == 0, "pthread_key_create");
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, exiting_thread_main, &t) == 0, "pthread_create");
  pthread_join(thread, NULL);
  pthread_key_delete(exit_key);
  check_exit_calls("pthread_key destructor", &t.calls);
}

/* The process exits: the atexit handler runs after the main thread's Rust thread-locals were
 * destroyed. It frees the last client, which stops the library's I/O threads, then makes and
 * frees another. */
static daji_client *exit_client;

static void at_exit(void) {
  struct exit_calls calls;
  memset(&calls, 0, sizeof calls);
  exit_time_calls(exit_client, &calls);
  daji_client_free(exit_client);
  /* The library's I/O threads started again, and stopped, during the exit. */
  daji_client_options options = sandbox_options(env("DAJISAAS_APP_SECRET"));
  daji_client *client = NULL;
  calls.created = daji_client_new(&options, &client);
  daji_client_free(client);
  int failures = check_exit_calls("atexit handler", &calls);
  printf("atexit handler: %s\n", failures == 0 ? "every call worked" : "FAILED");
  fflush(stdout);
  if (failures != 0) _exit(1);
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
  if (argc != 3) {
    fprintf(stderr, "usage: %s tests/vectors/sign.tsv OUTCOMES_TSV | --bad-arguments-only\n",
            argv[0]);
    return 2;
  }
  exit_client = new_client(env("DAJISAAS_APP_SECRET"), 5000);
  atexit(at_exit);
  daji_client *client = new_client(env("DAJISAAS_APP_SECRET"), 5000);
  test_vectors(argv[1]);
  test_names_and_version();
  test_links(client);
  test_outcomes(argv[2]);
  test_gateway_word();
  test_error_fields();
  test_bad_arguments(client);
  test_smaller_struct();
  test_request(client);
  test_pay_many(client);
  test_threads(client);
  test_thread_exit();
  daji_client_free(client);
  printf("%d passed, %d failed\n", passed, failed);
  fflush(stdout);
  return failed == 0 ? 0 : 1;
}
