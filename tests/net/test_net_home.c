/* The home-directory files (net/net_home.h): each format round-trips; each
 * kind of bad input is refused with SEQ_EINVAL and a message naming the
 * file, the field and the problem; key files are 0600 and refused when
 * group or others can read them; a write is atomic (a reader sees the old
 * file or the new one, a failed write leaves the old one and no debris);
 * the genesis hash is SHA-256 of the file's bytes; running out of memory at
 * any allocation is a clean SEQ_ENOMEM. */

#define _XOPEN_SOURCE 700 /* fork. */

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "hs_crypto.h"
#include "net_home.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hash.h"
#include "test_fs.h"

/* ---- Scratch directories and raw files. ---- */

struct scratch {
    char dir[256];
    char path[512]; /* Scratch for path_of(). */
};

static void scratch_open(struct scratch *s)
{
    test_tmpdir("seq-home", s->dir, sizeof s->dir);
}

static void scratch_close(struct scratch *s)
{
    test_rm_tree(s->dir);
}

static const char *path_of(struct scratch *s, const char *name)
{
    snprintf(s->path, sizeof s->path, "%s/%s", s->dir, name);
    return s->path;
}

static void put_file(const char *path, const char *text, mode_t mode)
{
    FILE *f;

    remove(path);
    f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(fwrite(text, 1, strlen(text), f), strlen(text));
    ASSERT_EQ(fclose(f), 0);
    ASSERT_EQ(chmod(path, mode), 0);
}
/* ---- A valid genesis of @n validators with real keys. ---- */

static void make_genesis(struct net_genesis *g, uint32_t n)
{
    uint32_t i;

    memset(g, 0, sizeof *g);
    snprintf(g->chain_id, sizeof g->chain_id, "seq-test");
    snprintf(g->genesis_time, sizeof g->genesis_time, "2026-11-21T06:00:00Z");
    g->epoch = 3;
    g->base_timeout_ms = 1000;
    g->n_validators = n;
    for (i = 0; i < n; i++) {
        struct net_validator_key vk;
        struct net_node_key nk;

        ASSERT_OK(net_validator_key_generate(&vk));
        ASSERT_OK(net_node_key_generate(&nk));
        snprintf(g->validators[i].name, NET_NAME_MAX, "node%u", i);
        g->validators[i].pubkey = vk.pubkey;
        memcpy(g->validators[i].node_key, nk.public_key, NET_CURVE_KEY_LEN);
        snprintf(g->validators[i].p2p, NET_ADDR_MAX, "tcp://127.0.0.1:%u",
                 26600 + 10 * i);
    }
}

static struct net_genesis *genesis_new(uint32_t n)
{
    struct net_genesis *g = malloc(sizeof *g);

    ASSERT_TRUE(g != NULL);
    make_genesis(g, n);
    return g;
}

/* Three rollups, ids with gaps, the extremes of weight and size. */
static void add_namespaces(struct net_genesis *g)
{
    static const struct net_namespace three[] = {
        { 1, "rollup-a", 1, 65536 },
        { 5, "rollup.b_2", 3, 1 },
        { 9, "C", NET_MAX_WEIGHT, NET_MAX_TX_SIZE },
    };

    g->n_namespaces = 3;
    memcpy(g->namespaces, three, sizeof three);
}

/* ------------------------------------------------------------ genesis */

TEST(genesis, round_trip)
{
    struct scratch s;
    struct net_genesis *g = genesis_new(4);
    struct net_genesis *back = malloc(sizeof *back);
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seq_hash want;
    char *bytes;
    size_t len;
    uint32_t i;

    scratch_open(&s);
    ASSERT_OK(net_genesis_write(path_of(&s, "genesis.json"), g, errmsg));
    ASSERT_OK(net_genesis_load(s.path, back, errmsg));
    ASSERT_STREQ(back->chain_id, "seq-test");
    ASSERT_STREQ(back->genesis_time, "2026-11-21T06:00:00Z");
    ASSERT_EQ(back->epoch, 3u);
    ASSERT_EQ(back->base_timeout_ms, 1000u);
    ASSERT_EQ(back->n_validators, 4u);
    for (i = 0; i < 4; i++) {
        ASSERT_STREQ(back->validators[i].name, g->validators[i].name);
        ASSERT_STREQ(back->validators[i].p2p, g->validators[i].p2p);
        ASSERT_MEMEQ(&back->validators[i].pubkey, &g->validators[i].pubkey,
                     sizeof(struct hs_pubkey));
        ASSERT_MEMEQ(back->validators[i].node_key, g->validators[i].node_key,
                     NET_CURVE_KEY_LEN);
    }
    bytes = test_read_file(s.path, &len);
    seq_sha256(bytes, len, &want);
    ASSERT_TRUE(seq_hash_eq(&back->hash, &want));
    ASSERT_EQ(bytes[len - 1], '\n');
    ASSERT_EQ(test_file_mode(s.path) & 0600u, 0600u);
    free(bytes);
    free(back);
    free(g);
    scratch_close(&s);
}

/* The hash is of the bytes, not of the content: the same genesis in
 * another layout is another chain, and nothing re-serialises it. */
TEST(genesis, hash_is_sha256_of_the_exact_bytes)
{
    struct scratch s;
    struct net_genesis *g = genesis_new(2);
    struct net_genesis *a = malloc(sizeof *a);
    struct net_genesis *b = malloc(sizeof *b);
    char errmsg[SEQ_ERRMSG_LEN] = "";
    struct seq_hash want;
    json_t *root;
    char *compact;
    char *bytes;

    scratch_open(&s);
    ASSERT_OK(net_genesis_write(path_of(&s, "genesis.json"), g, errmsg));
    ASSERT_OK(net_genesis_load(s.path, a, errmsg));
    bytes = test_read_file(s.path, NULL);
    root = json_loads(bytes, 0, NULL);
    ASSERT_TRUE(root != NULL);
    compact = json_dumps(root, JSON_COMPACT);
    put_file(path_of(&s, "compact.json"), compact, 0644);
    ASSERT_OK(net_genesis_load(s.path, b, errmsg));
    seq_sha256(compact, strlen(compact), &want);
    ASSERT_TRUE(seq_hash_eq(&b->hash, &want));
    ASSERT_FALSE(seq_hash_eq(&a->hash, &b->hash));
    ASSERT_STREQ(a->chain_id, b->chain_id);
    ASSERT_MEMEQ(&a->validators[1], &b->validators[1],
                 sizeof(struct net_validator));
    free(compact);
    json_decref(root);
    free(bytes);
    free(b);
    free(a);
    free(g);
    scratch_close(&s);
}

TEST(genesis, validator_set_and_find)
{
    struct net_genesis *g = genesis_new(3);
    struct hs_validator_set set;
    struct hs_pubkey other;
    hs_node_t index = 99;

    net_genesis_validator_set(g, &set);
    ASSERT_EQ(set.n, 3u);
    ASSERT_MEMEQ(&set.keys[2], &g->validators[2].pubkey, sizeof other);
    ASSERT_OK(net_genesis_find(g, &g->validators[1].pubkey, &index));
    ASSERT_EQ(index, 1u);
    memset(&other, 0x11, sizeof other);
    ASSERT_ERR(net_genesis_find(g, &other, &index), SEQ_ENOTFOUND);
    free(g);
}

