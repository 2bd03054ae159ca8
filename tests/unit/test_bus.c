// SPDX-License-Identifier: MIT
/* Unit tests: bus registration/dispatch, gmem bounds, util parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>

#include "fake_gmem.h"
#include "hvkvm/bus.h"
#include "hvkvm/util.h"

struct rec {
	uint64_t last_off;
	uint64_t last_val;
	unsigned int last_size;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned int size)
{
	struct rec *r = opaque;

	r->last_off = off;
	r->last_size = size;
	return 0x1122334455667788ULL;
}

static void rec_write(void *opaque, uint64_t off, unsigned int size,
		      uint64_t val)
{
	struct rec *r = opaque;

	r->last_off = off;
	r->last_size = size;
	r->last_val = val;
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };

static void test_bus_register_rejects_overlap(void **state)
{
	struct bus bus;
	struct rec a, b;

	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &rec_ops, &a, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x3ff, 1, &rec_ops, &b, "b"),
			 -EEXIST);
	assert_int_equal(bus_register(&bus, 0x3f0, 9, &rec_ops, &b, "b"),
			 -EEXIST);
	assert_int_equal(bus_register(&bus, 0x3f0, 8, &rec_ops, &b, "b"), 0);
	assert_int_equal(bus_register(&bus, 0x100, 0, &rec_ops, &b, "b"),
			 -EINVAL);
	assert_int_equal(bus_register(&bus, ~0ULL, 2, &rec_ops, &b, "b"),
			 -EINVAL);
	assert_int_equal(bus_count(&bus), 2);
	assert_int_equal(bus_register(&bus, 0x3e8, 8, &rec_ops, &b, "c"), 0);
	/* Sorted: every range is found through the binary search. */
	struct bus_range r;
	assert_true(bus_lookup(&bus, 0x3e8, &r));
	assert_string_equal(r.name, "c");
	assert_true(bus_lookup(&bus, 0x3f7, &r));
	assert_int_equal(r.base, 0x3f0);
	assert_true(bus_lookup(&bus, 0x3ff, &r));
	assert_string_equal(r.name, "a");
	assert_false(bus_lookup(&bus, 0x400, &r));
	assert_int_equal(bus_unregister(&bus, 0x3f0), 0);
	assert_int_equal(bus_unregister(&bus, 0x3f0), -ENOENT);
	assert_int_equal(bus_count(&bus), 2);
	bus_destroy(&bus);
}

static void test_bus_dispatch_offset_and_unclaimed(void **state)
{
	struct bus bus;
	struct rec a = { 0 };
	uint64_t v;

	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &rec_ops, &a, "a"), 0);
	assert_true(bus_write(&bus, 0x3fb, 1, 0x1ff));
	assert_int_equal(a.last_off, 3);
	assert_int_equal(a.last_val, 0xff);
	assert_true(bus_read(&bus, 0x3f8, 2, &v));
	assert_int_equal(v, 0x7788);
	assert_false(bus_read(&bus, 0x3f7, 4, &v));
	assert_int_equal(v, 0xffffffff);
	assert_false(bus_write(&bus, 0x400, 1, 0));
	assert_int_equal(bus.unclaimed, 2);
	assert_int_equal(bus_unregister(&bus, 0x3f8), 0);
	assert_false(bus_read(&bus, 0x3f8, 1, &v));
	assert_int_equal(v, 0xff);
	bus_destroy(&bus);
}

/*
 * A guest moving a BAR while other vCPUs dispatch: reader threads hammer
 * both the old and the new address while a writer moves a range back and
 * forth, and a handler moves its own range from inside a dispatch. Every
 * access must either reach the device with an offset inside its range or
 * be unclaimed (all-ones) — never a stale or torn table.
 */
#define MOVE_A 0xc000
#define MOVE_B 0xd000
#define MOVE_LEN 16

struct mover {
	struct bus *bus;
	uint64_t base;	    /* where the range is now (writer) */
	unsigned long bad;  /* offsets out of range (atomic) */
	unsigned long hits; /* handler calls (atomic) */
	int stop;	    /* readers stop (atomic) */
};

static uint64_t mover_read(void *opaque, uint64_t off, unsigned int size)
{
	struct mover *m = opaque;

	__atomic_add_fetch(&m->hits, 1, __ATOMIC_RELAXED);
	if (off >= MOVE_LEN)
		__atomic_add_fetch(&m->bad, 1, __ATOMIC_RELAXED);
	return 0xab;
}

static const struct bus_ops mover_ops;

/* A write moves the range to the other base (a BAR write). */
static void mover_write(void *opaque, uint64_t off, unsigned int size,
			uint64_t val)
{
	struct mover *m = opaque;
	uint64_t to = m->base == MOVE_A ? MOVE_B : MOVE_A;

	if (off >= MOVE_LEN)
		__atomic_add_fetch(&m->bad, 1, __ATOMIC_RELAXED);
	if (bus_unregister(m->bus, m->base) == 0 &&
	    bus_register(m->bus, to, MOVE_LEN, &mover_ops, m, "mover") == 0)
		m->base = to;
}

