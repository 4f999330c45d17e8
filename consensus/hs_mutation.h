/* Deliberate bugs, compiled only into the test-only library
 * seq_consensus_mut (HS_TEST_MUTATIONS), never into seqd. The harness test
 * turns one on and asserts that the Twins and crash suites then fail: a
 * simulator that cannot catch a broken safety rule proves nothing. */

#ifndef SEQ_CONSENSUS_HS_MUTATION_H
#define SEQ_CONSENSUS_HS_MUTATION_H

enum hs_mutation {
    HS_MUT_NONE = 0,
    HS_MUT_SKIP_LOCK,  /* Vote without the 2-chain / TC safety check. */
    HS_MUT_WEAK_QC,    /* Form and accept QCs and TCs with 2f signers. */
    HS_MUT_NO_PERSIST, /* Never persist the safety state. */
};

#ifdef HS_TEST_MUTATIONS
extern enum hs_mutation hs_mutation;
#define HS_MUTATED(m) (hs_mutation == (m))
#else
#define HS_MUTATED(m) 0
#endif

#endif /* SEQ_CONSENSUS_HS_MUTATION_H */
