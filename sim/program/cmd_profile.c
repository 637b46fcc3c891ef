/* cmd_profile.c - `throttlesim profile RECORD [--identity ADDR]`: what a
 * real client did under `serve --record`, as the `session:` and `retry:`
 * sections of a sender (docs/SERVE.md, "The record", Replaying a record), with the raw
 * observations as comments above them.  The numbers come from
 * srec_profile_read and srec_profile_fit (models/record.h); this file
 * only chooses and prints.
 *
 * What is chosen, and why:
 *   connections           the most sessions of the identity open at once
 *   messages_per_session  the most message attempts on one connection: a
 *                         client's session ends when its queue is empty as
 *                         often as at its limit, so the mean says more of
 *                         the traffic than of the client (it is printed
 *                         as a comment)
 *   max_attempts          the most attempts of one message
 *   base, factor          srec_profile_fit: fixed, or exponential when the
 *                         waits grow by 10 % or more per attempt
 *   honors_permanent      false when a 5xx was ever followed by another
 *                         attempt of the same message
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exit.h"
#include "record.h"
#include "replies.h"
#include "rfile.h"
#include "status.h"
#include "term.h"

static const char profile_usage[] =
"usage: throttlesim profile RECORD [--identity ADDR]\n"
"\n"
"Reads a record written by `throttlesim serve --record RECORD` and prints, as\n"
"YAML, a sender's session: and retry: sections that behave as the client that\n"
"authenticated as ADDR did (by default the record's only identity), with what\n"
"was observed as comments.\n"
"\n"
"options:\n"
"  --identity ADDR   the client's mailbox (as it authenticated; case aside)\n"
"  -h, --help        this text\n";

enum { P_IDENTITY };
static const cli_opt profile_opts[] = {
	{ "--identity", NULL, true, P_IDENTITY },
};

typedef struct profile_args {
	const char *file, *identity;
} profile_args;

static int profile_arg(void *ctx, int id, const char *opt, const char *val)
{
	(void)opt;
	profile_args *a = ctx;
	if (id == CLI_ARG) {
		if (a->file) {
			term_eprintf("throttlesim profile: unexpected argument '%s' (one record file)\n", val);
			return -1;
		}
		a->file = val;
		return 0;
	}
	if (!val[0] || strlen(val) >= SREC_STR_MAX) {
		term_eprintf("throttlesim profile: --identity: expected a mailbox address\n");
		return -1;
	}
	a->identity = val;
	return 0;
}

/* A duration the scenario loader reads back: whole seconds as "90s",
 * else milliseconds ("1500ms"), rounded to the millisecond. */
