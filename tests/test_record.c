/* test_record.c - serve's record read back (models/record.h): the
 * arrivals of `arrivals: {record: FILE, identity, scale}` (scn_record.c),
 * a replay through run_replication, the client profile (record_profile.c
 * and `throttlesim profile`), and hostile records.
 *
 * tests/data/record-small.jsonl, by hand (times are model seconds):
 *   app@contoso.com  conn 1 (0-8): a@x begins 2 (1 int + 1 ext, 1000 B) 250;
 *                                  b@x begins 4 (2 int, 2000 B) 450 4.7.0 at 5
 *                    conn 2 (6-60): no Message-ID, refused at DATA at 7
 *                                  (1 int, size unknown) 550 5.7.54;
 *                                  d@x begins 20 (1 ext, 300 B) 550 5.7.60 at 21,
 *                                  again 51: 250
 *                    conn 4 (65-70), 5 (186-190), 6 (427-430): b@x again,
 *                                  begins 66, 187, 428: 450, 450, 250
 *   other@contoso.com conn 3 (9-12): c@x begins 10 (3 int + 2 ext, 500 B) 250
 *   an unknown event at 25 (ignored); the last line at 430.
 * Run from the repository root (or set THROTTLESIM_ROOT). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "alloc.h"
#include "evset.h"
#include "record.h"
#include "results.h"
#include "run.h"
#include "scn_load.h"
#include "status.h"

#define S 1000000000LL
#define SMALL "tests/data/record-small.jsonl"

static const char *root_path(const char *rel, char *buf, size_t len)
{
	const char *r = getenv("THROTTLESIM_ROOT");
	if (r && *r)
		snprintf(buf, len, "%s/%s", r, rel);
	else
		snprintf(buf, len, "%s", rel);
	return buf;
}

static char *slurp(const char *rel, size_t *len)
{
	char path[600];
	FILE *f = fopen(root_path(rel, path, sizeof path), "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return s;
}

static void check_row(const scn_trace_row *r, int64_t t_ns, int64_t inst, int64_t rcpt, int64_t ext, int64_t size)
{
	assert_int_equal(r->time_ns, t_ns);
	assert_int_equal(r->instance, inst);
	assert_int_equal(r->recipients, rcpt);
	assert_int_equal(r->external, ext);
	assert_int_equal(r->size_bytes, size);
}

/* Every identity: five messages (d@x and b@x once each, at their first
 * attempt), app instance 0, other instance 1; the message refused at DATA
 * has size 0. */
static void test_arrivals_every_identity(void **state)
{
	(void)state;
	size_t len, n = 0, ni = 0;
	char *text = slurp(SMALL, &len);
	scn_trace_row *rows = NULL;
	scn_errors errs = { 0 };
	assert_int_equal(scn_record_parse("small", text, len, NULL, 1, &sim_alloc_std, &rows, &n, &ni, &errs), 0);
	assert_int_equal(errs.n, 0);
	assert_int_equal(n, 5);
	assert_int_equal(ni, 2);
	check_row(&rows[0], 2 * S, 0, 2, 1, 1000);   /* a@x */
	check_row(&rows[1], 4 * S, 0, 2, 0, 2000);   /* b@x, four attempts */
	check_row(&rows[2], 7 * S, 0, 1, 0, 0);      /* no Message-ID */
	check_row(&rows[3], 10 * S, 1, 5, 2, 500);   /* c@x of other@ */
	check_row(&rows[4], 20 * S, 0, 1, 1, 300);   /* d@x, two attempts */
	sim_free(&sim_alloc_std, rows, n * sizeof *rows);
	scn_errors_free(&errs);
	free(text);
}

/* identity (case aside) and scale 3: app's four arrivals at 2, 4, 7, 20
 * s, the copies of each spread over the gap to the next (the last to
 * the record's end, 430 s): copy j at t + floor(j * gap / 3). */
