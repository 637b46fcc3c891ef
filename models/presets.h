/* presets.h - route presets as data: each fills an scn_limits with the
 * limits and replies of one way of reaching a mail service.
 *
 * exchange-online is the published Exchange Online SMTP AUTH client
 * submission (MODEL.md; reference/exchange-online.md, keys SUB, CET, SD,
 * NDR, PS, B18, B26, TERRL).  exchange-server is an on-premises client
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

#include "scenario.h"

#define PRESET_FOLLOW_TENANT (-1)

/* Fill *out with preset `name`.  Returns 0, or SIM_EINVAL (out untouched)
 * if there is no such preset. */
int preset_fill(const char *name, scn_limits *out);

/* The i-th preset name (0-based), NULL past the end: for listing and for
 * "did you mean" suggestions. */
const char *preset_name(size_t i);

/* The default reply of a class, as Exchange Online gives it (the texts of
 * the three 535 5.7.139 AUTH refusals live only here; the per-limit replies
 * are also copied into scn_limits, where a preset or a scenario may change
 * them).  Never NULL; RC_COUNT or beyond gives an empty reply. */
const scn_reply *preset_reply(scn_reply_class c);

/* Shorthand for preset_reply(c)->text. */
const char *preset_reply_text(scn_reply_class c);

/* A short stable name for the class ("concurrency", "mailbox_full", ...),
 * as used in reports and in scenario keys. */
const char *preset_reply_class_name(scn_reply_class c);

#endif
