/* check.h - how the code states what it knows, after SQLite's assert,
 * ALWAYS and NEVER (sqliteInt.h).
 *
 *   assert(X)     a proven invariant: X cannot be false unless the code is
 *                 wrong.  Checked in the debug, san and stress builds,
 *                 compiled out with NDEBUG (release).
 *   ALWAYS(X)     a condition believed true but defended: the code after it
 *   NEVER(X)      still handles the other case (returns an error, skips).
 *                 Debug builds assert it, so a test that reaches the
 *                 "impossible" branch fails; release builds evaluate X and
 *                 take the defended path.  Use them in an if:
 *                     if (NEVER(i >= n)) return SIM_EINVAL;
 *   SIM_CHECK(c, X)  run an invariant checker X (an expression that is true
 *                 when the structure is sound) under assert: after every
 *                 operation in the stress build (-DEVS_STRESS), every
 *                 SIM_CHECK_PERIOD-th operation of counter c in the other
 *                 assert builds (the checkers may be O(n)), never in
 *                 release.  c is an unsigned counter in the checked
 *                 structure, so two structures do not share state.
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <assert.h>

#ifdef NDEBUG
#define ALWAYS(X) (X)
#define NEVER(X) (X)
#define SIM_CHECK(c, X) ((void)0)
#else
#define ALWAYS(X) ((X) ? 1 : (assert(0 && "ALWAYS(" #X ")"), 0))
#define NEVER(X) ((X) ? (assert(0 && "NEVER(" #X ")"), 1) : 0)
#ifdef EVS_STRESS
#define SIM_CHECK_PERIOD 1u
#else
#define SIM_CHECK_PERIOD 1024u
#endif
#define SIM_CHECK(c, X) \
	do { \
		if ((c)++ % SIM_CHECK_PERIOD == 0) \
			assert(X); \
	} while (0)
#endif

#endif
