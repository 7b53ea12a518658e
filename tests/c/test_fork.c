/*
 * fork(): a client made before fork() works in the children, the shape of prefork servers.
 *
 * 1. A client is made (and used: the library's I/O threads run, a connection is pooled), then 4
 *    children are forked. Each gets a link and pays an order of its own with the inherited
 *    client, makes, uses and frees a client of its own, uses the inherited one again and frees
 *    it too.
 * 2. The parent holds a client it used, and 4 children make, use and free clients of their own
 *    only, twice (the child's I/O threads stop with its last client and start again).
 * 3. Issue 20 (f), as core/tests/fork.rs and bindings-python/tests/test_fork.py: 4 threads of
 *    the parent call the journal in a loop (the memory journal, then SQLite) while the parent
 *    forks 20 times; each child reads an order's record with the inherited client, which must
 *    answer within the journal's deadline plus slack (a record, or at worst DAJI_JOURNAL at the
 *    deadline), never wait on a lock a parent thread held. Before issue 20, 9 of 10 children
 *    hung. Left out of AddressSanitizer builds: clang 14's ASan (Debian 12's) does not lock its
 *    allocator around fork(), so a child forked while a parent thread allocates can wait forever
 *    inside malloc, whatever the library does (later compiler-rt installs an atfork handler).
 *
 * Every call must answer within the client's timeout (one attempt: max_retries 0) plus slack;
 * the failure guarded against is a child waiting forever on the parent's threads. The parent
 * waits for its children with a deadline and kills them when it passes, so a hang fails the
 * test instead of stalling the run; each child also has an alarm(), in case the parent dies.
 * Children leave with _exit(): the parent's inherited runtime is deliberately never freed in a
 * child, and a leak checker running at exit() would report it.
 *
 * Usage: test_fork, with DAJISAAS_BASE_URL, DAJISAAS_APP_KEY and DAJISAAS_APP_SECRET set
 * (scripts/with-sandbox.sh does that). The sandbox receives exactly 31 requests: 3 from the
 * parent, 4 from each child of scenario 1 and 3 from each of scenario 2; scenario 3 calls only
 * the journal (tests/c/run.sh checks it, and that no order was deducted twice). Not run under valgrind, which would follow the children and count
 * the parent's runtime that they leave untouched as lost.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dajisaas.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

#define CHILDREN 4
#define TIMEOUT_MS 2000
/* Scheduling slack on a shared, loaded machine: far below "forever", the failure tested. */
#define SLACK_MS 1500
/* How long the parent waits for all the children of one scenario. */
#define DEADLINE_S 60
/* Scenario 3: the journal's deadline, the busy threads, the forks, and how long the parent
 * waits for each child before calling it a hang. */
#define JOURNAL_TIMEOUT_MS 2000
#define BUSY_THREADS 4
#define ROUNDS 20
#define ROUND_DEADLINE_S 30

static int failed;

