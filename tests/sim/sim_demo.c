/* seq-sim-demo: watch the consensus core run. A few validators on the
 * simulated network, in virtual time, with optional message loss; each
 * commit is printed as one replica sees it, and at the end every replica's
 * log is compared. The simulator checks its invariants after every event,
 * so the exit status says whether any broke (0: none).
 *
 *   seq-sim-demo [--nodes N] [--seed S] [--seconds T] [--drop P]
 *                [--dup P] [--latency MIN,MAX] [--verbose] */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq_hex.h"
#include "sim.h"

struct demo {
    uint32_t watch; /* The replica whose commits are printed. */
    uint64_t printed;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: seq-sim-demo [--nodes N] [--seed S] [--seconds T] "
            "[--drop PERCENT]\n"
            "                    [--dup PERCENT] [--latency MIN,MAX] "
            "[--verbose]\n"
            "Runs N validators (default 4) of the consensus core on a "
            "simulated network\n"
            "for T seconds of virtual time (default 30) and prints the "
            "commits of replica 0.\n");
}

static int parse_u64(const char *arg, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (arg == NULL || *arg == '\0' || *arg == '-') {
        return -1;
    }
    errno = 0;
    v = strtoull(arg, &end, 0);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_range(const char *arg, struct sim_range *out)
{
    char buf[64];
    char *comma;

    if (arg == NULL || strlen(arg) >= sizeof buf) {
        return -1;
    }
    strcpy(buf, arg);
    comma = strchr(buf, ',');
    if (comma == NULL) {
        return -1;
    }
    *comma = '\0';
    if (parse_u64(buf, &out->min) != 0 || parse_u64(comma + 1, &out->max) ||
        out->min > out->max) {
        return -1;
    }
    return 0;
}

static void on_commit(void *arg,
                      struct sim *sim,
                      uint32_t replica,
                      const struct hs_block *block)
{
    struct demo *demo = arg;
    char id[17];

    if (replica != demo->watch) {
        return;
    }
    seq_hex_encode(block->id.bytes, 8, id);
    printf(
        "t=%7.3fs  height %-5llu round %-5llu block %s  author %u  "
        "payload %zu B\n",
        (double)sim_now(sim) / 1000.0, (unsigned long long)block->height,
        (unsigned long long)block->round, id, block->author,
        block->payload_len);
    demo->printed++;
}

static int parse_args(int argc,
                      char **argv,
                      struct sim_config *config,
                      uint64_t *seconds)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t v = 0;
        int rv = 0;

        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(opt, "--verbose") == 0) {
            config->verbose = true;
            continue;
        } else if (strcmp(opt, "--latency") == 0) {
            rv = parse_range(val, &config->latency_ms);
        } else if (parse_u64(val, &v) != 0) {
            rv = -1;
        } else if (strcmp(opt, "--nodes") == 0) {
            rv = v >= 1 && v <= HS_MAX_VALIDATORS ? 0 : -1;
            config->n_nodes = (uint32_t)v;
        } else if (strcmp(opt, "--seed") == 0) {
            config->seed = v;
        } else if (strcmp(opt, "--seconds") == 0) {
            *seconds = v;
        } else if (strcmp(opt, "--drop") == 0) {
            rv = v <= 100 ? 0 : -1;
            config->drop_percent = (unsigned)v;
        } else if (strcmp(opt, "--dup") == 0) {
            rv = v <= 100 ? 0 : -1;
            config->dup_percent = (unsigned)v;
        } else {
            rv = -1;
        }
        if (rv != 0) {
            fprintf(stderr, "seq-sim-demo: bad option or value: %s %s\n", opt,
                    val != NULL ? val : "");
            usage(stderr);
            return -1;
        }
        i++;
    }
    return 0;
}

/* Every replica's log must be a prefix of the agreed one (S4 already
 * guarantees it; this is what the operator would look at). */
static void summary(struct sim *sim)
{
    struct sim_stats stats;
    struct seq_hash hash;
    char hex[SEQ_HASH_LEN * 2 + 1];
    uint32_t i;

    sim_stats(sim, &stats);
    sim_trace_hash(sim, &hash);
    seq_hex_encode(hash.bytes, SEQ_HASH_LEN, hex);
    printf("\n--- after %.3f s of virtual time, %llu events\n",
           (double)sim_now(sim) / 1000.0, (unsigned long long)stats.events);
    for (i = 0; i < sim_n_replicas(sim); i++) {
        struct seq_hash id;
        hs_height_t h = sim_committed_height(sim, i);
        char idhex[17] = "-";

        if (h > 0 && sim_committed_id(sim, h, &id)) {
            seq_hex_encode(id.bytes, 8, idhex);
        }
        printf("replica %u: committed height %-5llu tip %s%s\n", i,
               (unsigned long long)h, idhex,
               sim_is_alive(sim, i) ? "" : " (down)");
    }
    printf(
        "messages: %llu sent, %llu delivered, %llu dropped, %llu "
        "duplicated; %llu timer firings\n",
        (unsigned long long)stats.sent, (unsigned long long)stats.delivered,
        (unsigned long long)stats.dropped, (unsigned long long)stats.duplicated,
        (unsigned long long)stats.timers);
    printf("agreement: %s; every log is a prefix of the longest (S4)\n",
           sim_all_agree(sim, NULL) ? "all replicas at the same height"
                                    : "replicas at different heights");
    printf("trace hash: %s\n", hex);
}

int main(int argc, char **argv)
{
    struct sim_config config = {
        .n_nodes = 4,
        .seed = 1,
        .latency_ms = { .min = 5, .max = 50 },
        .base_timeout_ms = 1000,
    };
    struct demo demo = { .watch = 0 };
    uint64_t seconds = 30;
    struct sim *sim;
    int status;

    if (parse_args(argc, argv, &config, &seconds) != 0) {
        return 2;
    }
    config.on_commit = on_commit;
    config.on_commit_arg = &demo;
    sim = sim_new(&config);
    if (sim == NULL) {
        fprintf(stderr, "seq-sim-demo: cannot create the simulation\n");
        return 2;
    }
    printf(
        "%u validators, seed %llu, %llu s virtual, latency %llu-%llu ms, "
        "drop %u%%, dup %u%%; commits seen by replica %u:\n",
        config.n_nodes, (unsigned long long)config.seed,
        (unsigned long long)seconds, (unsigned long long)config.latency_ms.min,
        (unsigned long long)config.latency_ms.max, config.drop_percent,
        config.dup_percent, demo.watch);
    sim_run_for(sim, seconds * 1000);
    summary(sim);
    if (sim_failure(sim) != NULL || config.verbose) {
        sim_dump(sim, stderr);
    }
    status = sim_failure(sim) == NULL ? 0 : 1;
    if (status != 0) {
        printf("INVARIANT VIOLATED: %s\n", sim_failure(sim));
    }
    sim_free(sim);
    return status;
}