static void test_arrivals_identity_scale(void **state)
{
	(void)state;
	size_t len, n = 0, ni = 0;
	char *text = slurp(SMALL, &len);
	scn_trace_row *rows = NULL;
	assert_int_equal(scn_record_parse("small", text, len, "APP@Contoso.COM", 3, &sim_alloc_std, &rows, &n, &ni,
					  NULL), 0);
	assert_int_equal(n, 12);
	assert_int_equal(ni, 1);
	const int64_t want[12] = {
		2 * S, 2 * S + 666666666, 2 * S + 1333333333,        /* gap 2 s */
		4 * S, 5 * S, 6 * S,                                   /* gap 3 s */
		7 * S, 11 * S + 333333333, 15 * S + 666666666,       /* gap 13 s */
		20 * S, 156 * S + 666666666, 293 * S + 333333333,    /* gap 410 s */
	};
	const int64_t size[4] = { 1000, 2000, 0, 300 };
	for (int i = 0; i < 12; i++) {
		assert_int_equal(rows[i].time_ns, want[i]);
		assert_int_equal(rows[i].instance, 0);
		assert_int_equal(rows[i].size_bytes, size[i / 3]);
	}
	sim_free(&sim_alloc_std, rows, n * sizeof *rows);
	free(text);
}

/* A later line with an earlier begin (a tarpit answers late) moves the
 * arrival and takes that attempt's recipients; a size first unknown is
 * taken from a later attempt. */
static void test_arrivals_first_attempt(void **state)
{
	(void)state;
	const char *text =
		"{\"ev\":\"start\",\"format\":1}\n"
		"{\"ev\":\"message\",\"model_ns\":9000,\"conn\":1,\"mailbox\":\"m@c.com\",\"message_id\":\"x\","
		"\"rcpt_internal\":4,\"rcpt_external\":0,\"size\":-1,\"stage\":\"data\",\"code\":450,\"data_begin_model_ns\":8000}\n"
		"{\"ev\":\"message\",\"model_ns\":9500,\"conn\":2,\"mailbox\":\"m@c.com\",\"message_id\":\"x\","
		"\"rcpt_internal\":1,\"rcpt_external\":1,\"size\":-1,\"stage\":\"data\",\"code\":450,\"data_begin_model_ns\":3000}\n"
		"{\"ev\":\"message\",\"model_ns\":12000,\"conn\":2,\"mailbox\":\"m@c.com\",\"message_id\":\"x\","
		"\"rcpt_internal\":4,\"rcpt_external\":0,\"size\":777,\"stage\":\"end_of_data\",\"code\":250}\n";
	scn_trace_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(scn_record_parse("t", text, strlen(text), NULL, 1, &sim_alloc_std, &rows, &n, NULL, NULL), 0);
	assert_int_equal(n, 1);
	check_row(&rows[0], 3000, 0, 2, 1, 777);
	sim_free(&sim_alloc_std, rows, sizeof *rows);
}

/* The replay scenario (tests/data/record-replay.yaml): app's 4 messages x
 * 3 = 12, one connection, one message per session (300 ms + 200 ms each,
 * never overlapping: the closest arrivals are 2/3 s apart).  The mailbox
 * takes one recipient per message: a@x and b@x (2 recipients) are refused
 * 550 5.5.3, 6 attempts, lost (no retry); the message without a
 * Message-ID (1 internal) and d@x (1 external) are accepted, 6, with 6
 * recipients of which 3 external.  Six too_many_recipients errors stay
 * under the error throttle's 10. */
