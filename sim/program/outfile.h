/* outfile.h - files the program writes, created so that nothing already
 * at the path is ever followed or half-overwritten.
 *
 * outf_open() creates a new temporary file beside the final path
 * (".NAME.XXXXXX" in the same directory, O_CREAT | O_EXCL | O_NOFOLLOW,
 * mode 0666 & ~umask), so a symlink planted at the final name or at a
 * guessable temporary name is never opened.  outf_commit() flushes,
 * fsyncs and rename()s the temporary file over the final path: rename
 * replaces a symlink there instead of writing through it, and a reader
 * sees either the old file or the whole new one.  outf_abort() (or a
 * failed commit) removes the temporary file; the final path is untouched.
 *
 * The caller owns the outf between open and commit/abort; every error is
 * worded into the caller's buffer with the path and strerror (a full disk
 * says "No space left on device").
 */
#ifndef SIM_OUTFILE_H
#define SIM_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct outf {
	FILE *f;             /* write here between open and commit */
	char *final_path;
	char *tmp_path;
} outf;

/* 0 on success; -1 with err filled (nothing created). */
int outf_open(outf *o, const char *path, char *err, size_t err_size);
/* 0 on success (the file is in place); -1 with err filled (nothing changed). */
int outf_commit(outf *o, char *err, size_t err_size);
void outf_abort(outf *o);

#endif