TEST(genesis, missing_file_and_not_a_file)
{
    struct scratch s;
    struct net_genesis *g = malloc(sizeof *g);
    char errmsg[SEQ_ERRMSG_LEN] = "";

    scratch_open(&s);
    ASSERT_ERR(net_genesis_load(path_of(&s, "nope.json"), g, errmsg),
               SEQ_ENOTFOUND);
    ASSERT_CONTAINS(errmsg, "nope.json: no such file");
    ASSERT_ERR(net_genesis_load(s.dir, g, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "not a regular file");
    free(g);
    scratch_close(&s);
}

/* One bad-genesis case: a change to a valid genesis document (as jansson
 * values), or whole raw text, and a part of the message it must produce. */
struct bad_genesis {
    const char *raw;        /* Used instead of the mutation when not NULL. */
    const char *path[3];    /* "validators", "2", "pubkey": where to set. */
    json_t *(*value)(void); /* New value; NULL deletes the member. */
    const char *want;
};

static json_t *v_int_neg(void)
{
    return json_integer(-1);
}
static json_t *v_int_49(void)
{
    return json_integer(49);
}
static json_t *v_int_600001(void)
{
    return json_integer(600001);
}
static json_t *v_int_2(void)
{
    return json_integer(2);
}
static json_t *v_str_zero(void)
{
    return json_string("0");
}
static json_t *v_str_space(void)
{
    return json_string("seq local");
}
static json_t *v_str_long(void)
{
    return json_string(
        "a123456789b123456789c123456789d123456789e123456789"
        "f123456789g123");
}
static json_t *v_str_yesterday(void)
{
    return json_string("yesterday");
}
static json_t *v_str_bad_month(void)
{
    return json_string("2026-13-01T00:00:00Z");
}
static json_t *v_object(void)
{
    return json_object();
}
static json_t *v_array(void)
{
    return json_array();
}
static json_t *v_hex63(void)
{
    return json_string(
        "0123456789abcdef0123456789abcdef0123456789abcdef"
        "0123456789abcde");
}
static json_t *v_hex66(void)
{
    return json_string(
        "0123456789abcdef0123456789abcdef0123456789abcdef"
        "0123456789abcdef01");
}
static json_t *v_not_hex(void)
{
    return json_string(
        "zz23456789abcdef0123456789abcdef0123456789abcdef"
        "0123456789abcdef");
}
static json_t *v_off_curve(void)
{
    return json_string(
        "ffffffffffffffffffffffffffffffffffffffffffffffff"
        "ffffffffffffffff");
}
static json_t *v_z85_short(void)
{
    return json_string("abcde");
}
static json_t *v_z85_bad_char(void)
{
    return json_string("abcde,abcdeabcdeabcdeabcdeabcdeabcdeabcd");
}
static json_t *v_p2p_no_scheme(void)
{
    return json_string("127.0.0.1:26600");
}
static json_t *v_p2p_port0(void)
{
    return json_string("tcp://127.0.0.1:0");
}
static json_t *v_p2p_port_big(void)
{
    return json_string("tcp://127.0.0.1:65536");
}
static json_t *v_p2p_wild(void)
{
    return json_string("tcp://*:26600");
}
static json_t *v_p2p_any(void)
{
    return json_string("tcp://0.0.0.0:26600");
}
static json_t *v_true(void)
{
    return json_true();
}

static const struct bad_genesis bad_geneses[] = {
    { "{", { NULL }, NULL, "genesis.json: line 1 column 1" },
    { "", { NULL }, NULL, "genesis.json: line" },
    { "[1]", { NULL }, NULL, "genesis.json: want a JSON object" },
    { "{\"chain_id\": \"a\", \"chain_id\": \"b\"}",
      { NULL },
      NULL,
      "duplicate object key" },
    { NULL, { "chain", NULL }, v_str_zero, "unknown field \"chain\"" },
    { NULL, { "chain_id", NULL }, NULL, "genesis.json: chain_id: missing" },
    { NULL, { "chain_id", NULL }, v_int_2, "chain_id: want a string" },
    { NULL, { "chain_id", NULL }, v_str_space, "chain_id: want 1 to 63" },
    { NULL, { "chain_id", NULL }, v_str_long, "chain_id: longer than 63" },
    { NULL, { "genesis_time", NULL }, v_str_yesterday, "genesis_time: want" },
    { NULL, { "genesis_time", NULL }, v_str_bad_month, "genesis_time: want" },
    { NULL, { "epoch", NULL }, v_int_neg, "epoch: want a non-negative" },
    { NULL, { "epoch", NULL }, v_str_zero, "epoch: want a non-negative" },
    { NULL, { "epoch", NULL }, NULL, "epoch: missing" },
    { NULL,
      { "base_timeout_ms", NULL },
      v_int_49,
      "base_timeout_ms: is 49; want 50 to 600000" },
    { NULL,
      { "base_timeout_ms", NULL },
      v_int_600001,
      "base_timeout_ms: is 600001" },
    { NULL, { "validators", NULL }, NULL, "validators: missing" },
    { NULL, { "validators", NULL }, v_object, "validators: want an array" },
    { NULL,
      { "validators", NULL },
      v_array,
      "validators: has 0 entries; want 1 to 64" },
    { NULL,
      { "validators", "2", NULL },
      v_true,
      "validators[2]: want an object" },
    { NULL,
      { "validators", "2", "addr" },
      v_str_zero,
      "validators[2]: unknown field \"addr\"" },
    { NULL,
      { "validators", "1", "index" },
      v_int_2,
      "validators[1].index: is 2; want 1" },
    { NULL,
      { "validators", "1", "index" },
      NULL,
      "validators[1].index: missing" },
    { NULL,
      { "validators", "3", "name" },
      v_str_space,
      "validators[3].name: want 1 to 63" },
    { NULL,
      { "validators", "2", "pubkey" },
      v_hex63,
      "genesis.json: validators[2].pubkey: want 64 hex characters" },
    { NULL,
      { "validators", "2", "pubkey" },
      v_hex66,
      "validators[2].pubkey: want 64 hex characters" },
    { NULL,
      { "validators", "2", "pubkey" },
      v_not_hex,
      "validators[2].pubkey: want 64 hex characters" },
    { NULL,
      { "validators", "2", "pubkey" },
      v_off_curve,
      "validators[2].pubkey: not a valid secp256k1" },
    { NULL,
      { "validators", "0", "node_key" },
      v_z85_short,
      "validators[0].node_key: want a 40-character Z85" },
    { NULL,
      { "validators", "0", "node_key" },
      v_z85_bad_char,
      "validators[0].node_key: want a 40-character Z85" },
    { NULL,
      { "validators", "0", "p2p" },
      v_p2p_no_scheme,
      "validators[0].p2p: want tcp://host:port" },
    { NULL,
      { "validators", "0", "p2p" },
      v_p2p_port0,
      "validators[0].p2p: want tcp://" },
    { NULL,
      { "validators", "0", "p2p" },
      v_p2p_port_big,
      "validators[0].p2p: want tcp://" },
    { NULL,
      { "validators", "0", "p2p" },
      v_p2p_wild,
      "validators[0].p2p: want tcp://" },
    { NULL,
      { "validators", "0", "p2p" },
      v_p2p_any,
      "validators[0].p2p: want tcp://" },
};

/* Applies @c to the document @root (a valid 4-validator genesis). */
static void mutate(json_t *root, const struct bad_genesis *c)
{
    json_t *obj = root;
    const char *key = c->path[0];

    if (c->path[1] != NULL) {
        json_t *arr = json_object_get(root, c->path[0]);
        size_t i = (size_t)atoi(c->path[1]);

        if (c->path[2] == NULL) {
            ASSERT_EQ(json_array_set_new(arr, i, c->value()), 0);
            return;
        }
        obj = json_array_get(arr, i);
        key = c->path[2];
    }
    if (c->value == NULL) {
        ASSERT_EQ(json_object_del(obj, key), 0);
    } else {
        ASSERT_EQ(json_object_set_new(obj, key, c->value()), 0);
    }
}

/* Each of @cases, applied to the genesis @g as written, is refused on
 * load with its message. */
static void check_bad_geneses(struct net_genesis *g,
                              const struct bad_genesis *cases,
                              size_t n)
{
    struct scratch s;
    char errmsg[SEQ_ERRMSG_LEN];
    char good[512];
    char *text;
    size_t i;

    scratch_open(&s);
    snprintf(good, sizeof good, "%s/good.json", s.dir);
    ASSERT_OK(net_genesis_write(good, g, errmsg));
    text = test_read_file(good, NULL);
    for (i = 0; i < n; i++) {
        const struct bad_genesis *c = &cases[i];
        char *bad;
        json_t *root = NULL;

        if (c->raw != NULL) {
            bad = strdup(c->raw);
        } else {
            root = json_loads(text, 0, NULL);
            ASSERT_TRUE(root != NULL);
            mutate(root, c);
            bad = json_dumps(root, JSON_INDENT(2));
        }
        put_file(path_of(&s, "genesis.json"), bad, 0644);
        errmsg[0] = '\0';
        if (net_genesis_load(s.path, g, errmsg) != SEQ_EINVAL) {
            harness_fail(__FILE__, __LINE__, "case %zu (%s) was accepted", i,
                         c->want);
        }
        if (strstr(errmsg, c->want) == NULL) {
            harness_fail(__FILE__, __LINE__, "case %zu: \"%s\" lacks \"%s\"", i,
                         errmsg, c->want);
        }
        free(bad);
        json_decref(root);
    }
    free(text);
    scratch_close(&s);
}

TEST(genesis, every_validation_error_is_named)
{
    struct net_genesis *g = genesis_new(4);

    check_bad_geneses(g, bad_geneses,
                      sizeof bad_geneses / sizeof bad_geneses[0]);
    free(g);
}

/* Each duplicate a genesis must not have, caught on load and on write. */
TEST(genesis, duplicates_are_refused)
{
    static const char *const what[] = { "name", "pubkey", "node_key", "p2p" };
    struct scratch s;
    struct net_genesis *g = genesis_new(4);
    struct net_genesis *dup = malloc(sizeof *dup);
    char errmsg[SEQ_ERRMSG_LEN];
    char want[64];
    size_t i;

    scratch_open(&s);
    for (i = 0; i < 4; i++) {
        *dup = *g;
        switch (i) {
        case 0:
            memcpy(dup->validators[3].name, dup->validators[1].name,
                   NET_NAME_MAX);
            break;
        case 1:
            dup->validators[3].pubkey = dup->validators[1].pubkey;
            break;
        case 2:
            memcpy(dup->validators[3].node_key, dup->validators[1].node_key,
                   NET_CURVE_KEY_LEN);
            break;
        default:
            memcpy(dup->validators[3].p2p, dup->validators[1].p2p,
                   NET_ADDR_MAX);
            break;
        }
        snprintf(want, sizeof want, "validators[3].%s: same as validators[1]",
                 what[i]);
        ASSERT_ERR(net_genesis_write(path_of(&s, "genesis.json"), dup, errmsg),
                   SEQ_EINVAL);
        ASSERT_CONTAINS(errmsg, want);
        ASSERT_EQ(test_count_entries(s.dir), 0u); /* Nothing was written. */
    }
    free(dup);
    free(g);
    scratch_close(&s);
}

TEST(genesis, validator_count_and_timeout_bounds)
{
    struct scratch s;
    struct net_genesis *g = genesis_new(HS_MAX_VALIDATORS);
    struct net_genesis *back = malloc(sizeof *back);
    char errmsg[SEQ_ERRMSG_LEN];
    json_t *root;
    json_t *extra;
    char *text;

    scratch_open(&s);
    g->base_timeout_ms = 50;
    ASSERT_OK(net_genesis_write(path_of(&s, "genesis.json"), g, errmsg));
    ASSERT_OK(net_genesis_load(s.path, back, errmsg));
    ASSERT_EQ(back->n_validators, (uint32_t)HS_MAX_VALIDATORS);
    g->base_timeout_ms = 600000;
    ASSERT_OK(net_genesis_write(s.path, g, errmsg));
    g->base_timeout_ms = 49;
    ASSERT_ERR(net_genesis_write(s.path, g, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "base_timeout_ms");
    g->base_timeout_ms = 1000;
    g->n_validators = 0;
    ASSERT_ERR(net_genesis_write(s.path, g, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "validators: has 0 entries");

    /* 65 entries on load: one more copy of the last, index adjusted. */
    text = test_read_file(s.path, NULL);
    root = json_loads(text, 0, NULL);
    ASSERT_TRUE(root != NULL);
    extra = json_deep_copy(json_array_get(json_object_get(root, "validators"),
                                          HS_MAX_VALIDATORS - 1));
    json_object_set_new(extra, "index", json_integer(HS_MAX_VALIDATORS));
    json_array_append_new(json_object_get(root, "validators"), extra);
    free(text);
    text = json_dumps(root, 0);
    put_file(s.path, text, 0644);
    ASSERT_ERR(net_genesis_load(s.path, back, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "validators: has 65 entries; want 1 to 64");
    free(text);
    json_decref(root);
    free(back);
    free(g);
    scratch_close(&s);
}

/* Fails allocation 1, 2, ... of @op until it succeeds without reaching the
 * failure. Each failure must be a clean return with one of @ok_codes (and
 * ASan checks that nothing leaks). Returns how many allocations @op made. */
static unsigned long fail_each_allocation(int (*op)(void *arg),
                                          void *arg,
                                          int also_ok)
{
    unsigned long n;
    int rv = SEQ_ENOMEM;

    for (n = 1; rv != SEQ_OK; n++) {
        seq_alloc_fail_at(n, 0);
        rv = op(arg);
        seq_alloc_fail_at(0, 0);
        if (rv != SEQ_OK && rv != SEQ_ENOMEM && rv != also_ok) {
            harness_fail(__FILE__, __LINE__, "allocation %lu: %d", n, rv);
        }
    }
    return n - 1;
}

struct oom_case {
    const char *path;
    struct net_genesis *g;
    char errmsg[SEQ_ERRMSG_LEN];
};

static int oom_load(void *arg)
{
    struct oom_case *c = arg;

    return net_genesis_load(c->path, c->g, c->errmsg);
}

static int oom_write(void *arg)
{
    struct oom_case *c = arg;

    return net_genesis_write(c->path, c->g, c->errmsg);
}

/* Every allocation of ours in a load or a write, failed in turn, is a
 * clean SEQ_ENOMEM that leaves no temporary file behind. Then the same with
 * jansson allocating through seq_malloc too (seqd makes it so): jansson
 * reports some of its own failures as syntax errors, so SEQ_EINVAL is
 * allowed there, but nothing may crash or leak. */
TEST(genesis, out_of_memory_at_every_allocation)
{
    struct scratch s;
    struct oom_case c;
    char path[512];

    scratch_open(&s);
    c.g = genesis_new(4);
    add_namespaces(c.g); /* Their parsing and rendering fail cleanly too. */
    snprintf(path, sizeof path, "%s/genesis.json", s.dir);
    c.path = path;
    ASSERT_OK(net_genesis_write(path, c.g, c.errmsg));
    ASSERT_GE(fail_each_allocation(oom_load, &c, SEQ_OK), 2ul);
    ASSERT_GE(fail_each_allocation(oom_write, &c, SEQ_OK), 1ul);
    ASSERT_EQ(test_count_entries(s.dir), 1u);

    json_set_alloc_funcs(seq_malloc, seq_free);
    ASSERT_GT(fail_each_allocation(oom_load, &c, SEQ_EINVAL), 10ul);
    ASSERT_GT(fail_each_allocation(oom_write, &c, SEQ_EINVAL), 10ul);
    ASSERT_EQ(test_count_entries(s.dir), 1u);
    ASSERT_OK(net_genesis_load(path, c.g, c.errmsg));
    ASSERT_EQ(c.g->n_validators, 4u);
    ASSERT_EQ(c.g->n_namespaces, 3u);
    free(c.g);
    scratch_close(&s);
}

/* ---------------------------------------------------------- namespaces */

TEST(genesis, namespaces_round_trip)
{
    struct scratch s;
    struct net_genesis *g = genesis_new(4);
    struct net_genesis *back = malloc(sizeof *back);
    char errmsg[SEQ_ERRMSG_LEN] = "";
    char *bytes;
    json_t *root;
    const char *key;
    json_t *value;
    const char *order[6];
    size_t n = 0;
    uint32_t i;

    scratch_open(&s);
    add_namespaces(g);
    ASSERT_OK(net_genesis_write(path_of(&s, "genesis.json"), g, errmsg));
    ASSERT_OK(net_genesis_load(s.path, back, errmsg));
    ASSERT_EQ(back->n_namespaces, 3u);
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(back->namespaces[i].id, g->namespaces[i].id);
        ASSERT_STREQ(back->namespaces[i].name, g->namespaces[i].name);
        ASSERT_EQ(back->namespaces[i].weight, g->namespaces[i].weight);
        ASSERT_EQ(back->namespaces[i].max_tx_size,
                  g->namespaces[i].max_tx_size);
    }
    ASSERT_EQ(back->n_validators, 4u);

    /* "namespaces" comes last, after "validators", with its members in
     * the documented order. */
    bytes = test_read_file(s.path, NULL);
    root = json_loads(bytes, 0, NULL);
    ASSERT_TRUE(root != NULL);
    json_object_foreach(root, key, value)
    {
        ASSERT_LT(n, 6u);
        order[n++] = key;
    }
    ASSERT_EQ(n, 6u);
    ASSERT_STREQ(order[4], "validators");
    ASSERT_STREQ(order[5], "namespaces");
    ASSERT_CONTAINS(bytes,
                    "\"id\": 5,\n      \"name\": \"rollup.b_2\",\n      "
                    "\"weight\": 3,\n      \"max_tx_size\": 1\n");
    json_decref(root);
    free(bytes);
    free(back);
    free(g);
    scratch_close(&s);
}

/* A genesis is never re-serialised (its hash is of its bytes), but what
 * seqd writes must render back to the same bytes; and a genesis without
 * namespaces has no "namespaces" member at all, so files written before
 * rollups existed keep their bytes and their hash. */
TEST(genesis, rendering_a_loaded_genesis_gives_its_bytes)
{
    struct scratch s;
    struct net_genesis *g = genesis_new(3);
    struct net_genesis *back = malloc(sizeof *back);
    char errmsg[SEQ_ERRMSG_LEN] = "";
    char first[512];
    json_t *root;
    char *a;
    char *b;
    int with;

    scratch_open(&s);
    snprintf(first, sizeof first, "%s/first.json", s.dir);
    for (with = 0; with < 2; with++) {
        if (with) {
            add_namespaces(g);
        }
        ASSERT_OK(net_genesis_write(first, g, errmsg));
        ASSERT_OK(net_genesis_load(first, back, errmsg));
        ASSERT_OK(net_genesis_write(path_of(&s, "again.json"), back, errmsg));
        a = test_read_file(first, NULL);
        b = test_read_file(s.path, NULL);
        ASSERT_STREQ(b, a);
        ASSERT_EQ(strstr(a, "namespaces") != NULL, with == 1);
        free(b);
        free(a);
    }

    /* Absent (the file of the first round) and "namespaces": [] both
     * load as none. */
    a = test_read_file(first, NULL);
    root = json_loads(a, 0, NULL);
    ASSERT_TRUE(root != NULL);
    ASSERT_OK(net_genesis_load(first, back, errmsg));
    ASSERT_EQ(back->n_namespaces, 3u);
    json_object_del(root, "namespaces");
    b = json_dumps(root, 0);
    put_file(path_of(&s, "absent.json"), b, 0644);
    ASSERT_OK(net_genesis_load(s.path, back, errmsg));
    ASSERT_EQ(back->n_namespaces, 0u);
    free(b);
    json_object_set_new(root, "namespaces", json_array());
    b = json_dumps(root, 0);
    put_file(path_of(&s, "empty.json"), b, 0644);
    ASSERT_OK(net_genesis_load(s.path, back, errmsg));
    ASSERT_EQ(back->n_namespaces, 0u);
    ASSERT_EQ(back->n_validators, 3u);
    free(b);
    free(a);
    json_decref(root);
    free(back);
    free(g);
    scratch_close(&s);
}

TEST(genesis, namespace_lookup)
{
    struct net_genesis *g = genesis_new(1);
    const struct net_namespace *ns;
    uint32_t i;

    ASSERT_TRUE(net_genesis_namespace(g, 1) == NULL); /* None registered. */
    add_namespaces(g);
    ns = net_genesis_namespace(g, 5);
    ASSERT_TRUE(ns == &g->namespaces[1]);
    ASSERT_STREQ(ns->name, "rollup.b_2");
    ASSERT_TRUE(net_genesis_namespace(g, 1) == &g->namespaces[0]);
    ASSERT_TRUE(net_genesis_namespace(g, 9) == &g->namespaces[2]);
    ASSERT_TRUE(net_genesis_namespace(g, 0) == NULL);
    ASSERT_TRUE(net_genesis_namespace(g, 4) == NULL);
    ASSERT_TRUE(net_genesis_namespace(g, 6) == NULL);
    ASSERT_TRUE(net_genesis_namespace(g, 10) == NULL);
    ASSERT_TRUE(net_genesis_namespace(g, UINT64_MAX) == NULL);

    /* Every id of a full table, and the gaps between them. */
    g->n_namespaces = NET_MAX_NAMESPACES;
    for (i = 0; i < NET_MAX_NAMESPACES; i++) {
        g->namespaces[i].id = 2 * (uint64_t)i + 2;
    }
    for (i = 0; i < NET_MAX_NAMESPACES; i++) {
        ASSERT_TRUE(net_genesis_namespace(g, 2 * (uint64_t)i + 2) ==
                    &g->namespaces[i]);
        ASSERT_TRUE(net_genesis_namespace(g, 2 * (uint64_t)i + 1) == NULL);
    }
    ASSERT_TRUE(net_genesis_namespace(g, 2 * NET_MAX_NAMESPACES + 1) == NULL);
    free(g);
}

static json_t *v_int_0(void)
{
    return json_integer(0);
}
static json_t *v_int_3(void)
{
    return json_integer(3);
}
static json_t *v_int_5(void)
{
    return json_integer(5);
}
static json_t *v_int_1000001(void)
{
    return json_integer(1000001);
}
static json_t *v_int_2_40(void)
{
    return json_integer((json_int_t)1 << 40);
}
static json_t *v_int_1048577(void)
{
    return json_integer(1048577);
}
static json_t *v_str_rollup_a(void)
{
    return json_string("rollup-a");
}

/* Mutations of a valid genesis with add_namespaces()' three. */
static const struct bad_genesis bad_namespaces[] = {
    { NULL, { "namespaces", NULL }, v_object, "namespaces: want an array" },
    { NULL, { "namespaces", NULL }, v_str_zero, "namespaces: want an array" },
    { NULL,
      { "namespaces", "1", NULL },
      v_true,
      "genesis.json: namespaces[1]: want an object" },
    { NULL,
      { "namespaces", "1", "priority" },
      v_int_2,
      "namespaces[1]: unknown field \"priority\"" },
    { NULL, { "namespaces", "0", "id" }, NULL, "namespaces[0].id: missing" },
    { NULL,
      { "namespaces", "0", "id" },
      v_int_0,
      "namespaces[0].id: is 0; want 1 to 9223372036854775807" },
    { NULL,
      { "namespaces", "0", "id" },
      v_int_neg,
      "namespaces[0].id: want a non-negative integer" },
    { NULL,
      { "namespaces", "0", "id" },
      v_str_zero,
      "namespaces[0].id: want a non-negative integer" },
    { NULL,
      { "namespaces", "2", "id" },
      v_int_5,
      "namespaces[2].id: is 5; want more than namespaces[1].id (5)" },
    { NULL,
      { "namespaces", "2", "id" },
      v_int_3,
      "namespaces[2].id: is 3; want more than namespaces[1].id (5)" },
    { NULL,
      { "namespaces", "1", "name" },
      NULL,
      "namespaces[1].name: missing" },
    { NULL,
      { "namespaces", "1", "name" },
      v_int_2,
      "namespaces[1].name: want a string" },
    { NULL,
      { "namespaces", "1", "name" },
      v_str_space,
      "namespaces[1].name: want 1 to 63" },
    { NULL,
      { "namespaces", "1", "name" },
      v_str_long,
      "namespaces[1].name: longer than 63" },
    { NULL,
      { "namespaces", "2", "name" },
      v_str_rollup_a,
      "namespaces[2].name: same as namespaces[0].name" },
    { NULL,
      { "namespaces", "0", "weight" },
      NULL,
      "namespaces[0].weight: missing" },
    { NULL,
      { "namespaces", "0", "weight" },
      v_int_0,
      "namespaces[0].weight: is 0; want 1 to 1000000" },
    { NULL,
      { "namespaces", "0", "weight" },
      v_int_1000001,
      "namespaces[0].weight: is 1000001; want 1 to 1000000" },
    { NULL,
      { "namespaces", "0", "weight" },
      v_int_2_40,
      "namespaces[0].weight: is 1099511627776; want 1 to 1000000" },
    { NULL,
      { "namespaces", "1", "max_tx_size" },
      NULL,
      "namespaces[1].max_tx_size: missing" },
    { NULL,
      { "namespaces", "1", "max_tx_size" },
      v_int_0,
      "namespaces[1].max_tx_size: is 0; want 1 to 1048576" },
    { NULL,
      { "namespaces", "1", "max_tx_size" },
      v_int_1048577,
      "namespaces[1].max_tx_size: is 1048577; want 1 to 1048576" },
};

TEST(genesis, every_namespace_error_is_named)
{
    struct net_genesis *g = genesis_new(4);

    add_namespaces(g);
    check_bad_geneses(g, bad_namespaces,
                      sizeof bad_namespaces / sizeof bad_namespaces[0]);
    free(g);
}

/* The writer refuses what the loader would, and writes nothing. */
TEST(genesis, namespace_writer_refusals)
{
    static const char *const want[] = {
        "namespaces[0].id: is 0; want 1",
        "namespaces[0].id: is 9223372036854775808; want 1 to 92233",
        "namespaces[2].id: is 5; want more than namespaces[1].id (5)",
        "namespaces[1].id: is 1; want more than namespaces[0].id (9)",
        "namespaces[1].name: want 1 to 63",
        "namespaces[1].name: want 1 to 63",
        "namespaces[2].name: same as namespaces[0].name",
        "namespaces[1].weight: is 0; want 1 to 1000000",
        "namespaces[1].weight: is 1000001",
        "namespaces[2].max_tx_size: is 0; want 1 to 1048576",
        "namespaces[2].max_tx_size: is 1048577",
        "namespaces: has 257 entries; want at most 256",
    };
    struct scratch s;
    struct net_genesis *g = genesis_new(2);
    struct net_genesis *bad = malloc(sizeof *bad);
    char errmsg[SEQ_ERRMSG_LEN];
    size_t i;

    scratch_open(&s);
    add_namespaces(g);
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        *bad = *g;
        switch (i) {
        case 0:
            bad->namespaces[0].id = 0;
            break;
        case 1:
            bad->namespaces[0].id = (uint64_t)INT64_MAX + 1;
            break;
        case 2:
            bad->namespaces[2].id = 5;
            break;
        case 3:
            bad->namespaces[0].id = 9;
            bad->namespaces[1].id = 1;
            break;
        case 4:
            bad->namespaces[1].name[0] = '\0';
            break;
        case 5:
            memset(bad->namespaces[1].name, 'x', NET_NAME_MAX);
            break;
        case 6:
            snprintf(bad->namespaces[2].name, NET_NAME_MAX, "rollup-a");
            break;
        case 7:
            bad->namespaces[1].weight = 0;
            break;
        case 8:
            bad->namespaces[1].weight = NET_MAX_WEIGHT + 1;
            break;
        case 9:
            bad->namespaces[2].max_tx_size = 0;
            break;
        case 10:
            bad->namespaces[2].max_tx_size = NET_MAX_TX_SIZE + 1;
            break;
        default:
            bad->n_namespaces = NET_MAX_NAMESPACES + 1;
            break;
        }
        errmsg[0] = '\0';
        if (net_genesis_write(path_of(&s, "genesis.json"), bad, errmsg) !=
            SEQ_EINVAL) {
            harness_fail(__FILE__, __LINE__, "case %zu was written", i);
        }
        if (strstr(errmsg, want[i]) == NULL) {
            harness_fail(__FILE__, __LINE__, "case %zu: \"%s\" lacks \"%s\"", i,
                         errmsg, want[i]);
        }
        ASSERT_EQ(test_count_entries(s.dir), 0u);
    }
    free(bad);
    free(g);
    scratch_close(&s);
}

/* NET_MAX_NAMESPACES round-trip, at the largest id; one more is refused
 * on load too. */
TEST(genesis, namespace_count_bounds)
{
    struct scratch s;
    struct net_genesis *g = genesis_new(1);
    struct net_genesis *back = malloc(sizeof *back);
    char errmsg[SEQ_ERRMSG_LEN];
    json_t *root;
    json_t *extra;
    char *text;
    uint32_t i;

    scratch_open(&s);
    g->n_namespaces = NET_MAX_NAMESPACES;
    for (i = 0; i < NET_MAX_NAMESPACES; i++) {
        struct net_namespace *ns = &g->namespaces[i];

        ns->id = (uint64_t)INT64_MAX - NET_MAX_NAMESPACES + 1 + i;
        snprintf(ns->name, sizeof ns->name, "r%u", i);
        ns->weight = 1 + i;
        ns->max_tx_size = NET_MAX_TX_SIZE - i;
    }
    ASSERT_OK(net_genesis_write(path_of(&s, "genesis.json"), g, errmsg));
    ASSERT_OK(net_genesis_load(s.path, back, errmsg));
    ASSERT_EQ(back->n_namespaces, (uint32_t)NET_MAX_NAMESPACES);
    ASSERT_EQ(back->namespaces[NET_MAX_NAMESPACES - 1].id, (uint64_t)INT64_MAX);
    ASSERT_MEMEQ(back->namespaces, g->namespaces, sizeof g->namespaces);

    text = test_read_file(s.path, NULL);
    root = json_loads(text, 0, NULL);
    ASSERT_TRUE(root != NULL);
    extra = json_pack("{s:i, s:s, s:i, s:i}", "id", 1, "name", "extra",
                      "weight", 1, "max_tx_size", 1);
    json_array_insert_new(json_object_get(root, "namespaces"), 0, extra);
    free(text);
    text = json_dumps(root, 0);
    put_file(s.path, text, 0644);
    ASSERT_ERR(net_genesis_load(s.path, back, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "namespaces: has 257 entries; want at most 256");
    free(text);
    json_decref(root);
    free(back);
    free(g);
    scratch_close(&s);
}

/* ------------------------------------------------------------- config */

TEST(config, defaults_and_round_trip)
{
    struct scratch s;
    struct net_config c;
    struct net_config back;
    char errmsg[SEQ_ERRMSG_LEN];

    net_config_defaults(&c);
    ASSERT_STREQ(c.p2p_listen, "tcp://127.0.0.1:26600");
    ASSERT_STREQ(c.http_listen, "127.0.0.1:26601");
    ASSERT_STREQ(c.client_listen, "tcp://127.0.0.1:26602");
    ASSERT_STREQ(c.log_level, "info");
    ASSERT_STREQ(c.log_format, "logfmt");

    scratch_open(&s);
    snprintf(c.moniker, sizeof c.moniker, "alpha-1");
    snprintf(c.p2p_listen, sizeof c.p2p_listen, "tcp://*:7000");
    snprintf(c.http_listen, sizeof c.http_listen, "0.0.0.0:7001");
    snprintf(c.client_listen, sizeof c.client_listen, "tcp://127.0.0.1:7002");
    snprintf(c.log_level, sizeof c.log_level, "consensus=debug,net=warn,info");
    snprintf(c.log_format, sizeof c.log_format, "json");
    ASSERT_OK(net_config_write(path_of(&s, "config.toml"), &c, errmsg));
    ASSERT_OK(net_config_load(s.path, &back, errmsg));
    ASSERT_MEMEQ(&back, &c, sizeof c);
    ASSERT_ERR(net_config_load(path_of(&s, "none.toml"), &back, errmsg),
               SEQ_ENOTFOUND);
    scratch_close(&s);
}

/* TOML as people write it: comments, indentation, literal strings, blank
 * lines, inline comments; a missing key keeps its default. */
TEST(config, toml_as_written_by_hand)
{
    struct scratch s;
    struct net_config c;
    char errmsg[SEQ_ERRMSG_LEN];

    scratch_open(&s);
    put_file(path_of(&s, "config.toml"),
             "# hand-written\n"
             "\n"
             "[node]\n"
             "  moniker = 'bob'   # the name in logs\n"
             "[rpc]\n"
             "\thttp = \"127.0.0.1:8080\"\n"
             "[log]\n"
             "level=\"debug\"\n",
             0644);
    ASSERT_OK(net_config_load(s.path, &c, errmsg));
    ASSERT_STREQ(c.moniker, "bob");
    ASSERT_STREQ(c.http_listen, "127.0.0.1:8080");
    ASSERT_STREQ(c.log_level, "debug");
    ASSERT_STREQ(c.p2p_listen, "tcp://127.0.0.1:26600");
    ASSERT_STREQ(c.client_listen, "tcp://127.0.0.1:26602");
    ASSERT_STREQ(c.log_format, "logfmt");
    put_file(s.path, "", 0644);
    ASSERT_OK(net_config_load(s.path, &c, errmsg));
    ASSERT_STREQ(c.moniker, "node0");
    scratch_close(&s);
}

TEST(config, every_validation_error_is_named)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        { "[log]\nlevle = \"info\"\n",
          "config.toml: line 2: unknown key \"levle\" in [log]" },
        { "[logs]\nlevel = \"info\"\n", "unknown key \"level\" in [logs]" },
        { "moniker = \"x\"\n",
          "line 1: unknown key \"moniker\" outside any [section]" },
        { "[node]\nmoniker = \"a\"\nmoniker = \"b\"\n",
          "line 3: [node] moniker: set twice" },
        { "[node]\nmoniker = bob\n",
          "line 2: [node] moniker: want a quoted string" },
        { "[node]\nmoniker = \"bob\n", "moniker: unterminated string" },
        { "[node]\nmoniker = \"bob\" x\n", "unexpected text after" },
        { "[node]\nmoniker = \"b\\\\ob\"\n", "escape sequences" },
        { "[node]\nmoniker = \"b o b\"\n", "[node] moniker: want 1 to 63" },
        { "[node]\nmoniker = \"\"\n", "[node] moniker: want 1 to 63" },
        { "[p2p]\nlisten = \"127.0.0.1:1\"\n",
          "[p2p] listen: want tcp://IPv4-address:port" },
        /* Only what the node can bind: no host names, no IPv6 yet. */
        { "[p2p]\nlisten = \"tcp://localhost:1\"\n",
          "[p2p] listen: want tcp://IPv4-address:port" },
        { "[rpc]\nclient = \"tcp://[::1]:1\"\n",
          "[rpc] client: want tcp://IPv4-address:port" },
        { "[rpc]\nhttp = \"localhost:1\"\n",
          "[rpc] http: want IPv4-address:port" },
        { "[rpc]\nhttp = \"*:1\"\n", "[rpc] http: want IPv4-address:port" },
        { "[p2p]\nlisten = \"tcp://127.0.0.1:99999\"\n",
          "[p2p] listen: want tcp://" },
        { "[rpc]\nhttp = \"http://127.0.0.1:1\"\n",
          "[rpc] http: want IPv4-address:port" },
        { "[rpc]\nclient = \"tcp://h:\"\n", "[rpc] client: want tcp://" },
        { "[log]\nformat = \"text\"\n",
          "[log] format: want \"logfmt\" or \"json\"" },
        { "[log]\nlevel = \"info; drop\"\n", "[log] level: want a level" },
        { "[node]\njunk\n", "line 2: want [section] or key = \"value\"" },
        { "[node\n", "line 1: want [section]" },
    };
    struct scratch s;
    struct net_config c;
    char errmsg[SEQ_ERRMSG_LEN];
    size_t i;

    scratch_open(&s);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put_file(path_of(&s, "config.toml"), cases[i].text, 0644);
        errmsg[0] = '\0';
        net_config_defaults(&c);
        if (net_config_load(s.path, &c, errmsg) != SEQ_EINVAL) {
            harness_fail(__FILE__, __LINE__, "case %zu (%s) was accepted", i,
                         cases[i].want);
        }
        if (strstr(errmsg, cases[i].want) == NULL) {
            harness_fail(__FILE__, __LINE__, "case %zu: \"%s\" lacks \"%s\"", i,
                         errmsg, cases[i].want);
        }
    }
    scratch_close(&s);
}

