/* presets.h - route presets as data: each fills an scn_limits with the
 * limits and replies of one way of reaching a mail service.
 *
 * exchange-online is the published Exchange Online SMTP AUTH client
 * submission (MODEL.md; docs/SOURCES.md, keys SUB, CET, SD, NDR, PS,
 * B18, B26, TERRL).  exchange-server is an on-premises client
 * submission receive connector (EXS, PS).  direct-send, relay-connector,
 * hve and external are for mitigation comparisons; the sources publish
 * (almost) none of their limits, so most of their numbers are assumptions,
 * marked ASSUMPTION in presets.c and in docs/SCENARIOS.md.
 *
 * The tenant external recipient limit (TERRL) is a tenant setting, not a
 * preset one: a preset subject to it sets external_rate.limit to
 * PRESET_FOLLOW_TENANT, which the loader replaces with the tenant's limit
 * (0 when off).  A resolved scenario never contains PRESET_FOLLOW_TENANT.
 *
 * Pure data and functions of it: no state, no allocation, thread-safe.
 */
#ifndef MODELS_PRESETS_H
#define MODELS_PRESETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

#define PRESET_FOLLOW_TENANT (-1)

/* Fill *out with preset `name`.  Returns 0, or SIM_EINVAL (out untouched)
 * if there is no such preset. */
int preset_fill(const char *name, scn_limits *out);

/* The i-th preset name (0-based), NULL past the end: for listing and for
 * "did you mean" suggestions. */
const char *preset_name(size_t i);

/* The catalog's reply of a class (replies.h) as an scn_reply: what
 * Exchange Online answers, before a preset or a scenario changes it in
 * scn_limits.reply[].  Never NULL; RC_COUNT or beyond gives an empty reply. */
const scn_reply *preset_reply(scn_reply_class c);

/* The tenant external recipient limit for `auto`: 500 * licenses^0.7 +
 * 9,500, rounded half up (TERRL); licenses < 1 counts as 1.  The one home
 * of the formula: the loader resolves `auto` with it. */
int64_t preset_tenant_external_auto(int64_t licenses);

/* ---- client retry profiles --------------------------------------------- */

/* The named retry policies a sender's `retry:` may give (docs/SCENARIOS.md),
 * as data: each sets some of scn_retry's fields, with its source.  The
 * names, NULL-terminated, in catalog order. */
extern const char *const preset_retry_names[];

/* Applies profile i (an index into preset_retry_names) to *r: the fields
 * the profile sets, the others left as they are.  SIM_EINVAL for a bad i. */
int preset_retry_apply(size_t i, scn_retry *r);
/* Whether profile i's waits grow (factor > 1), so that `factor` may be set. */
bool preset_retry_grows(size_t i);

/* ---- client profiles ------------------------------------------------------ */

/* The named client profiles a sender's `client:` may give (docs/SCENARIOS.md
 * "client"): what a library or device does, as data, each with its source
 * (presets.c, docs/SOURCES.md "Client profiles").  A profile sets the
 * session and retry keys it names; the sender's own `session:` and
 * `retry:` keys then override it.  NULL-terminated. */
extern const char *const preset_client_names[];

/* Applies profile i (an index into preset_client_names) to *d.  SIM_OK,
 * or SIM_EINVAL for an unknown index (d untouched). */
int preset_client_apply(size_t i, scn_sender *d);

#endif