static void test_replay_run(void **state)
{
	(void)state;
	char path[600];
	scenario **v = NULL;
	size_t nv = 0;
	scn_errors errs = { 0 };
	int rc = scn_load(root_path("tests/data/record-replay.yaml", path, sizeof path), &sim_alloc_std, &v, &nv,
			  &errs);
	if (rc) {
		char b[700];
		scn_error_format(&errs.v[0], b, sizeof b);
		fail_msg("%s", b);
	}
	assert_int_equal(nv, 1);
	assert_int_equal(v[0]->senders[0].count, 1);
	assert_int_equal(v[0]->senders[0].arrivals.trace_len, 12);
	res_rep r;
	char err[200];
	assert_int_equal(run_replication(v[0], 0, EVS_CALENDAR, &sim_alloc_std, &r, err, sizeof err), SIM_OK);
	assert_true(r.total.fig[FIG_GENERATED] == 12);
	assert_true(r.total.fig[FIG_ACCEPTED] == 6);
	assert_true(r.total.fig[FIG_LOST] == 6);
	assert_true(r.total.fig[FIG_LOST_PERMANENT] == 6);
	assert_true(r.total.fig[FIG_REJECTED] == 6);
	assert_int_equal(r.total.rejected_by[RC_TOO_MANY_RECIPIENTS], 6);
	assert_true(r.total.fig[FIG_RCPT_ACCEPTED] == 6);
	assert_true(r.total.fig[FIG_RCPT_EXTERNAL_ACCEPTED] == 3);
	res_rep_free(&r);
	scn_free_all(v, nv, &sim_alloc_std);
	scn_errors_free(&errs);
}

/* app@'s behaviour, by hand from the file's comment: sessions 1, 2, 4,
 * 5, 6 (1 and 2 overlap from 6 to 8 s: 2 at once); attempts per session
 * 2, 3, 1, 1, 1 (8 in all, max 3); messages a (1 attempt), b (4), the one
 * without an id (1), d (2); replies 250 x3, 450 4.7.0 x3 all retried
 * (waits 65-5 = 60, 186-66 = 120, 427-187 = 240 s: the new connection's
 * connect), 550 5.7.54 x1 not retried, 550 5.7.60 x1 retried after 51-21
 * = 30 s (same connection: its data).  Fit: 60, 120, 240 -> base 60 s,
 * factor 2; a 5xx retried -> honors_permanent false. */
static void test_profile(void **state)
{
	(void)state;
	size_t len;
	char *text = slurp(SMALL, &len);
	srec_reader *r = malloc(sizeof *r);
	srec_profile *p = malloc(sizeof *p);
	char msg[300];
	srec_init_mem(r, text, len);
	assert_int_equal(srec_profile_read(r, "app@contoso.com", &sim_alloc_std, p, msg, sizeof msg), 0);
	assert_int_equal(p->sessions, 5);
	assert_int_equal(p->max_sessions_at_once, 2);
	assert_int_equal(p->max_per_session, 3);
	assert_int_equal(p->attempts, 8);
	assert_int_equal(p->messages, 4);
	assert_int_equal(p->max_attempts, 4);
	assert_int_equal(p->attempts_hist[1], 2);
	assert_int_equal(p->attempts_hist[2], 1);
	assert_int_equal(p->attempts_hist[3], 0);
	assert_int_equal(p->attempts_hist[4], 1);
	assert_true(p->retried_permanent);
	assert_int_equal(p->permanent_replies, 2);
	assert_int_equal(p->first_model_ns, 1 * S);
	assert_int_equal(p->last_model_ns, 430 * S);
	assert_int_equal(p->n_classes, 4);
	const struct { int code; const char *enh; int64_t replies, retried, median; } want[4] = {
		{ 250, "2.0.0", 3, 0, 0 }, { 450, "4.7.0", 3, 3, 120 * S },
		{ 550, "5.7.54", 1, 0, 0 }, { 550, "5.7.60", 1, 1, 30 * S },
	};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(p->cls[i].code, want[i].code);
		assert_string_equal(p->cls[i].enhanced, want[i].enh);
		assert_int_equal(p->cls[i].replies, want[i].replies);
		assert_int_equal(p->cls[i].retried, want[i].retried);
		assert_int_equal(srec_median(&p->cls[i].waits), want[i].median);
	}
	assert_int_equal(p->transient_by_attempt[1].n, 1);
	assert_int_equal(p->transient_by_attempt[1].v[0], 60 * S);
	assert_int_equal(p->transient_by_attempt[2].v[0], 120 * S);
	assert_int_equal(p->transient_by_attempt[3].v[0], 240 * S);
	int64_t base;
	double factor;
	srec_profile_fit(p, &base, &factor);
	assert_int_equal(base, 60 * S);
	assert_true(factor == 2.0);
	srec_profile_free(p, &sim_alloc_std);

	/* other@: one session, one message, no retry */
	srec_rewind(r);
	assert_int_equal(srec_profile_read(r, "other@contoso.com", &sim_alloc_std, p, msg, sizeof msg), 0);
	assert_int_equal(p->sessions, 1);
	assert_int_equal(p->max_attempts, 1);
	assert_false(p->retried_permanent);
	srec_profile_free(p, &sim_alloc_std);

	/* no identity given: two in the record, refused naming both */
	srec_rewind(r);
	assert_int_equal(srec_profile_read(r, NULL, &sim_alloc_std, p, msg, sizeof msg), SIM_ESCENARIO);
	assert_int_equal(p->n_identities, 2);
	assert_non_null(strstr(msg, "app@contoso.com, other@contoso.com"));
	srec_rewind(r);
	assert_int_equal(srec_profile_read(r, "nobody@contoso.com", &sim_alloc_std, p, msg, sizeof msg), SIM_ESCENARIO);
	assert_string_equal(msg, "no session or message of 'nobody@contoso.com' in this record");
	free(p);
	free(r);
	free(text);
}

