// SPDX-License-Identifier: MIT
/*
 * ctl_path: where control sockets live. VM names are checked before they
 * become file names; the runtime directory is $HVKVM_RUNTIME_DIR, else
 * /run/hvkvm for root and $XDG_RUNTIME_DIR/hvkvm for everyone else.
 */
#include "hvkvm/ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

bool ctl_name_valid(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (!n || n > CTL_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Make @dir (one level) private to us, or accept it if it exists. */
static int ctl_make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

int ctl_runtime_dir(char *buf, size_t len, bool create)
{
	const char *env = getenv("HVKVM_RUNTIME_DIR");
	int n;

	if (env && env[0])
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/hvkvm");
	else if ((env = getenv("XDG_RUNTIME_DIR")) && env[0] == '/')
		n = snprintf(buf, len, "%s/hvkvm", env);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return create ? ctl_make_dir(buf) : 0;
}

int ctl_socket_path(const char *name, char *buf, size_t len)
{
	char dir[256];
	int r, n;

	if (!ctl_name_valid(name))
		return -EINVAL;
	r = ctl_runtime_dir(dir, sizeof(dir), false);
	if (r)
		return r;
	n = snprintf(buf, len, "%s/%s.sock", dir, name);
	if (n < 0 || (size_t)n >= len || (size_t)n > CTL_SUN_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}