static void put_dur(char *buf, size_t len, int64_t ns)
{
	int64_t ms = (ns + 500000) / 1000000;
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

/* The catalog classes a code and enhanced code may stand for ("" if none). */
static void class_names(int code, const char *enh, char *buf, size_t len)
{
	char head[32];
	size_t hn = (size_t)snprintf(head, sizeof head, "%d %s ", code, enh);
	buf[0] = '\0';
	for (int c = 0; c < RC_COUNT; c++) {
		const rpl_class_info *ci = rpl_class(c);
		if (strncmp(ci->text, head, hn))
			continue;
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", used ? "/" : "", ci->id);
	}
}

/* A steady gap between messages (a sleep in the sending loop): at least
 * SREC_STEADY_GAPS gaps outside the pauses, the median at least 100 ms
 * (a client that sends at once shows the envelope's round trips only). */
#define SREC_STEADY_GAPS 5
static bool steady_gap(const srec_profile *p)
{
	return (int64_t)p->gaps.n - p->pauses >= SREC_STEADY_GAPS && p->gap_median_ns >= 100000000LL;
}

static void print_profile(srec_profile *p, const char *file)
{
	char b1[32], b2[32];
	int64_t base_ns;
	double factor;
	srec_profile_fit(p, &base_ns, &factor);
	printf("# throttlesim profile %s --identity %s\n", file, p->identity);
	put_dur(b1, sizeof b1, p->first_model_ns);
	put_dur(b2, sizeof b2, p->last_model_ns);
	printf("# observed from %s to %s (model time): %lld sessions, %lld attempts of %lld messages\n", b1, b2,
	       (long long)p->sessions, (long long)p->attempts, (long long)p->messages);
	printf("# sessions at once: at most %lld (connections)\n", (long long)p->max_sessions_at_once);
	printf("# attempts per session: at most %lld (messages_per_session), mean %.2f\n",
	       (long long)p->max_per_session, p->sessions ? (double)p->attempts / (double)p->sessions : 0.0);
	printf("# attempts per message: at most %lld (max_attempts); messages with", (long long)p->max_attempts);
	const char *sep = " ";
	for (int k = 1; k <= SREC_PROFILE_RETRIES; k++)
		if (p->attempts_hist[k]) {
			printf("%s%s%d: %lld", sep, k == SREC_PROFILE_RETRIES ? ">=" : "", k, (long long)p->attempts_hist[k]);
			sep = ", ";
		}
	printf("\n# replies, and the wait from each to the next attempt of its message:\n");
	printf("#   reply      class                     replies  retried  median wait\n");
	for (size_t i = 0; i < p->n_classes; i++) {
		srec_reply_obs *o = &p->cls[i];
		char names[160], reply[32];
		class_names(o->code, o->enhanced, names, sizeof names);
		snprintf(reply, sizeof reply, "%d %s", o->code, o->enhanced[0] ? o->enhanced : "-");
		if (o->retried)
			put_dur(b1, sizeof b1, srec_median(&o->waits));
		else
			snprintf(b1, sizeof b1, "-");
		printf("#   %-10s %-25s %7lld  %7lld  %s\n", reply, names[0] ? names : "-", (long long)o->replies,
		       (long long)o->retried, b1);
	}
	if (p->other_classes)
		printf("#   (%lld more replies of further codes, not listed)\n", (long long)p->other_classes);
	bool transient = false;
	for (int k = 1; k <= SREC_PROFILE_RETRIES; k++)
		transient |= p->transient_by_attempt[k].n > 0;
	printf("# waits to the next attempt by attempt (after %s replies): median, count\n",
	       transient ? "4xx" : "any");
	for (int k = 1; k <= SREC_PROFILE_RETRIES; k++) {
		srec_wait_list *w = transient ? &p->transient_by_attempt[k] : &p->any_by_attempt[k];
		if (!w->n)
			continue;
		put_dur(b1, sizeof b1, srec_median(w));
		printf("#   after attempt %s%d: %s, %zu\n", k == SREC_PROFILE_RETRIES ? ">=" : "", k, b1, w->n);
	}
	if (!p->permanent_replies)
		printf("# no 5xx reply was seen: honors_permanent is the default, true\n");
	/* pacing and reactions: keys only on consistent evidence */
	bool gap = steady_gap(p);
	if (p->gaps.n) {
		put_dur(b1, sizeof b1, p->gap_median_ns);
		printf("# gaps from a reply to the next message on one connection: %zu, median %s (without the %lld "
		       "pauses)%s\n", p->gaps.n, b1, (long long)p->pauses, gap ? ": message_gap" : "");
	}
	if (p->batch_size > 0) {
		put_dur(b1, sizeof b1, p->batch_pause_ns);
		printf("# %lld messages, then a pause of %s, each time: batch_size, batch_pause\n",
		       (long long)p->batch_size, b1);
	}
	if (p->stopped_at_refusal)
		printf("# the client sent nothing after its first refusal: abort_on: any\n");
	printf("# not in a record: whether the application read the end-of-data reply (ignores_data_reply),\n"
	       "# its read timeout, serialised connects\n");
	printf("session:\n");
	printf("  connections: %lld\n", (long long)(p->max_sessions_at_once > 0 ? p->max_sessions_at_once : 1));
	printf("  messages_per_session: %lld\n", (long long)(p->max_per_session > 0 ? p->max_per_session : 1));
	if (gap) {
		put_dur(b1, sizeof b1, p->gap_median_ns);
		printf("  message_gap: %s\n", b1);
	}
	if (p->batch_size > 0) {
		put_dur(b1, sizeof b1, p->batch_pause_ns);
		printf("  batch_size: %lld\n  batch_pause: %s\n", (long long)p->batch_size, b1);
	}
	printf("retry:\n");
	if (p->stopped_at_refusal)
		printf("  abort_on: any\n");
	if (p->max_attempts <= 1) {
		printf("  max_attempts: 1\n");
		return;
	}
	put_dur(b1, sizeof b1, base_ns);
	if (factor > 1.0)
		printf("  policy: exponential\n  base: %s\n  factor: %g\n", b1, factor);
	else
		printf("  policy: fixed\n  base: %s\n", b1);
	printf("  max_attempts: %lld\n", (long long)p->max_attempts);
	printf("  honors_permanent: %s\n", p->retried_permanent ? "false" : "true");
}

int cmd_profile(int argc, char **argv)
{
	profile_args a = { NULL, NULL };
	int st = cli_parse("profile", profile_usage, profile_opts, sizeof profile_opts / sizeof *profile_opts,
			   argc, argv, profile_arg, &a);
	if (st != 0)
		return st > 0 ? EXIT_OK : EXIT_USAGE;
	if (!a.file) {
		term_eprintf("throttlesim profile: expected a record file (usage: throttlesim profile RECORD)\n");
		return EXIT_USAGE;
	}
	int err = 0;
	FILE *f = rfile_open(a.file, &err);
	if (!f) {
		if (!err)
			term_eprintf("throttlesim profile: %s: not a regular file\n", a.file);
		else
			term_eprintf("throttlesim profile: cannot open %s: %s\n", a.file, strerror(err));
		return EXIT_USAGE;
	}
	/* 32 KiB of line buffers and the profile: not on the stack */
	srec_reader *r = malloc(sizeof *r);
	srec_profile *p = malloc(sizeof *p);
	if (!r || !p) {
		free(r);
		free(p);
		fclose(f);
		term_eprintf("throttlesim profile: out of memory\n");
		return EXIT_FAIL;
	}
	char msg[512];
	srec_init_file(r, f);
	int rc = srec_profile_read(r, a.identity, &sim_alloc_std, p, msg, sizeof msg);
	fclose(f);
	free(r);
	if (rc != SIM_OK) {
		/* a line's problem is "LINE:COL: why": after the file name as a compiler puts it */
		term_eprintf("throttlesim profile: %s:%s%s\n", a.file, isdigit((unsigned char)msg[0]) ? "" : " ", msg);
		if (rc == SIM_ESCENARIO && p->n_identities > 1)
			term_eprintf("throttlesim profile: give --identity ADDR\n");
		free(p);
		return rc == SIM_ENOMEM ? EXIT_FAIL : EXIT_USAGE;
	}
	print_profile(p, a.file);
	srec_profile_free(p, &sim_alloc_std);
	free(p);
	return EXIT_OK;
}
