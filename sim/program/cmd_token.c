/* cmd_token.c - `throttlesim token ADDRESS`: an XOAUTH2 bearer token that
 * `serve` accepts for the mailbox ADDRESS, minted here with the server's
 * token key (token.h).  No identity provider is ever contacted: the token
 * is only good against a server that holds the same key file.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "exit.h"
#include "term.h"
#include "token.h"
#include "units.h"

static const char token_usage[] =
"usage: throttlesim token ADDRESS [--token-key FILE] [--ttl D]\n"
"\n"
"Prints a bearer token for AUTH XOAUTH2 as the mailbox ADDRESS, good for D\n"
"(default 1h) against a `throttlesim serve` that uses the same key file.\n"
"\n"
"options:\n"
"  --token-key FILE   the key (default throttlesim-token.key, created if missing,\n"
"                     mode 0600)\n"
"  --ttl D            how long the token is good for: 30s, 10m, 1h, 7d (default 1h)\n"
"  -h, --help         this text\n";

enum { T_KEY, T_TTL };
static const cli_opt token_opts[] = {
	{ "--token-key", NULL, true, T_KEY }, { "--ttl", NULL, true, T_TTL },
};

typedef struct token_args {
	const char *address, *key;
	int64_t ttl_ns;
} token_args;

static int token_arg(void *ctx, int id, const char *opt, const char *val)
{
	token_args *a = ctx;
	char err[128];
	if (id == CLI_ARG) {
		if (a->address) {
			term_eprintf("throttlesim token: unexpected argument '%s' (one address)\n", val);
			return -1;
		}
		a->address = val;
		return 0;
	}
	if (id == T_KEY) {
		a->key = val;
		return 0;
	}
	if (unit_parse_duration(val, &a->ttl_ns, err, sizeof err) != 0 || a->ttl_ns <= 0 ||
	    a->ttl_ns > 3660LL * 86400 * 1000000000LL) {
		term_eprintf("throttlesim token: %s: expected a duration from 1s to 10y, got '%s'\n", opt, val);
		return -1;
	}
	return 0;
}

int cmd_token(int argc, char **argv)
{
	token_args a = { NULL, NULL, 3600LL * 1000000000LL };
	int p = cli_parse("token", token_usage, token_opts, sizeof token_opts / sizeof *token_opts, argc, argv,
			  token_arg, &a);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	if (!a.address || !strchr(a.address, '@') || strlen(a.address) > 256) {
		term_eprintf("throttlesim token: expected a mailbox address (usage: throttlesim token ADDRESS)\n");
		return EXIT_USAGE;
	}
	unsigned char key[32];
	char err[512];
	if (tok_key_load(a.key ? a.key : "throttlesim-token.key", key, true, err, sizeof err) != 0) {
		term_eprintf("throttlesim token: %s\n", err);
		return EXIT_FAIL;
	}
	char tok[1024];
	int64_t not_after = (int64_t)time(NULL) + a.ttl_ns / 1000000000LL;
	if (tok_mint(key, a.address, not_after, tok, sizeof tok) != 0) {
		term_eprintf("throttlesim token: the address is too long for a token\n");
		return EXIT_USAGE;
	}
	printf("%s\n", tok);
	return EXIT_OK;
}