/* Waits that do not grow (30, 30, 31 s) fit a fixed policy whose base is
 * their median, 30 s. */
static void test_profile_fixed(void **state)
{
	(void)state;
	char text[4096];
	int k = snprintf(text, sizeof text, "{\"ev\":\"start\",\"format\":1}\n");
	const int64_t reply[4] = { 10, 40, 70, 101 }; /* attempt i+1 begins at reply[i] + wait */
	for (int i = 0; i < 4; i++)
		k += snprintf(text + k, sizeof text - (size_t)k,
			      "{\"ev\":\"message\",\"model_ns\":%lld,\"conn\":1,\"mailbox\":\"m@c.com\",\"message_id\":\"x\","
			      "\"rcpt_internal\":1,\"rcpt_external\":0,\"size\":5,\"stage\":\"end_of_data\",\"code\":%d,"
			      "\"enhanced\":\"4.3.2\",\"data_begin_model_ns\":%lld}\n",
			      reply[i] * S, i < 3 ? 432 : 250, reply[i] * S);
	srec_reader *r = malloc(sizeof *r);
	srec_profile *p = malloc(sizeof *p);
	char msg[300];
	srec_init_mem(r, text, (size_t)k);
	assert_int_equal(srec_profile_read(r, NULL, &sim_alloc_std, p, msg, sizeof msg), 0);
	assert_int_equal(p->max_attempts, 4);
	int64_t base;
	double factor;
	srec_profile_fit(p, &base, &factor);
	assert_true(factor == 1.0);
	assert_int_equal(base, 30 * S);
	assert_false(p->retried_permanent);
	srec_profile_free(p, &sim_alloc_std);
	free(p);
	free(r);
}

