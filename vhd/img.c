// SPDX-License-Identifier: MIT
/*
 * img: `hvkvm img` -- the subcommand dispatcher, shared helpers, and the
 * create and info subcommands. The others live in img_check.c and
 * img_ops.c. Bad user input gets one line naming the file and the field,
 * and a non-zero exit status.
 */
#include "hvkvm/img.h"

#include "img_int.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

static const char usage_create[] =
	"usage: hvkvm img create -f vhd|raw [--type fixed|dynamic|differencing]\n"
	"                        [--parent PARENT] [--block-size SIZE] FILE "
	"[SIZE]\n"
	"  Create an image. SIZE takes K/M/G suffixes (binary). A VHD's SIZE is\n"
	"  rounded up to whole CHS cylinders (up to ~127G) so that QEMU sees\n"
	"  all of it. A differencing disk takes its size from PARENT. Dynamic\n"
	"  is the default VHD type; blocks are 2M unless --block-size says\n"
	"  otherwise.\n";

static const char usage_info[] =
	"usage: hvkvm img info [--json] FILE\n"
	"  Show format, sizes, VHD footer and header fields and the parent\n"
	"  chain.\n";

void img_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hvkvm img %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int img_parse_size(const char *cmd, const char *what, const char *s,
		   uint64_t *out)
{
	int ret = parse_size(s, out);

	if (ret == -ERANGE) {
		img_err(cmd, "%s '%s': too large", what, s);
		return ret;
	}
	if (ret) {
		img_err(cmd, "%s '%s': not a size (e.g. 512M, 2G)", what, s);
		return ret;
	}
	return 0;
}

bool img_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

void img_usage(const struct img_cmd *c, FILE *f)
{
	fputs(c->usage, f);
}

uint64_t img_vhd_size(const char *cmd, const char *file, uint64_t size)
{
	uint64_t exact = vhd_chs_size(size);

	if (exact != size)
		printf("%s: %s: size rounded up from %" PRIu64 " to %" PRIu64
		       " bytes (whole CHS cylinders: QEMU sizes a VHD by its"
		       " geometry)\n",
		       cmd, file, size, exact);
	return exact;
}

bool img_is_zero(const void *buf, size_t len)
{
	const uint8_t *b = buf;

	if (!len)
		return true;
	if (b[0])
		return false;
	return !memcmp(b, b + 1, len - 1);
}

void img_progress_init(struct img_progress *p, bool force)
{
	p->on = force || isatty(STDERR_FILENO);
	p->last = -1;
}

void img_progress_update(struct img_progress *p, uint64_t done, uint64_t total)
{
	int pct = total ? (int)(done * 100 / total) : 100;
	char bar[41];
	int i;

	if (!p->on || pct == p->last)
		return;
	p->last = pct;
	for (i = 0; i < 40; i++)
		bar[i] = i < pct * 40 / 100 ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %3d%%", bar, pct);
	fflush(stderr);
}

void img_progress_end(struct img_progress *p)
{
	if (p->on && p->last >= 0)
		fputc('\n', stderr);
}

/* ---- create ---- */

static int img_parse_type(const char *s, enum vhd_type *t)
{
	if (!strcmp(s, "fixed"))
		*t = VHD_TYPE_FIXED;
	else if (!strcmp(s, "dynamic"))
		*t = VHD_TYPE_DYNAMIC;
	else if (!strcmp(s, "differencing") || !strcmp(s, "diff"))
		*t = VHD_TYPE_DIFF;
	else
		return -EINVAL;
	return 0;
}

static int img_create_raw(const char *file, uint64_t size)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0) {
		img_err("create", "%s: %s", file, strerror(errno));
		return 1;
	}
	if (ftruncate(fd, (off_t)size)) {
		img_err("create", "%s: %s", file, strerror(errno));
		close(fd);
		unlink(file);
		return 1;
	}
	close(fd);
	return 0;
}

