/* scn_lint.h - warnings for a scenario that is legal but almost surely
 * not what its author meant (`throttlesim check` prints them; they never
 * stop a run).
 *
 * Each warning names the key it is about (a path such as
 * senders.app.message.external) and says what will happen.  The checks,
 * in order:
 *   - external recipients on an internal-only route (direct send, HVE):
 *     every such message is refused;
 *   - a message size distribution whose every value is over the route's
 *     max_message_size: every message is refused;
 *   - a fault probability of 1 (send_as_denied, invalid_recipients, or
 *     their sum): every message is refused, and on Exchange Online the
 *     mailbox is throttled for every sender on it;
 *   - an arrival profile whose busiest hour falls at night (22:00-06:00)
 *     in the scenario's clock: usually a profile written for another time
 *     zone;
 *   - more connections than the mailboxes take: an instance with more
 *     connections than its mailbox's concurrency limit, or a pool whose
 *     members take fewer concurrent submissions than its senders open
 *     (a default connection pool of 5 on one mailbox).
 * O(senders + pools + empirical values); never allocates.
 */
#ifndef MODELS_SCN_LINT_H
#define MODELS_SCN_LINT_H

#include <stddef.h>

#include "scenario.h"

typedef struct scn_warning {
	char key[2 * SCN_NAME_MAX];
	char msg[320];
} scn_warning;

/* Up to max warnings into out (out may be NULL when max is 0); returns
 * how many there are in all. */
size_t scn_lint(const scenario *s, scn_warning *out, size_t max);

#endif