/* A value longer than its field, and a line longer than inih's buffer
 * (which inih would cut in two and misread), are refused. */
TEST(config, overlong_values_and_lines)
{
    struct scratch s;
    struct net_config c;
    char errmsg[SEQ_ERRMSG_LEN];
    char text[1024];
    char value[512];

    scratch_open(&s);
    memset(value, 'a', 150);
    snprintf(value + 150, sizeof value - 150, ":1");
    snprintf(text, sizeof text, "[rpc]\nhttp = \"%s\"\n", value);
    put_file(path_of(&s, "config.toml"), text, 0644);
    ASSERT_ERR(net_config_load(s.path, &c, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "line 2: [rpc] http: too long");
    memset(value, 'a', 400);
    value[400] = '\0';
    snprintf(text, sizeof text, "[node]\nmoniker = \"%s\"\n", value);
    put_file(s.path, text, 0644);
    ASSERT_ERR(net_config_load(s.path, &c, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "config.toml: line 2: longer than");
    scratch_close(&s);
}

TEST(config, writer_refuses_what_the_loader_would)
{
    struct scratch s;
    struct net_config c;
    char errmsg[SEQ_ERRMSG_LEN];

    scratch_open(&s);
    net_config_defaults(&c);
    snprintf(c.log_format, sizeof c.log_format, "xml");
    ASSERT_ERR(net_config_write(path_of(&s, "config.toml"), &c, errmsg),
               SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "[log] format");
    net_config_defaults(&c);
    memset(c.moniker, 'a', sizeof c.moniker); /* Not terminated. */
    ASSERT_ERR(net_config_write(s.path, &c, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "[node] moniker: too long");
    ASSERT_EQ(test_count_entries(s.dir), 0u);
    scratch_close(&s);
}

/* --------------------------------------------------------------- keys */

TEST(keys, node_key_round_trip_mode_0600)
{
    struct scratch s;
    struct net_node_key k;
    struct net_node_key other;
    struct net_node_key back;
    char errmsg[SEQ_ERRMSG_LEN];
    mode_t old_mask = umask(0);

    scratch_open(&s);
    ASSERT_OK(net_node_key_generate(&k));
    ASSERT_OK(net_node_key_generate(&other));
    ASSERT_NE(memcmp(k.secret_key, other.secret_key, NET_CURVE_KEY_LEN), 0);
    ASSERT_OK(net_node_key_write(path_of(&s, "node_key.json"), &k, errmsg));
    ASSERT_EQ(test_file_mode(s.path), 0600u); /* Even with umask 0. */
    ASSERT_OK(net_node_key_load(s.path, &back, errmsg));
    ASSERT_MEMEQ(&back, &k, sizeof k);
    umask(old_mask);

    /* A pair that does not belong together is refused both ways. */
    memcpy(other.public_key, k.public_key, NET_CURVE_KEY_LEN);
    ASSERT_ERR(net_node_key_write(s.path, &other, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "public_key: is not the public key");
    scratch_close(&s);
}

TEST(keys, validator_key_round_trip_mode_0600)
{
    struct scratch s;
    struct net_validator_key k;
    struct net_validator_key back;
    struct hs_pubkey pk;
    char errmsg[SEQ_ERRMSG_LEN];
    mode_t old_mask = umask(022);

    scratch_open(&s);
    ASSERT_OK(net_validator_key_generate(&k));
    ASSERT_OK(hs_crypto_secp_pubkey(k.seckey, &pk));
    ASSERT_MEMEQ(&pk, &k.pubkey, sizeof pk);
    ASSERT_OK(net_validator_key_write(path_of(&s, "priv_validator_key.json"),
                                      &k, errmsg));
    ASSERT_EQ(test_file_mode(s.path), 0600u);
    ASSERT_OK(net_validator_key_load(s.path, &back, errmsg));
    ASSERT_MEMEQ(&back, &k, sizeof k);
    umask(old_mask);
    k.pubkey.bytes[0] ^= 1;
    ASSERT_ERR(net_validator_key_write(s.path, &k, errmsg), SEQ_EINVAL);
    ASSERT_CONTAINS(errmsg, "pubkey: is not the public key of seckey");
    scratch_close(&s);
}

TEST(keys, readable_by_others_is_refused)
{
    static const mode_t bad[] = { 0640, 0604, 0660, 0644, 0610, 0601 };
    struct scratch s;
    struct net_validator_key vk;
    struct net_node_key nk;
    char errmsg[SEQ_ERRMSG_LEN];
    char node_path[512];
    size_t i;

    scratch_open(&s);
    ASSERT_OK(net_validator_key_generate(&vk));
    ASSERT_OK(net_node_key_generate(&nk));
    snprintf(node_path, sizeof node_path, "%s/node_key.json", s.dir);
    ASSERT_OK(net_node_key_write(node_path, &nk, errmsg));
    ASSERT_OK(net_validator_key_write(path_of(&s, "priv_validator_key.json"),
                                      &vk, errmsg));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(chmod(s.path, bad[i]), 0);
        ASSERT_ERR(net_validator_key_load(s.path, &vk, errmsg), SEQ_EINVAL);
        ASSERT_CONTAINS(errmsg, "chmod 600");
        ASSERT_CONTAINS(errmsg, "priv_validator_key.json");
        ASSERT_EQ(chmod(node_path, bad[i]), 0);
        ASSERT_ERR(net_node_key_load(node_path, &nk, errmsg), SEQ_EINVAL);
        ASSERT_CONTAINS(errmsg, "chmod 600");
    }
    ASSERT_EQ(chmod(s.path, 0400), 0); /* Read-only for the owner is fine. */
    ASSERT_OK(net_validator_key_load(s.path, &vk, errmsg));
    scratch_close(&s);
}

TEST(keys, malformed_key_files)
{
    static const struct {
        const char *file;
        const char *text;
        const char *want;
    } cases[] = {
        { "priv_validator_key.json", "{", "priv_validator_key.json: line" },
        { "priv_validator_key.json", "{\"seckey\": \"00\"}",
          "pubkey: missing" },
        { "priv_validator_key.json",
          "{\"pubkey\": \"00\", \"seckey\": \"00\", \"x\": 1}",
          "unknown field \"x\"" },
        { "priv_validator_key.json", "{\"pubkey\": \"00\", \"seckey\": \"00\"}",
          "pubkey: want 64 hex characters" },
        { "priv_validator_key.json",
          "{\"pubkey\": \"0000000000000000000000000000000000000000000000000"
          "000000000000000\", \"seckey\": \"00000000000000000000000000000000"
          "00000000000000000000000000000000\"}",
          "seckey: not a valid secp256k1 secret key" },
        { "priv_validator_key.json",
          "{\"pubkey\": \"0000000000000000000000000000000000000000000000000"
          "000000000000000\", \"seckey\": \"00000000000000000000000000000000"
          "00000000000000000000000000000001\"}",
          "pubkey: is not the public key of seckey" },
        { "node_key.json", "[]", "node_key.json: want a JSON object" },
        { "node_key.json", "{\"public_key\": 5, \"secret_key\": \"\"}",
          "public_key: want a string" },
        { "node_key.json",
          "{\"public_key\": \"0000000000000000000000000000000000000000\","
          " \"secret_key\": \"abc\"}",
          "secret_key: want a 40-character Z85" },
        { "node_key.json",
          "{\"public_key\": \"0000000000000000000000000000000000000000\","
          " \"secret_key\": \"0000000000000000000000000000000000000001\"}",
          "public_key: is not the public key of secret_key" },
    };
    struct scratch s;
    struct net_validator_key vk;
    struct net_node_key nk;
    char errmsg[SEQ_ERRMSG_LEN];
    size_t i;
    int rv;

    scratch_open(&s);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put_file(path_of(&s, cases[i].file), cases[i].text, 0600);
        errmsg[0] = '\0';
        if (cases[i].file[0] == 'p') {
            rv = net_validator_key_load(s.path, &vk, errmsg);
        } else {
            rv = net_node_key_load(s.path, &nk, errmsg);
        }
        if (rv != SEQ_EINVAL || strstr(errmsg, cases[i].want) == NULL) {
            harness_fail(__FILE__, __LINE__, "case %zu: %d \"%s\" lacks \"%s\"",
                         i, rv, errmsg, cases[i].want);
        }
    }
    ASSERT_ERR(net_node_key_load(path_of(&s, "absent.json"), &nk, errmsg),
               SEQ_ENOTFOUND);
    scratch_close(&s);
}

/* ------------------------------------------------------- atomic write */

/* A replaced file is a new inode renamed into place, and the directory
 * holds only the file afterwards: no temporary is left behind. */
TEST(atomic, replace_by_rename_leaves_no_debris)
{
    struct scratch s;
    struct net_config c;
    char errmsg[SEQ_ERRMSG_LEN];
    struct stat before;
    struct stat after;

    scratch_open(&s);
    net_config_defaults(&c);
    ASSERT_OK(net_config_write(path_of(&s, "config.toml"), &c, errmsg));
    ASSERT_EQ(stat(s.path, &before), 0);
    snprintf(c.moniker, sizeof c.moniker, "renamed");
    ASSERT_OK(net_config_write(s.path, &c, errmsg));
    ASSERT_EQ(stat(s.path, &after), 0);
    ASSERT_NE(before.st_ino, after.st_ino);
    ASSERT_EQ(test_count_entries(s.dir), 1u);
    ASSERT_OK(net_config_load(s.path, &c, errmsg));
    ASSERT_STREQ(c.moniker, "renamed");

    ASSERT_ERR(
        net_config_write(path_of(&s, "no/such/dir/config.toml"), &c, errmsg),
        SEQ_EIO);
    ASSERT_CONTAINS(errmsg, "no/such/dir/config.toml");
    scratch_close(&s);
}

/* A write that fails half-way (here: the file-size limit hits in the
 * middle) leaves the old file whole and nothing else. The writer runs in a
 * child so the limit does not outlive it. */
TEST(atomic, failed_write_leaves_the_old_file)
{
    struct scratch s;
    struct net_genesis *small = genesis_new(1);
    struct net_genesis *big = genesis_new(HS_MAX_VALIDATORS);
    char errmsg[SEQ_ERRMSG_LEN];
    char *before;
    char *after;
    size_t len;
    int status;
    pid_t pid;

    scratch_open(&s);
    ASSERT_OK(net_genesis_write(path_of(&s, "genesis.json"), small, errmsg));
    before = test_read_file(s.path, &len);
    pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        struct rlimit limit = { .rlim_cur = len + 100, .rlim_max = len + 100 };

        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &limit);
        _exit(net_genesis_write(s.path, big, errmsg) == SEQ_EIO ? 0 : 1);
    }
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    after = test_read_file(s.path, NULL);
    ASSERT_STREQ(after, before);
    ASSERT_EQ(test_count_entries(s.dir), 1u);
    free(after);
    free(before);
    free(big);
    free(small);
    scratch_close(&s);
}

