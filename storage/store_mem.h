/* In-memory store: the test double and the crash simulator (SQLite
 * test6.c). Everything staged since the last sync() is lost by
 * store_mem_crash(), exactly as a power cut would lose it. */

#ifndef SEQ_STORAGE_STORE_MEM_H
#define SEQ_STORAGE_STORE_MEM_H

#include "store.h"

/* Returns 0 or SEQ_ENOMEM; *out owns the store (store_close). */
int store_mem_open(struct store **out);

/* Forget everything not yet synced. The store stays usable, as a store
 * reopened after a crash would be. */
void store_mem_crash(struct store *s);

/* The safety state as of the last sync (what a crash would leave), for the
 * simulator's (S1) check. SEQ_ENOTFOUND when none was synced. */
int store_mem_synced_safety(struct store *s, struct hs_safety *out);

/* Fail every sync() from now on with SEQ_EIO (disk failure tests). */
void store_mem_fail_syncs(struct store *s, bool fail);

#endif /* SEQ_STORAGE_STORE_MEM_H */
