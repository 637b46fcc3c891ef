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
 *                 operation in the stress build (-DEVS_STRESS); in the
 *                 other assert builds at the 1st, 2nd, 4th, 8th, ...
 *                 operation of counter c and then every 65,536th, so an
 *                 O(n) checker costs O(1) amortised (the debug tests also
 *                 run under valgrind); never in release.  c is an unsigned
 *                 counter in the checked structure, so two structures do
 *                 not share state.
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
#define SIM_CHECK_DUE(n) ((void)(n), 1)
#else
#define SIM_CHECK_DUE(n) (((n) & ((n) - 1)) == 0 || ((n) & 0xffffu) == 0)
#endif
#define SIM_CHECK(c, X) \
	do { \
		++(c); \
		if (SIM_CHECK_DUE(c)) \
			assert(X); \
	} while (0)
#endif

#endif