static const struct bus_ops mover_ops = { .read = mover_read,
					  .write = mover_write };

static void *mover_reader(void *opaque)
{
	struct mover *m = opaque;
	unsigned long n = 0, wrong = 0;
	uint64_t v;

	while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
		uint64_t addr = (n & 1 ? MOVE_A : MOVE_B) + (n % MOVE_LEN);
		bool claimed = bus_read(m->bus, addr, 1, &v);

		if ((claimed && v != 0xab) || (!claimed && v != 0xff))
			wrong++;
		n++;
	}
	return (void *)wrong;
}

static void test_bus_move_while_dispatching(void **state)
{
	struct mover m = { 0 };
	pthread_t readers[3];
	struct bus bus;
	void *wrong;
	unsigned int i;

	assert_int_equal(bus_init(&bus, "pio"), 0);
	m.bus = &bus;
	m.base = MOVE_A;
	assert_int_equal(bus_register(&bus, 0x80, 1, &rec_ops, NULL, "other"),
			 0);
	assert_int_equal(bus_register(&bus, MOVE_A, MOVE_LEN, &mover_ops, &m,
				      "mover"),
			 0);
	for (i = 0; i < ARRAY_SIZE(readers); i++)
		assert_int_equal(
			pthread_create(&readers[i], NULL, mover_reader, &m), 0);
	/* 20000 moves from inside a dispatch, as a vCPU's BAR write. */
	for (i = 0; i < 20000; i++)
		assert_true(bus_write(&bus, m.base, 4, 0));
	__atomic_store_n(&m.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < ARRAY_SIZE(readers); i++) {
		assert_int_equal(pthread_join(readers[i], &wrong), 0);
		assert_ptr_equal(wrong, NULL);
	}
	assert_int_equal(m.bad, 0);
	assert_true(m.hits > 0);
	assert_int_equal(m.base, MOVE_A); /* an even number of moves */
	assert_int_equal(bus_count(&bus), 2);
	bus_destroy(&bus);
}

static void test_gmem_map_checks_whole_range(void **state)
{
	struct fake_gmem f;
	uint8_t hi[4096];

	assert_int_equal(fake_gmem_init(&f, 1 << 20), 0);
	assert_int_equal(
		gmem_add_region(&f.gm, 4ULL << 30, sizeof(hi), hi, false), 0);
	assert_non_null(gmem_map(&f.gm, 0, 1 << 20, true));
	assert_null(gmem_map(&f.gm, 1, 1 << 20, false));
	assert_null(gmem_map(&f.gm, (1 << 20) - 1, 2, false));
	assert_null(gmem_map(&f.gm, 0, 0, false));
	assert_null(gmem_map(&f.gm, ~0ULL, 2, false));
	assert_null(gmem_map(&f.gm, 16, ~0ULL, false));
	assert_ptr_equal(gmem_map(&f.gm, (4ULL << 30) + 8, 8, true), hi + 8);
	assert_null(gmem_map(&f.gm, (4ULL << 30) + 4090, 8, true));
	assert_int_equal(gmem_add_region(&f.gm, 4096, 4096, hi, false),
			 -EEXIST);
	fake_gmem_destroy(&f);
}

static void test_gmem_readonly_region(void **state)
{
	struct gmem gm;
	uint8_t rom[16] = { 1 };

	gmem_init(&gm);
	assert_int_equal(gmem_add_region(&gm, 0xf0000, 16, rom, true), 0);
	assert_non_null(gmem_map(&gm, 0xf0000, 16, false));
	assert_null(gmem_map(&gm, 0xf0000, 16, true));
	assert_int_equal(gm.ram_size, 0);
}

static void test_util_parse_size(void **state)
{
	uint64_t v;

	assert_int_equal(parse_size("512M", &v), 0);
	assert_int_equal(v, 512 * MiB);
	assert_int_equal(parse_size("1G", &v), 0);
	assert_int_equal(v, GiB);
	assert_int_equal(parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("-1M", &v), -EINVAL);
	assert_int_equal(parse_size("12Q", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_size("99999999999T", &v), -ERANGE);
}

static void test_util_le_be_helpers(void **state)
{
	uint8_t b[8];

	put_le32(b, 0x11223344);
	assert_int_equal(b[0], 0x44);
	assert_int_equal(get_le32(b), 0x11223344);
	put_be64(b, 0x0102030405060708ULL);
	assert_int_equal(b[0], 1);
	assert_int_equal(get_be64(b), 0x0102030405060708ULL);
	assert_int_equal(get_le64(b), 0x0807060504030201ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_register_rejects_overlap),
		cmocka_unit_test(test_bus_dispatch_offset_and_unclaimed),
		cmocka_unit_test(test_bus_move_while_dispatching),
		cmocka_unit_test(test_gmem_map_checks_whole_range),
		cmocka_unit_test(test_gmem_readonly_region),
		cmocka_unit_test(test_util_parse_size),
		cmocka_unit_test(test_util_le_be_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
