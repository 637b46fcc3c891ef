/* outfile.c - safe creation of output files (see outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "term.h"

static void set_err(char *err, size_t size, const char *path, const char *what, int e)
{
	if (!err || size == 0)
		return;
	snprintf(err, size, "%s: %s: %s", path, what, strerror(e));
	term_clean(err);
}

static void clear(outf *o)
{
	free(o->final_path);
	free(o->tmp_path);
	o->final_path = o->tmp_path = NULL;
	o->f = NULL;
}

int outf_open(outf *o, const char *path, char *err, size_t err_size)
{
	memset(o, 0, sizeof *o);
	if (!path || !*path) {
		if (err && err_size)
			snprintf(err, err_size, "an output file needs a name");
		return -1;
	}
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
	const char *base = slash ? slash + 1 : path;
	if (!*base) {
		set_err(err, err_size, path, "not a file name", EISDIR);
		return -1;
	}
	size_t n = dir_len + 1 + strlen(base) + 8;
	o->final_path = strdup(path);
	o->tmp_path = malloc(n);
	if (!o->final_path || !o->tmp_path) {
		clear(o);
		set_err(err, err_size, path, "cannot create", ENOMEM);
		return -1;
	}
	snprintf(o->tmp_path, n, "%.*s.%s.XXXXXX", (int)dir_len, path, base);
	/* mkstemp opens with O_CREAT | O_EXCL, which never follows a symlink */
	int fd = mkstemp(o->tmp_path);
	if (fd < 0) {
		int e = errno;
		set_err(err, err_size, path, "cannot create", e);
		clear(o);
		return -1;
	}
	mode_t um = umask(0);
	umask(um);
	(void)fchmod(fd, 0666 & ~um);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int e = errno;
		close(fd);
		unlink(o->tmp_path);
		set_err(err, err_size, path, "cannot create", e);
		clear(o);
		return -1;
	}
	return 0;
}

int outf_commit(outf *o, char *err, size_t err_size)
{
	int e = 0;
	if (fflush(o->f) != 0 || ferror(o->f))
		e = errno ? errno : EIO;
	else if (fsync(fileno(o->f)) != 0 && errno != EINVAL && errno != EROFS)
		e = errno;
	if (fclose(o->f) != 0 && !e)
		e = errno ? errno : EIO;
	o->f = NULL;
	if (!e && rename(o->tmp_path, o->final_path) != 0)
		e = errno;
	if (e) {
		set_err(err, err_size, o->final_path, "cannot write", e);
		unlink(o->tmp_path);
		clear(o);
		return -1;
	}
	clear(o);
	return 0;
}

void outf_abort(outf *o)
{
	if (o->f)
		fclose(o->f);
	if (o->tmp_path)
		unlink(o->tmp_path);
	clear(o);
}
