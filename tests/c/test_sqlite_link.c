/* The static library in a program that also links the system's SQLite (-lsqlite3): both work,
 * and SQLite calls reach the system's library, not the copy compiled into libdajisaas.a (whose
 * symbols are local to it). The client keeps its journal in SQLite; the system's SQLite then
 * reads the same file. Run against a sandbox (scripts/with-sandbox.sh). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "support.h"

static int count_rows(void *user_data, int columns, char **values, char **names) {
  (void)columns;
  (void)names;
  *(int *)user_data = atoi(values[0]);
  return 0;
}

int main(void) {
  /* The system's SQLite: its header and its code agree. */
  CHECK(sqlite3_libversion_number() == SQLITE_VERSION_NUMBER, "sqlite3_libversion %s, header %s",
        sqlite3_libversion(), SQLITE_VERSION);
  CHECK(strcmp(sqlite3_sourceid(), SQLITE_SOURCE_ID) == 0, "source id %s", sqlite3_sourceid());

  char dir[] = "/tmp/daji-sqlite-XXXXXX";
  if (mkdtemp(dir) == NULL) return 2;
  char path[128], journal[160];
  snprintf(path, sizeof path, "%s/journal.db", dir);
  snprintf(journal, sizeof journal, "sqlite://%s", path);

  daji_client_options options = sandbox_options(env("DAJISAAS_APP_SECRET"));
  options.journal = journal;
  daji_client *client = NULL;
  CHECK(daji_client_new(&options, &client) == DAJI_OK, "client");
  CHECK(daji_client_prepare_pay(client, "2257455039610318001", NULL) == DAJI_OK, "payment");
  char *record = NULL;
  CHECK(daji_client_payment_record(client, "2257455039610318001", &record) == DAJI_OK &&
            record != NULL && strstr(record, "\"state\":\"paid\"") != NULL,
        "record %s", record ? record : "(NULL)");
  daji_string_free(record);
  daji_client_free(client);

  /* The system's SQLite opens the journal the library's SQLite wrote. */
  sqlite3 *db = NULL;
  int tables = 0;
  CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open");
  CHECK(sqlite3_exec(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", count_rows,
                     &tables, NULL) == SQLITE_OK &&
            tables > 0,
        "%d tables: %s", tables, sqlite3_errmsg(db));
  sqlite3_close(db);
  unlink(path);
  char side[160];
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
  rmdir(dir);
  printf("static library with the system's SQLite %s: %s\n", sqlite3_libversion(),
         failed == 0 ? "both work" : "FAILED");
  return failed != 0;
}
