/* The classic daemon: the client is made and used, then main blocks SIGTERM and one thread
 * waits for it with sigwait while another keeps paying. 20 SIGTERMs are sent to the process,
 * one at a time: each must reach sigwait. A library thread that did not block SIGTERM would take
 * one and the process would end (the default action). The journal is SQLite, so that the
 * library's blocking-pool threads exist too. Run against a sandbox (scripts/with-sandbox.sh). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#define SIGNALS 20

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int received; /* SIGTERMs sigwait returned */
static int stop;     /* tells the paying thread to stop */
static daji_client *client;

static void *wait_for_signals(void *arg) {
  const sigset_t *set = arg;
  for (;;) {
    int signal_number = 0;
    if (sigwait(set, &signal_number) != 0) continue;
    pthread_mutex_lock(&lock);
    received++;
    pthread_cond_broadcast(&changed);
    int done = received == SIGNALS;
    pthread_mutex_unlock(&lock);
    if (done) return NULL;
  }
}

/* Keeps the library's I/O threads busy while the signals arrive. */
static void *keep_paying(void *arg) {
  (void)arg;
  char id[32];
  for (unsigned n = 0;; n++) {
    pthread_mutex_lock(&lock);
    int done = stop;
    pthread_mutex_unlock(&lock);
    if (done) return NULL;
    snprintf(id, sizeof id, "22574550396%08u", n);
    const char *ids[] = {id};
    char *url = NULL;
    if (daji_client_pay_url(client, ids, 1, &url, NULL) == DAJI_OK) daji_string_free(url);
    daji_client_prepare_pay(client, id, NULL);
  }
}

int main(void) {
  char dir[] = "/tmp/daji-signals-XXXXXX";
  if (mkdtemp(dir) == NULL) return 2;
  char journal[128];
  snprintf(journal, sizeof journal, "sqlite://%s/journal.db", dir);
  daji_client_options options = sandbox_options(env("DAJISAAS_APP_SECRET"));
  options.journal = journal;
  if (daji_client_new(&options, &client) != DAJI_OK) return 2;
  /* The library's threads are running before the program blocks anything. */
  if (daji_client_prepare_pay(client, "2257455039610319001", NULL) != DAJI_OK) {
    fprintf(stderr, "first payment failed\n");
    return 1;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pthread_t waiter, payer;
  pthread_create(&waiter, NULL, wait_for_signals, &set);
  pthread_create(&payer, NULL, keep_paying, NULL);

  int timed_out = 0;
  for (int i = 1; i <= SIGNALS && !timed_out; i++) {
    kill(getpid(), SIGTERM);
    /* A hang bound only: sigwait answers within microseconds. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&lock);
    while (received < i && !timed_out) {
      if (pthread_cond_timedwait(&changed, &lock, &deadline) == ETIMEDOUT) timed_out = 1;
    }
    pthread_mutex_unlock(&lock);
    CHECK(!timed_out, "SIGTERM %d did not reach sigwait in 30 s", i);
  }
  pthread_mutex_lock(&lock);
  stop = 1;
  pthread_mutex_unlock(&lock);
  pthread_join(payer, NULL);
  if (!timed_out) pthread_join(waiter, NULL);
  daji_client_free(client);
  char path[160];
  snprintf(path, sizeof path, "%s/journal.db", dir);
  unlink(path);
  rmdir(dir);
  CHECK(received == SIGNALS, "%d of %d SIGTERMs reached sigwait", received, SIGNALS);
  printf("%d of %d SIGTERMs reached sigwait; the process lived on (%d passed, %d failed)\n", received,
         SIGNALS, passed, failed);
  return failed != 0;
}
