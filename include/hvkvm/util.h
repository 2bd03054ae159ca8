/* SPDX-License-Identifier: MIT */
/*
 * util: logging, errors, small helpers and little-endian accessors shared by
 * every layer. Depends on nothing but libc.
 */
#ifndef HVKVM_UTIL_H
#define HVKVM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)
#define BIT(n) (1ULL << (n))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#define UNUSED __attribute__((unused))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))

#define KiB (1024ULL)
#define MiB (1024ULL * 1024)
#define GiB (1024ULL * 1024 * 1024)

enum log_level {
	LOG_ERR,
	LOG_WARN,
	LOG_INFO,
	LOG_DBG,
};

/* Messages at or below this level are printed (default LOG_WARN). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Send log lines to @fd instead of stderr (e.g. a log file for --daemon). */

void log_msg(enum log_level level, const char *fmt, ...) PRINTF(2, 3);

#define pr_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_dbg(...)                                    \
	do {                                           \
		if (log_get_level() >= LOG_DBG)        \
			log_msg(LOG_DBG, __VA_ARGS__); \
	} while (0)
#define dev_err(name, fmt, ...) pr_err("%s: " fmt, name, ##__VA_ARGS__)
#define dev_warn(name, fmt, ...) pr_warn("%s: " fmt, name, ##__VA_ARGS__)
#define dev_info(name, fmt, ...) pr_info("%s: " fmt, name, ##__VA_ARGS__)
#define dev_dbg(name, fmt, ...) pr_dbg("%s: " fmt, name, ##__VA_ARGS__)

/*
 * Something the guest did wrong. Rate limited per call site: the guest can
 * never flood the host's log.
 */
struct ratelimit {
	uint64_t window_start_ns;
	unsigned int count;
	unsigned int suppressed;
};
bool ratelimit_ok(struct ratelimit *rl);
#define guest_err(...)                                            \
	do {                                                      \
		static struct ratelimit rl__;                     \
		if (ratelimit_ok(&rl__))                          \
			log_msg(LOG_WARN, "guest: " __VA_ARGS__); \
	} while (0)

/* Start-up only: print one clear line and exit(1). */
NORETURN void die(const char *fmt, ...) PRINTF(1, 2);

/* Monotonic clock in nanoseconds. */
uint64_t time_now_ns(void);

/*
 * Parse a size such as "512M", "1G", "4096" (bytes) or "2GiB". Returns 0 or
 * -EINVAL / -ERANGE.
 */
int parse_size(const char *s, uint64_t *out);
/* Parse a decimal or 0x-prefixed unsigned number that must fit @max. */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Little-endian accessors for wire and disk structures. */
static inline uint16_t get_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t get_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static inline uint64_t get_le64(const void *p)
{
	return (uint64_t)get_le32(p) |
	       (uint64_t)get_le32((const uint8_t *)p + 4) << 32;
}

static inline void put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline void put_le64(void *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t get_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static inline uint64_t get_be64(const void *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32((const uint8_t *)p + 4);
}

static inline uint16_t get_be16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline void put_be16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void put_be32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static inline void put_be64(void *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32((uint8_t *)p + 4, (uint32_t)v);
}

/* Sum of bytes, for ACPI-style checksums. */
static inline uint8_t sum8(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	while (len--)
		s = (uint8_t)(s + *b++);
	return s;
}

#endif /* HVKVM_UTIL_H */
