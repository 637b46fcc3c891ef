/* sendas.h - who a mailbox may send as: the checks `serve` makes on the
 * envelope sender (MAIL FROM) and the From header of a message submitted
 * by an authenticated mailbox, against the scenario's grants
 * (docs/SCENARIOS.md, mailboxes: send_as).  The simulator does not call
 * them: its Send As refusals are drawn (faults: send_as_denied).
 *
 * Addresses compare case-insensitively, local part included, as Exchange
 * Online matches SMTP proxy addresses; only ASCII letters fold (a UTF-8
 * local part or domain compares byte for byte), and the fold does not
 * depend on the C locale.  Addresses are compared as given: the caller
 * strips the angle brackets and any display name first.
 *
 * Pure functions of their arguments: no allocation, no state; safe from
 * any thread while the scenario lives.
 */
#ifndef MODELS_SENDAS_H
#define MODELS_SENDAS_H

#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"

/* Whether mailbox mb may use addr (without angle brackets) as envelope
 * sender or From: true when addr is mb's own name, or a grant of
 * mb->send_as is addr itself, "*@D" with addr's domain (after its last
 * '@', its local part not empty) equal to D, or "*".  A grant of a domain
 * covers that domain only, not its subdomains.  An empty or NULL addr
 * (the null reverse path <>) is false.  O(grants x address length). */
bool scn_may_send_as(const scn_mailbox *mb, const char *addr);

/* The index of the mailbox whose name is addr, or -1 (addr NULL or
 * empty, or no such mailbox).  Case-insensitive as above; the loader
 * keeps names unique only as written, so when two names differ only in
 * case, the one written as addr wins, else the lowest index.  Linear in
 * the mailboxes (O(M x name length)): a server that looks up every
 * connection builds its own hash over the names. */
int64_t scn_mailbox_find(const scenario *s, const char *addr);

#endif