/* `throttlesim profile`: the YAML it prints for app@ (the comments aside). */
static void test_profile_command(void **state)
{
	(void)state;
	const char *b = getenv("THROTTLESIM_BIN");
	char cmd[1200], path[600];
	snprintf(cmd, sizeof cmd, "%s profile %s --identity app@contoso.com 2>&1", b ? b : "build/debug/throttlesim",
		 root_path(SMALL, path, sizeof path));
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char out[8192] = "", line[512];
	while (fgets(line, sizeof line, f))
		if (line[0] != '#')
			strncat(out, line, sizeof out - strlen(out) - 1);
	assert_int_equal(pclose(f), 0);
	assert_string_equal(out,
		"session:\n"
		"  connections: 2\n"
		"  messages_per_session: 3\n"
		"retry:\n"
		"  policy: exponential\n"
		"  base: 60s\n"
		"  factor: 2\n"
		"  max_attempts: 4\n"
		"  honors_permanent: false\n");
	/* two identities and none chosen: a usage error (2) */
	snprintf(cmd, sizeof cmd, "%s profile %s >/dev/null 2>&1", b ? b : "build/debug/throttlesim",
		 root_path(SMALL, path, sizeof path));
	int st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

/* ---- hostile records ------------------------------------------------------- */

typedef struct hostile {
	const char *text;
	int line, col;          /* of the first error (0: without a position) */
	const char *msg;        /* contained in it */
} hostile;

#define START "{\"ev\":\"start\",\"format\":1}\n"
#define MSG(rest) "{\"ev\":\"message\",\"model_ns\":5,\"conn\":1,\"mailbox\":\"m@c.com\",\"message_id\":\"x\"," \
		  "\"rcpt_internal\":1,\"rcpt_external\":0,\"size\":10,\"stage\":\"end_of_data\",\"code\":250" rest "}\n"

static const hostile hostiles[] = {
	{ "", 0, 0, "record file 't' is empty: a record begins with {\"ev\":\"start\",\"format\":1,...}" },
	{ "\n  \n", 0, 0, "is empty" },
	{ "time,sender,recipients,size\n", 1, 1, "not a serve record: the first line must be" },
	{ "{\"ev\":\"connect\",\"model_ns\":1,\"conn\":1}\n", 1, 1, "not a serve record" },
	{ "{\"ev\":\"start\",\"format\":2}\n", 1, 24, "record format 2: this version reads format 1" },
	{ "{\"ev\":\"start\",\"format\":\"1\"}\n", 1, 24, "\"format\" must be a whole number" },
	{ START "{\"ev\":\"message\",", 2, 17, "expected a key (a string)" },
	{ START "{\"ev\":\"close\",\"model_ns\":1,\"conn\":1,\"conn\":2}\n", 2, 37, "the key \"conn\" is given twice" },
	{ START "{\"ev\":\"close\",\"model_ns\":-1,\"conn\":1}\n", 2, 26, "\"model_ns\": -1 is outside" },
	{ START "{\"ev\":\"close\",\"model_ns\":1.5,\"conn\":1}\n", 2, 26, "\"model_ns\" must be a whole number" },
	{ START "{\"ev\":\"close\",\"model_ns\":99999999999999999999,\"conn\":1}\n", 2, 26, "must be a whole number" },
	{ START "{\"ev\":\"close\",\"model_ns\":1}\n", 2, 1, "\"conn\" is missing" },
	{ START "{\"ev\":\"close\",\"model_ns\":1,\"conn\":0}\n", 2, 35, "\"conn\": 0 is outside" },
	{ START MSG(",\"x\":\"a\\u0000b\""), 2, 161, "a NUL character (\\u0000) inside a string" },
	{ START MSG(",\"x\":\"\\ud800\""), 2, 160, "a lone surrogate \\ud800" },
	{ START MSG(",\"x\":\"\\q\""), 2, 160, "an unknown escape \\q" },
	{ START MSG(",\"x\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]"), 2, 0, "nested more than 16 levels deep" },
	{ START MSG(",\"x\":01"), 2, 159, "a number with a leading zero" },
	{ START MSG("} trailing"), 2, 0, "text after the object" },
	{ START "{\"ev\":\"close\",\"model_ns\":1,\"conn\":1,\"why\":\"a\tb\"}\n", 2, 45, "a control character inside a string" },
	{ START "{\"ev\":\"message\",\"model_ns\":5,\"conn\":1,\"mailbox\":\"m@c.com\",\"message_id\":\"x\","
	  "\"rcpt_internal\":0,\"rcpt_external\":0,\"size\":10,\"stage\":\"end_of_data\",\"code\":250}\n",
	  2, 1, "a message with 0 recipients (expected 1 to 2^40)" },
	{ START "{\"ev\":\"message\",\"model_ns\":5,\"conn\":1,\"mailbox\":null,\"message_id\":\"x\","
	  "\"rcpt_internal\":1,\"rcpt_external\":0,\"size\":10,\"stage\":\"end_of_data\",\"code\":250}\n",
	  2, 1, "a message without a mailbox" },
	{ START MSG(",\"size\":5"), 2, 0, "the key \"size\" is given twice" },
	{ START "{\"ev\":\"message\",\"model_ns\":5,\"conn\":1,\"mailbox\":\"m@c.com\",\"message_id\":\"x\","
	  "\"rcpt_internal\":1,\"rcpt_external\":0,\"size\":-2,\"stage\":\"end_of_data\",\"code\":250}\n",
	  2, 119, "\"size\": -2 is outside" },
	{ START "{\"ev\":\"connect\",\"model_ns\":1,\"conn\":1}\n", 0, 0, "record file 't' has no message" },
	{ START MSG("") START, 3, 1, "a second start line" },
	{ START "[1,2]\n", 2, 1, "expected a JSON object" },
	{ NULL, 0, 0, NULL }
};

static void test_hostile(void **state)
{
	(void)state;
	for (int i = 0; hostiles[i].text; i++) {
		const hostile *h = &hostiles[i];
		size_t len = strlen(h->text);
		scn_trace_row *rows = (scn_trace_row *)(uintptr_t)0x1;
		size_t n = 777, ni = 888;
		scn_errors errs = { 0 };
		int rc = scn_record_parse("t", h->text, len, NULL, 1, &sim_alloc_std, &rows, &n, &ni, &errs);
		if (rc != SIM_ESCENARIO || errs.n < 1)
			fail_msg("case %d: rc %d, %zu errors", i, rc, errs.n);
		char b[800];
		scn_error_format(&errs.v[0], b, sizeof b);
		if (!strstr(errs.v[0].message, h->msg) || errs.v[0].line != h->line ||
		    (h->col && errs.v[0].column != h->col))
			fail_msg("case %d: got '%s' (line %d col %d), expected '%s' at %d:%d", i, b, errs.v[0].line,
				 errs.v[0].column, h->msg, h->line, h->col);
		assert_true(rows == (scn_trace_row *)(uintptr_t)0x1 && n == 777 && ni == 888);
		scn_errors_free(&errs);
	}
}

/* A line over the bound, and eleven bad lines: ten and one more are
 * reported, then reading stops. */
static void test_hostile_bounds(void **state)
{
	(void)state;
	size_t big = SREC_LINE_MAX + 100;
	char *text = malloc(big + 200);
	int k = snprintf(text, 200, START "{\"ev\":\"close\",\"x\":\"");
	memset(text + k, 'a', big);
	strcpy(text + k + big, "\"}\n");
	scn_errors errs = { 0 };
	scn_trace_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(scn_record_parse("t", text, strlen(text), NULL, 1, &sim_alloc_std, &rows, &n, NULL, &errs),
			 SIM_ESCENARIO);
	assert_int_equal(errs.v[0].line, 2);
	assert_string_equal(errs.v[0].message, "a line longer than 16382 bytes");
	scn_errors_free(&errs);
	free(text);

	/* a NUL byte in a line: its column */
	static const char nul[] = START "{\"ev\":\"close\",\"model_ns\":1,\"conn\":1}\0\n";
	assert_int_equal(scn_record_parse("t", nul, sizeof nul - 1, NULL, 1, &sim_alloc_std, &rows, &n, NULL, &errs),
			 SIM_ESCENARIO);
	assert_int_equal(errs.v[0].line, 2);
	assert_int_equal(errs.v[0].column, 37);
	assert_string_equal(errs.v[0].message, "a NUL byte: not a text file");
	scn_errors_free(&errs);

	char many[4096];
	k = snprintf(many, sizeof many, START);
	for (int i = 0; i < 15; i++)
		k += snprintf(many + k, sizeof many - (size_t)k, "{\"ev\":\"close\"}\n");
	assert_int_equal(scn_record_parse("t", many, (size_t)k, NULL, 1, &sim_alloc_std, &rows, &n, NULL, &errs),
			 SIM_ESCENARIO);
	assert_int_equal(errs.n, 11);
	assert_int_equal(errs.v[10].line, 12);
	scn_errors_free(&errs);
	/* a scale out of range is the caller's error */
	assert_int_equal(scn_record_parse("t", many, (size_t)k, NULL, 0, &sim_alloc_std, &rows, &n, NULL, NULL),
			 SIM_EINVAL);
	assert_int_equal(scn_record_parse("t", many, (size_t)k, NULL, 10001, &sim_alloc_std, &rows, &n, NULL, NULL),
			 SIM_EINVAL);
}

/* Every allocation of a parse fails in turn: SIM_ENOMEM, nothing held,
 * until the parse succeeds with the rows of the file. */
static void test_alloc_failures(void **state)
{
	(void)state;
	size_t len;
	char *text = slurp(SMALL, &len);
	for (long fail = 1;; fail++) {
		sim_alloc_failing st = { .fail_at = fail };
		sim_alloc a = sim_alloc_failing_make(&st);
		scn_trace_row *rows = NULL;
		size_t n = 0;
		int rc = scn_record_parse("small", text, len, NULL, 2, &a, &rows, &n, NULL, NULL);
		if (rc == 0) {
			assert_int_equal(n, 10);
			sim_free(&a, rows, n * sizeof *rows);
			assert_int_equal(st.bytes, 0);
			break;
		}
		assert_int_equal(rc, SIM_ENOMEM);
		assert_int_equal(st.bytes, 0);
		assert_true(fail < 1000);
	}
	free(text);
}

/* The scenario's keys: errors at the scenario's line and column. */
static void test_scenario_keys(void **state)
{
	(void)state;
	static const struct { const char *arrivals; const char *first; } cases[] = {
		{ "{poisson: 1/h, identity: a@b.com}", "identity applies to record arrivals only" },
		{ "{poisson: 1/h, scale: 2}", "scale applies to record arrivals only" },
		{ "{record: record-small.jsonl, scale: 0}", "must be at least 1, got 0" },
		{ "{record: record-small.jsonl, scale: 10001}", "10^4" },
		{ "{record: record-small.jsonl, trace: x.csv}", "give only one of poisson, periodic, bursts, trace or record" },
		{ "{record: no-such.jsonl}", "cannot open record file" },
		{ "{record: record-small.jsonl, identity: nobody@contoso.com}", "has no message of 'nobody@contoso.com'" },
		{ "{record: record-small.jsonl, profile: {days: [mon]}}", "it takes no profile" },
		{ "{record: record-replay.yaml}", "not a serve record" },
	};
	char dir[600];
	root_path("tests/data/", dir, sizeof dir);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char text[600];
		int len = snprintf(text, sizeof text, "mailboxes: [{name: app@contoso.com}]\nsenders:\n"
				   "  - name: s\n    arrivals: %s\n", cases[i].arrivals);
		scenario **v = NULL;
		size_t nv = 0;
		scn_errors errs = { 0 };
		int rc = scn_load_buffer("q.yaml", text, (size_t)len, dir, &sim_alloc_std, &v, &nv, &errs);
		if (rc == 0)
			fail_msg("case %zu loaded", i);
		assert_true(errs.n >= 1);
		if (!strstr(errs.v[0].message, cases[i].first))
			fail_msg("case %zu: '%s'", i, errs.v[0].message);
		/* the file's problems at the record's line; the scenario's at its key */
		if (strcmp(errs.v[0].file, "q.yaml") == 0)
			assert_int_equal(errs.v[0].line, 4);
		else
			assert_int_equal(errs.v[0].line, 1);
		scn_errors_free(&errs);
	}
	/* count given smaller than the record's identities */
	const char *text = "mailboxes: [{name: app@contoso.com}]\nsenders:\n  - name: s\n    count: 1\n"
			   "    arrivals: {record: record-small.jsonl}\n";
	scenario **v = NULL;
	size_t nv = 0;
	scn_errors errs = { 0 };
	assert_int_not_equal(scn_load_buffer("q.yaml", text, strlen(text), dir, &sim_alloc_std, &v, &nv, &errs), 0);
	assert_non_null(strstr(errs.v[0].message, "holds 2 identities, more than count (1)"));
	assert_int_equal(errs.v[0].line, 5);
	assert_int_equal(errs.v[0].column, 24); /* the file name, after "    arrivals: {record: " */
	scn_errors_free(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arrivals_every_identity),
		cmocka_unit_test(test_arrivals_identity_scale),
		cmocka_unit_test(test_arrivals_first_attempt),
		cmocka_unit_test(test_replay_run),
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_profile_fixed),
		cmocka_unit_test(test_profile_command),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_hostile_bounds),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_scenario_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