/* A reader racing a writer always loads a whole file, one of the two
 * versions, never a prefix. */
TEST(atomic, concurrent_reader_sees_whole_files)
{
    struct scratch s;
    struct net_genesis *a = genesis_new(HS_MAX_VALIDATORS);
    struct net_genesis *b = genesis_new(2);
    struct net_genesis *seen = malloc(sizeof *seen);
    char errmsg[SEQ_ERRMSG_LEN];
    unsigned loads = 0;
    int status;
    pid_t pid;

    scratch_open(&s);
    ASSERT_OK(net_genesis_write(path_of(&s, "genesis.json"), a, errmsg));
    pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        int i;

        for (i = 0; i < 200; i++) {
            if (net_genesis_write(s.path, i % 2 ? a : b, errmsg) != 0) {
                _exit(1);
            }
        }
        _exit(0);
    }
    while (waitpid(pid, &status, WNOHANG) == 0) {
        int rv = net_genesis_load(s.path, seen, errmsg);

        if (rv != 0) {
            harness_fail(__FILE__, __LINE__, "load %u: %s", loads, errmsg);
        }
        ASSERT_TRUE(seen->n_validators == 2 ||
                    seen->n_validators == HS_MAX_VALIDATORS);
        loads++;
    }
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_GT(loads, 0u);
    free(seen);
    free(b);
    free(a);
    scratch_close(&s);
}

TEST_MAIN()