static int img_cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "type", required_argument, NULL, 't' },
		{ "parent", required_argument, NULL, 'b' },
		{ "block-size", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct vhd_create_opts o = { .type = VHD_TYPE_DYNAMIC };
	const char *fmt = "vhd", *file;
	uint64_t v;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "f:t:b:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 't':
			if (img_parse_type(optarg, &o.type)) {
				img_err("create",
					"--type '%s': expected fixed, "
					"dynamic or differencing",
					optarg);
				return 1;
			}
			break;
		case 'b':
			o.parent = optarg;
			break;
		case 's':
			if (img_parse_size("create", "--block-size", optarg,
					   &v))
				return 1;
			if (v > UINT32_MAX || !vhd_is_pow2(v) || v < 512 ||
			    v > VHD_MAX_BLOCK_SIZE) {
				img_err("create",
					"--block-size '%s': must be a "
					"power of two from 512 to 256M",
					optarg);
				return 1;
			}
			o.block_size = (uint32_t)v;
			break;
		default:
			fputs(usage_create, stderr);
			return 1;
		}
	}
	if (strcmp(fmt, "vhd") && strcmp(fmt, "vpc") && strcmp(fmt, "raw")) {
		img_err("create", "-f '%s': expected vhd or raw", fmt);
		return 1;
	}
	if (o.parent && o.type != VHD_TYPE_DIFF) {
		if (o.type != VHD_TYPE_DYNAMIC) {
			img_err("create", "--parent needs --type differencing");
			return 1;
		}
		o.type = VHD_TYPE_DIFF;
	}
	if (o.type == VHD_TYPE_DIFF && !o.parent) {
		img_err("create", "--type differencing needs --parent");
		return 1;
	}
	if (optind >= argc) {
		fputs(usage_create, stderr);
		return 1;
	}
	file = argv[optind++];
	if (o.type != VHD_TYPE_DIFF || !strcmp(fmt, "raw")) {
		if (optind >= argc) {
			img_err("create", "%s: SIZE missing", file);
			return 1;
		}
		if (img_parse_size("create", "SIZE", argv[optind], &o.size))
			return 1;
		optind++;
	} else if (optind < argc) {
		img_err("create",
			"%s: a differencing disk takes its size "
			"from the parent",
			file);
		return 1;
	}
	if (optind < argc) {
		img_err("create", "unexpected argument '%s'", argv[optind]);
		return 1;
	}
	if (!strcmp(fmt, "raw"))
		return img_create_raw(file, o.size);
	if (o.type != VHD_TYPE_DIFF && (!IS_ALIGNED(o.size, VHD_SECTOR) ||
					!o.size || o.size > VHD_MAX_SIZE)) {
		img_err("create",
			"%s: SIZE %" PRIu64 ": must be a non-zero "
			"multiple of 512 up to 2040G",
			file, o.size);
		return 1;
	}
	if (o.type != VHD_TYPE_DIFF)
		o.size = img_vhd_size("create", file, o.size);
	return vhd_create(file, &o) ? 1 : 0;
}

/* ---- info ---- */

static const char *img_type_name(uint32_t t)
{
	switch (t) {
	case VHD_TYPE_FIXED:
		return "fixed";
	case VHD_TYPE_DYNAMIC:
		return "dynamic";
	case VHD_TYPE_DIFF:
		return "differencing";
	}
	return "unknown";
}