#define CHECK(cond, ...)                                                      \
  do {                                                                        \
    if (!(cond)) {                                                            \
      failed++;                                                               \
      fprintf(stderr, "FAIL %s:%d [pid %ld]: %s: ", __FILE__, __LINE__,       \
              (long)getpid(), #cond);                                         \
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

static const char *last_message(void) {
  daji_error_info info;
  daji_error_info_last(&info);
  return info.message;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* A client of the sandbox with the payment journal `journal` (NULL: the default), or NULL
 * (reported). */
static daji_client *new_client_with(const char *journal) {
  daji_client_options options;
  if (daji_client_options_init(&options, sizeof options) != DAJI_OK) return NULL;
  options.app_key = env("DAJISAAS_APP_KEY");
  options.app_secret = env("DAJISAAS_APP_SECRET");
  options.base_url = env("DAJISAAS_BASE_URL");
  options.timeout_ms = TIMEOUT_MS;
  options.max_retries = 0;
  options.journal = journal;
  options.journal_timeout_ms = JOURNAL_TIMEOUT_MS;
  daji_client *client = NULL;
  daji_status status = daji_client_new(&options, &client);
  CHECK(status == DAJI_OK, "daji_client_new: %s: %s", daji_status_name(status), last_message());
  return status == DAJI_OK ? client : NULL;
}

static daji_client *new_client(void) { return new_client_with(NULL); }

/* A link for `order_id`, within the timeout. */
static void link_in_time(const daji_client *client, const char *order_id) {
  const char *ids[] = {order_id};
  char *url = NULL;
  double started = now_ms();
  daji_status status = daji_client_pay_url(client, ids, 1, &url, NULL);
  double took = now_ms() - started;
  CHECK(status == DAJI_OK && url != NULL && strstr(url, order_id) != NULL,
        "pay_url %s: %s: %s", order_id, daji_status_name(status), last_message());
  CHECK(took < TIMEOUT_MS + SLACK_MS, "pay_url %s took %.0f ms", order_id, took);
  daji_string_free(url);
}

/* A payment of `order_id`, sent once (not replayed), within the timeout. */
static void pay_in_time(const daji_client *client, const char *order_id) {
  char *json = NULL;
  double started = now_ms();
  daji_status status = daji_client_prepare_pay(client, order_id, &json);
  double took = now_ms() - started;
  CHECK(status == DAJI_OK && json != NULL, "prepare_pay %s: %s: %s", order_id,
        daji_status_name(status), last_message());
  if (json != NULL) {
    char want[64];
    snprintf(want, sizeof want, "\"order_id\":\"%s\"", order_id);
    CHECK(strstr(json, want) != NULL && strstr(json, "\"attempts\":1") != NULL &&
              strstr(json, "\"replayed\":false") != NULL,
          "prepare_pay %s: %s", order_id, json);
  }
  CHECK(took < TIMEOUT_MS + SLACK_MS, "prepare_pay %s took %.0f ms", order_id, took);
  daji_string_free(json);
}

static void free_in_time(daji_client *client, const char *what) {
  double started = now_ms();
  daji_client_free(client);
  double took = now_ms() - started;
  CHECK(took < TIMEOUT_MS + SLACK_MS, "daji_client_free(%s) took %.0f ms", what, took);
}

static void id(char *buf, size_t size, unsigned long long base, int n) {
  snprintf(buf, size, "%llu", base + (unsigned long long)n);
}

/* Scenario 1, in child n: 2 links and 2 payments; 4 requests. */
static void child_with_inherited(daji_client *inherited, int n) {
  char link[24], pay[24], own_pay[24], again[24];
  id(link, sizeof link, 2257455039610500000ULL, n);
  id(pay, sizeof pay, 2257164624870500000ULL, n);
  id(own_pay, sizeof own_pay, 2257164624870510000ULL, n);
  id(again, sizeof again, 2257455039610510000ULL, n);
  link_in_time(inherited, link);
  pay_in_time(inherited, pay);
  daji_client *own = new_client();
  if (own != NULL) {
    pay_in_time(own, own_pay);
    free_in_time(own, "the child's own client");
  }
  link_in_time(inherited, again);
  free_in_time(inherited, "the inherited client");
}

/* Scenario 2, in child n: a client of its own, freed, then another; 3 requests. */
static void child_with_own(int n) {
  char link[24], pay[24], again[24];
  id(link, sizeof link, 2257455039610520000ULL, n);
  id(pay, sizeof pay, 2257164624870520000ULL, n);
  id(again, sizeof again, 2257455039610530000ULL, n);
  daji_client *own = new_client();
  if (own != NULL) {
    link_in_time(own, link);
    pay_in_time(own, pay);
    free_in_time(own, "the child's client");
  }
  own = new_client();
  if (own != NULL) {
    link_in_time(own, again);
    free_in_time(own, "the child's second client");
  }
}

/* Forks CHILDREN children running `scenario` (1 or 2) and waits for them with a deadline. */
static void run_children(int scenario, daji_client *inherited) {
  pid_t pids[CHILDREN];
  int done[CHILDREN] = {0};
  fflush(stdout);
  fflush(stderr);
  for (int n = 0; n < CHILDREN; n++) {
    pid_t pid = fork();
    if (pid == 0) {
      alarm(DEADLINE_S + 10);
      failed = 0;
      if (scenario == 1) {
        child_with_inherited(inherited, n);
      } else {
        child_with_own(n);
      }
      fflush(stderr);
      _exit(failed == 0 ? 0 : 1);
    }
    CHECK(pid > 0, "fork: %s", strerror(errno));
    pids[n] = pid;
    done[n] = pid < 0;
  }
  double deadline = now_ms() + DEADLINE_S * 1e3;
  int left = 0;
  for (int n = 0; n < CHILDREN; n++) left += !done[n];
  while (left > 0) {
    for (int n = 0; n < CHILDREN; n++) {
      if (done[n]) continue;
      int status = 0;
      pid_t got = waitpid(pids[n], &status, WNOHANG);
      if (got == pids[n]) {
        done[n] = 1;
        left--;
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "scenario %d, child %d: %s %d", scenario, n,
              WIFEXITED(status) ? "exit status" : "killed by signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
      }
    }
    if (left > 0 && now_ms() > deadline) {
      for (int n = 0; n < CHILDREN; n++) {
        if (!done[n]) {
          CHECK(0, "scenario %d, child %d hung: no exit within %d s", scenario, n, DEADLINE_S);
          kill(pids[n], SIGKILL);
          waitpid(pids[n], NULL, 0);
          done[n] = 1;
        }
      }
      left = 0;
    }
    if (left > 0) {
      struct timespec pause = {0, 20 * 1000 * 1000};
      nanosleep(&pause, NULL);
    }
  }
}

#ifndef ASAN
/* Scenario 3. */
#define BUSY_ORDER "2257164624870590555"

struct busy {
  const daji_client *client;
  atomic_int *stop;
};

/* A parent thread inside journal calls, one after the other, until told to stop. */
static void *busy_in_journal(void *arg) {
  struct busy *busy = arg;
  while (!atomic_load(busy->stop)) {
    char *json = NULL;
    if (daji_client_payment_records(busy->client, NULL, &json) == DAJI_OK) daji_string_free(json);
    json = NULL;
    if (daji_client_payment_record(busy->client, BUSY_ORDER, &json) == DAJI_OK) daji_string_free(json);
  }
  return NULL;
}

/* In a child: the inherited client reads the order's record within the deadline; the exit
 * status says whether it did. */
static int child_reads_record(const daji_client *client, int memory) {
  char *json = NULL;
  double started = now_ms();
  daji_status status = daji_client_payment_record(client, BUSY_ORDER, &json);
  double took = now_ms() - started;
  /* Memory: a copy of the parent's records (its threads only read them). SQLite: the shared
   * file, or DAJI_JOURNAL at the deadline if SQLite's own process-wide locks were held by a
   * parent thread at the fork. */
  int answered = status == DAJI_OK ? json != NULL && strstr(json, "\"state\":\"paid\"") != NULL
                                   : !memory && status == DAJI_JOURNAL;
  CHECK(answered, "payment_record in the child: %s: %s", daji_status_name(status),
        json != NULL ? json : last_message());
  CHECK(took < JOURNAL_TIMEOUT_MS + SLACK_MS, "payment_record in the child took %.0f ms", took);
  daji_string_free(json);
  return failed == 0 ? 0 : 1;
}

/* Forks ROUNDS children while BUSY_THREADS threads are inside calls to `journal`. */
static void fork_while_busy(const char *journal, int memory) {
  daji_client *client = new_client_with(journal);
  if (client == NULL) return;
  daji_status status = daji_client_resolve_payment(client, BUSY_ORDER, 1, "recorded before the forks", NULL);
  CHECK(status == DAJI_OK, "resolve_payment: %s: %s", daji_status_name(status), last_message());
  atomic_int stop = 0;
  struct busy busy = {client, &stop};
  pthread_t threads[BUSY_THREADS];
  for (int t = 0; t < BUSY_THREADS; t++) {
    CHECK(pthread_create(&threads[t], NULL, busy_in_journal, &busy) == 0, "pthread_create");
  }
  for (int round = 0; round < ROUNDS; round++) {
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
      alarm(ROUND_DEADLINE_S + 10);
      failed = 0;
      int code = child_reads_record(client, memory);
      fflush(stderr);
      _exit(code);
    }
    CHECK(pid > 0, "fork: %s", strerror(errno));
    if (pid < 0) break;
    double deadline = now_ms() + ROUND_DEADLINE_S * 1e3;
    int child_status = 0;
    pid_t got;
    while ((got = waitpid(pid, &child_status, WNOHANG)) == 0 && now_ms() < deadline) {
      struct timespec tick = {0, 10 * 1000 * 1000};
      nanosleep(&tick, NULL);
    }
    if (got != pid) {
      CHECK(0, "%s: round %d: the child hung after fork (no exit within %d s)", journal, round,
            ROUND_DEADLINE_S);
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      continue;
    }
    CHECK(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0,
          "%s: round %d: the child's journal call failed or was late (%s %d)", journal, round,
          WIFEXITED(child_status) ? "exit status" : "killed by signal",
          WIFEXITED(child_status) ? WEXITSTATUS(child_status) : WTERMSIG(child_status));
  }
  atomic_store(&stop, 1);
  for (int t = 0; t < BUSY_THREADS; t++) pthread_join(threads[t], NULL);
  daji_client_free(client);
}

/* Scenario 3 with the memory journal, then with a SQLite file in a scratch directory. */
static void run_busy_forks(void) {
  fork_while_busy("memory:c-fork-busy", 1);
  char dir[] = "/tmp/dajisaas-c-fork-XXXXXX";
  if (mkdtemp(dir) == NULL) {
    CHECK(0, "mkdtemp: %s", strerror(errno));
    return;
  }
  char journal[128];
  snprintf(journal, sizeof journal, "sqlite://%s/journal.db", dir);
  fork_while_busy(journal, 0);
  const char *files[] = {"journal.db", "journal.db-wal", "journal.db-shm"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char file[128];
    snprintf(file, sizeof file, "%s/%s", dir, files[i]);
    unlink(file);
  }
  rmdir(dir);
}
#endif

int main(void) {
  daji_client *client = new_client();
  if (client == NULL) return 2;
  /* The I/O threads run and a connection is pooled before the fork. */
  link_in_time(client, "2257455039610599999");

  run_children(1, client);
  link_in_time(client, "2257455039610599998");
  run_children(2, client);
  /* The parent's client is untouched by its children, and is freed normally here. */
  pay_in_time(client, "2257164624870599999");
  daji_client_free(client);

#ifdef ASAN
  printf("fork: %d children x 2 scenarios (not the forks while threads are inside journal calls: "
         "ASan's allocator is not fork-safe): %s\n", CHILDREN,
         failed == 0 ? "every call answered in time" : "FAILED");
#else
  run_busy_forks();
  printf("fork: %d children x 2 scenarios, then %d forks while %d threads are inside journal "
         "calls x 2 journals: %s\n", CHILDREN, ROUNDS, BUSY_THREADS,
         failed == 0 ? "every call answered in time" : "FAILED");
#endif
  return failed == 0 ? 0 : 1;
}
