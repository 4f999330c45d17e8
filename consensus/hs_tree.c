/* The block tree (hs_tree.h). A flat array of nodes in insertion order:
 * the tree above the committed root is small (a few blocks in steady
 * state, at most one fetch window while catching up), so a linear scan by
 * id beats a hash table here and keeps iteration order deterministic. */

#include "hs_tree.h"

#include <assert.h>
#include <string.h>

#include "seq_alloc.h"
#include "seq_err.h"

static int append(struct hs_tree *tree,
                  const struct hs_block *block,
                  struct hs_tree_node *parent,
                  struct hs_tree_node **out)
{
    struct hs_tree_node *node;
    int rv;

    if (tree->n == tree->cap) {
        size_t cap = tree->cap == 0 ? 16 : tree->cap * 2;
        struct hs_tree_node **nodes =
            seq_realloc(tree->nodes, cap * sizeof *nodes);
        if (nodes == NULL) {
            return SEQ_ENOMEM;
        }
        tree->nodes = nodes;
        tree->cap = cap;
    }
    node = seq_calloc(1, sizeof *node);
    if (node == NULL) {
        return SEQ_ENOMEM;
    }
    rv = hs_block_copy(&node->block, block);
    if (rv != 0) {
        seq_free(node);
        return rv;
    }
    node->parent = parent;
    tree->nodes[tree->n++] = node;
    if (out != NULL) {
        *out = node;
    }
    return SEQ_OK;
}

int hs_tree_init(struct hs_tree *tree, const struct hs_block *root)
{
    memset(tree, 0, sizeof *tree);
    return append(tree, root, NULL, NULL);
}

static void node_free(struct hs_tree_node *node)
{
    hs_block_free(&node->block);
    seq_free(node);
}

void hs_tree_close(struct hs_tree *tree)
{
    size_t i;

    for (i = 0; i < tree->n; i++) {
        node_free(tree->nodes[i]);
    }
    seq_free(tree->nodes);
    memset(tree, 0, sizeof *tree);
}

const struct hs_block *hs_tree_root(const struct hs_tree *tree)
{
    assert(tree->n > 0);
    return &tree->nodes[0]->block;
}

struct hs_tree_node *hs_tree_find(const struct hs_tree *tree,
                                  const struct seq_hash *id)
{
    size_t i;

    for (i = 0; i < tree->n; i++) {
        if (seq_hash_eq(&tree->nodes[i]->block.id, id)) {
            return tree->nodes[i];
        }
    }
    return NULL;
}

int hs_tree_insert(struct hs_tree *tree,
                   const struct hs_block *block,
                   struct hs_tree_node **out)
{
    struct hs_tree_node *parent;

    if (hs_tree_find(tree, &block->id) != NULL) {
        return SEQ_EEXIST;
    }
    parent = hs_tree_find(tree, &block->parent_id);
    if (parent == NULL) {
        return SEQ_ENOTFOUND;
    }
    if (block->height != parent->block.height + 1 ||
        block->round <= parent->block.round) {
        return SEQ_EINVAL;
    }
    return append(tree, block, parent, out);
}

void hs_tree_prune(struct hs_tree *tree, struct hs_tree_node *root)
{
    size_t i, j;

    /* Parents precede children in the array, so one pass marks exactly the
     * new root and its descendants. */
    for (i = 0; i < tree->n; i++) {
        struct hs_tree_node *node = tree->nodes[i];
        node->keep =
            node == root || (node->parent != NULL && node->parent->keep);
    }
    for (i = 0, j = 0; i < tree->n; i++) {
        struct hs_tree_node *node = tree->nodes[i];
        if (node->keep) {
            tree->nodes[j++] = node;
        } else {
            node_free(node);
        }
    }
    tree->n = j;
    root->parent = NULL;
    /* The root is the first kept node: nothing kept precedes it. */
    assert(tree->n > 0 && tree->nodes[0] == root);
}