static void img_fmt_time(uint32_t ts, char *buf, size_t len)
{
	time_t t = (time_t)(ts + VHD_EPOCH_OFFSET);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void img_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static uint32_t img_count_allocated(const struct vhd *v)
{
	uint32_t i, n = 0;

	if (!vhd_is_sparse(v))
		return 0;
	for (i = 0; i < v->header.max_entries; i++)
		n += v->bat[i] != VHD_BAT_UNUSED;
	return n;
}

static void img_info_vhd(FILE *f, const struct vhd *v, bool json, int depth)
{
	const struct vhd_footer *ft = &v->footer;
	char uuid[37], ts[32], app[5];
	struct stat st;
	uint64_t disk = 0;

	uuid_unparse(ft->uuid, uuid);
	img_fmt_time(ft->timestamp, ts, sizeof(ts));
	memcpy(app, ft->creator_app, 4);
	app[4] = '\0';
	for (int i = 0; i < 4; i++)
		if ((unsigned char)app[i] < 0x20 ||
		    (unsigned char)app[i] > 0x7e)
			app[i] = '?';
	if (fstat(v->fd, &st) == 0)
		disk = (uint64_t)st.st_blocks * 512;
	if (json) {
		fprintf(f, "{\"filename\": ");
		img_json_str(f, v->path);
		fprintf(f,
			", \"format\": \"vhd\", \"type\": \"%s\", "
			"\"virtual-size\": %" PRIu64 ", \"file-size\": %" PRIu64
			", \"disk-usage\": %" PRIu64 ", \"uuid\": \"%s\", "
			"\"timestamp\": \"%s\", \"creator-app\": ",
			img_type_name(ft->disk_type), v->size, v->file_size,
			disk, uuid, ts);
		img_json_str(f, app);
		fprintf(f,
			", \"creator-version\": \"%u.%u\", "
			"\"cylinders\": %u, \"heads\": %u, "
			"\"sectors-per-track\": %u",
			ft->creator_version >> 16, ft->creator_version & 0xffff,
			ft->cyls, ft->heads, ft->spt);
		if (vhd_is_sparse(v))
			fprintf(f,
				", \"block-size\": %u, \"max-blocks\": %u, "
				"\"allocated-blocks\": %u",
				v->header.block_size, v->header.max_entries,
				img_count_allocated(v));
		if (v->parent) {
			fprintf(f, ", \"parent\": ");
			img_info_vhd(f, v->parent, true, depth + 1);
		}
		fputc('}', f);
		return;
	}
	fprintf(f, "%*simage: %s\n", depth * 2, "", v->path);
	fprintf(f, "%*sformat: vhd (%s)\n", depth * 2, "",
		img_type_name(ft->disk_type));
	fprintf(f, "%*svirtual size: %" PRIu64 " bytes (%.2f GiB)\n", depth * 2,
		"", v->size, (double)v->size / (double)GiB);
	fprintf(f,
		"%*sfile size: %" PRIu64 " bytes, disk usage: %" PRIu64
		" bytes\n",
		depth * 2, "", v->file_size, disk);
	fprintf(f, "%*suuid: %s\n", depth * 2, "", uuid);
	fprintf(f, "%*screated: %s by '%s' %u.%u\n", depth * 2, "", ts, app,
		ft->creator_version >> 16, ft->creator_version & 0xffff);
	fprintf(f, "%*sgeometry: %u/%u/%u (C/H/S)\n", depth * 2, "", ft->cyls,
		ft->heads, ft->spt);
	if (vhd_is_sparse(v))
		fprintf(f, "%*sblocks: %u of %u allocated, %u bytes each\n",
			depth * 2, "", img_count_allocated(v),
			v->header.max_entries, v->header.block_size);
	if (v->parent) {
		fprintf(f, "%*sparent:\n", depth * 2, "");
		img_info_vhd(f, v->parent, false, depth + 1);
	}
}

static int img_cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	struct vhd *v;
	struct stat st;
	const char *file;
	int c, fd;

	optind = 0;
	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c != 'j') {
			fputs(usage_info, stderr);
			return 1;
		}
		json = true;
	}
	if (optind != argc - 1) {
		fputs(usage_info, stderr);
		return 1;
	}
	file = argv[optind];
	/* O_NONBLOCK: a FIFO must not hang the open. */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		img_err("info", "%s: %s", file, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st)) {
		img_err("info", "%s: %s", file, strerror(errno));
		close(fd);
		return 1;
	}
	/* Only a file or a block device with some bytes can be a disk. */
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		img_err("info", "%s: %s", file,
			S_ISDIR(st.st_mode) ?
				"is a directory" :
				"not a disk image (a character device, FIFO or socket)");
		close(fd);
		return 1;
	}
	if (!S_ISREG(st.st_mode) || !vhd_probe(fd)) {
		uint64_t size = (uint64_t)st.st_size;
		off_t end;

		if (S_ISBLK(st.st_mode)) {
			end = lseek(fd, 0, SEEK_END);
			size = end > 0 ? (uint64_t)end : 0;
		}
		close(fd);
		if (!size) {
			img_err("info", "%s: empty, not a disk image", file);
			return 1;
		}
		if (json) {
			printf("{\"filename\": ");
			img_json_str(stdout, file);
			printf(", \"format\": \"raw\", \"virtual-size\": %" PRIu64
			       "}\n",
			       size);
		} else {
			printf("image: %s\nformat: raw\nvirtual size: %" PRIu64
			       " bytes\n",
			       file, size);
		}
		return 0;
	}
	close(fd);
	if (vhd_open(file, 0, &v))
		return 1;
	img_info_vhd(stdout, v, json, 0);
	if (json)
		putchar('\n');
	vhd_close(v);
	return 0;
}

/* ---- dispatch ---- */

static const struct img_cmd img_cmds[] = {
	{ "create", img_cmd_create, usage_create },
	{ "info", img_cmd_info, usage_info },
	{ "check", img_cmd_check, img_usage_check },
	{ "convert", img_cmd_convert, img_usage_convert },
	{ "compact", img_cmd_compact, img_usage_compact },
	{ "resize", img_cmd_resize, img_usage_resize },
	{ "commit", img_cmd_commit, img_usage_commit },
};

static void img_help(FILE *f)
{
	size_t i;

	fputs("usage: hvkvm img COMMAND [options] ...\n"
	      "Disk image tool for raw and VHD (fixed, dynamic, differencing)"
	      " images.\n\ncommands:\n",
	      f);
	for (i = 0; i < ARRAY_SIZE(img_cmds); i++)
		fprintf(f, "  %s\n", img_cmds[i].name);
	fputs("\n'hvkvm img COMMAND --help' describes a command.\n", f);
}

int img_main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		img_help(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		img_help(stdout);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(img_cmds); i++) {
		if (strcmp(argv[1], img_cmds[i].name))
			continue;
		if (img_wants_help(argc - 1, argv + 1)) {
			img_usage(&img_cmds[i], stdout);
			return 0;
		}
		return img_cmds[i].run(argc - 1, argv + 1);
	}
	img_err(argv[1], "unknown command (try 'hvkvm img --help')");
	return 1;
}
