/* The block tree: every block the replica holds above its committed root,
 * each linked to its parent. A block enters only when its parent is
 * present, so insertion order is a topological order and a walk from any
 * block reaches the root. Commits prune everything that does not extend
 * the new root. */

#ifndef SEQ_CONSENSUS_HS_TREE_H
#define SEQ_CONSENSUS_HS_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "hs_types.h"

struct hs_tree_node {
    struct hs_block block;       /* Owned copy. */
    struct hs_tree_node *parent; /* NULL for the root. */
    bool certified;              /* A QC for it has been persisted. */
    bool keep;                   /* Scratch for pruning. */
};

struct hs_tree {
    struct hs_tree_node **nodes; /* nodes[0] is the root. */
    size_t n, cap;
};

/* Start from a committed @root (copied). 0 or SEQ_ENOMEM. */
int hs_tree_init(struct hs_tree *tree, const struct hs_block *root);
void hs_tree_close(struct hs_tree *tree);

const struct hs_block *hs_tree_root(const struct hs_tree *tree);
struct hs_tree_node *hs_tree_find(const struct hs_tree *tree,
                                  const struct seq_hash *id);

/* Insert a copy of @block. 0, SEQ_EEXIST (already there), SEQ_ENOTFOUND
 * (parent absent), SEQ_EINVAL (height is not parent's + 1, or the block is
 * not above the root), SEQ_ENOMEM. *out (may be NULL) gets the node. */
int hs_tree_insert(struct hs_tree *tree,
                   const struct hs_block *block,
                   struct hs_tree_node **out);

/* Make @node the root: drop its ancestors and every block that does not
 * extend it. @node must be in the tree. */
void hs_tree_prune(struct hs_tree *tree, struct hs_tree_node *node);

#endif /* SEQ_CONSENSUS_HS_TREE_H */
