// SPDX-License-Identifier: MIT
/*
 * Unit tests: the vCPU's exit dispatch (vcpu_handle_exit) over a hand-made
 * struct kvm_run, real buses with recording devices and a fake host that
 * records stop requests; and the run-state enum. No /dev/kvm: the vCPU fd
 * is -1, so the few ioctls on failure paths fail harmlessly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>

#include "fake_gmem.h"
#include "fake_irq.h"
#include "hvkvm/bus.h"
#include "hvkvm/config.h"
#include "hvkvm/gmem.h"
#include "hvkvm/hv_tlfs.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/util.h"
#include "hvkvm/vcpu.h"
#include "test_hyperv_fixture.h"

#define RUN_SIZE 4096
#define IO_DATA_OFFSET 1024 /* where KVM puts PIO data: past the struct */
#define DEV_PIO_BASE 0x510
#define DEV_MMIO_BASE 0xfed00000ULL
#define MAX_ACCESSES 8

/* A device that records every access it is given. */
struct rec_dev {
	unsigned int nr; /* accesses so far */
	uint64_t off[MAX_ACCESSES];
	unsigned int size[MAX_ACCESSES];
	uint64_t val[MAX_ACCESSES]; /* written value */
	bool write[MAX_ACCESSES];
	uint64_t read_val; /* what reads return */
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned int size)
{
	struct rec_dev *d = opaque;

	if (d->nr < MAX_ACCESSES) {
		d->off[d->nr] = off;
		d->size[d->nr] = size;
		d->write[d->nr] = false;
	}
	d->nr++;
	return d->read_val;
}

static void rec_write(void *opaque, uint64_t off, unsigned int size,
		      uint64_t val)
{
	struct rec_dev *d = opaque;

	if (d->nr < MAX_ACCESSES) {
		d->off[d->nr] = off;
		d->size[d->nr] = size;
		d->val[d->nr] = val;
		d->write[d->nr] = true;
	}
	d->nr++;
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };

/* The fake machine: buses, no Hyper-V, a run state, recorded stops. */
struct fixture {
	struct bus pio;
	struct bus mmio;
	struct gmem gm;
	struct vcpu_runstate rs;
	struct vcpu_host host;
	struct rec_dev pio_dev;
	struct rec_dev mmio_dev;
	unsigned int stops; /* host->stop calls */
	enum vcpu_stop last_stop;
	struct vcpu v;
	union {
		struct kvm_run run;
		uint8_t bytes[RUN_SIZE];
	} page;
};

static void fake_stop(void *opaque, enum vcpu_stop why)
{
	struct fixture *f = opaque;

	f->stops++;
	f->last_stop = why;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (bus_init(&f->pio, "pio") || bus_init(&f->mmio, "mmio"))
		return -1;
	gmem_init(&f->gm);
	vcpu_runstate_init(&f->rs);
	if (bus_register(&f->pio, DEV_PIO_BASE, 8, &rec_ops, &f->pio_dev,
			 "rec") ||
	    bus_register(&f->mmio, DEV_MMIO_BASE, 0x1000, &rec_ops,
			 &f->mmio_dev, "rec"))
		return -1;
	f->host = (struct vcpu_host){
		.pio = &f->pio,
		.mmio = &f->mmio,
		.gm = &f->gm,
		.hv = NULL,
		.rs = &f->rs,
		.stop = fake_stop,
		.opaque = f,
	};
	f->v.host = &f->host;
	f->v.index = 0;
	f->v.fd = -1;
	f->v.stats_fd = -1;
	f->v.run = &f->page.run;
	f->v.run_size = RUN_SIZE;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vcpu_runstate_destroy(&f->rs);
	bus_destroy(&f->pio);
	bus_destroy(&f->mmio);
	free(f);
	return 0;
}

static uint8_t *io_data(struct fixture *f)
{
	return f->page.bytes + IO_DATA_OFFSET;
}

static void set_io(struct fixture *f, uint8_t dir, uint16_t port, uint8_t size,
		   uint32_t count)
{
	struct kvm_run *run = &f->page.run;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = dir;
	run->io.port = port;
	run->io.size = size;
	run->io.count = count;
	run->io.data_offset = IO_DATA_OFFSET;
}

static void set_mmio(struct fixture *f, uint64_t addr, uint32_t len, bool write)
{
	struct kvm_run *run = &f->page.run;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = addr;
	run->mmio.len = len;
	run->mmio.is_write = write;
}

/* ---- port I/O ---- */

static void test_vcpu_pio_read_reaches_handler_with_offset(void **state)
{
	struct fixture *f = *state;
	uint16_t got;

	f->pio_dev.read_val = 0xbeef;
	set_io(f, KVM_EXIT_IO_IN, DEV_PIO_BASE + 3, 2, 1);
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(f->pio_dev.nr, 1);
	assert_false(f->pio_dev.write[0]);
	assert_int_equal(f->pio_dev.off[0], 3);
	assert_int_equal(f->pio_dev.size[0], 2);
	memcpy(&got, io_data(f), sizeof(got));
	assert_int_equal(got, 0xbeef);
	assert_int_equal(f->v.stats.pio_exits, 1);
	assert_int_equal(f->stops, 0);
}

static void test_vcpu_pio_unclaimed_read_is_all_ones(void **state)
{
	struct fixture *f = *state;
	uint32_t got;

	memset(io_data(f), 0, 4);
	set_io(f, KVM_EXIT_IO_IN, 0x80, 4, 1);
	assert_true(vcpu_handle_exit(&f->v));
	memcpy(&got, io_data(f), sizeof(got));
	assert_int_equal(got, 0xffffffffu);
	assert_int_equal(f->pio_dev.nr, 0);
	assert_int_equal(f->pio.unclaimed, 1);
	assert_int_equal(f->stops, 0);
}

static void test_vcpu_pio_rep_out_writes_each_element(void **state)
{
	struct fixture *f = *state;
	const uint8_t bytes[3] = { 0x11, 0x22, 0x33 };
	unsigned int i;

	memcpy(io_data(f), bytes, sizeof(bytes));
	set_io(f, KVM_EXIT_IO_OUT, DEV_PIO_BASE, 1, 3);
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(f->pio_dev.nr, 3);
	for (i = 0; i < 3; i++) {
		assert_true(f->pio_dev.write[i]);
		assert_int_equal(f->pio_dev.off[i], 0);
		assert_int_equal(f->pio_dev.val[i], bytes[i]);
	}
}

/* Without Hyper-V the hypercall and signal ports are ordinary ports. */
static void test_vcpu_pio_hv_ports_go_to_bus_without_hyperv(void **state)
{
	struct fixture *f = *state;
	struct rec_dev d = { 0 };
	uint32_t conn = 0x2001;

	/* 0xe4-0xe7 signal port, 0xe8 hypercall port. */
	assert_int_equal(bus_register(&f->pio, HV_SIGNAL_PORT,
				      HV_HYPERCALL_PORT + 1 - HV_SIGNAL_PORT,
				      &rec_ops, &d, "hv-ports"),
			 0);
	io_data(f)[0] = 0x5a;
	set_io(f, KVM_EXIT_IO_OUT, HV_HYPERCALL_PORT, 1, 1);
	assert_true(vcpu_handle_exit(&f->v));
	memcpy(io_data(f), &conn, sizeof(conn));
	set_io(f, KVM_EXIT_IO_OUT, HV_SIGNAL_PORT, HV_SIGNAL_PORT_LEN, 1);
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(d.nr, 2);
	assert_int_equal(d.val[0], 0x5a);
	assert_int_equal(d.off[0], HV_HYPERCALL_PORT - HV_SIGNAL_PORT);
	assert_int_equal(d.off[1], 0);
	assert_int_equal(d.val[1], conn);
	assert_int_equal(f->v.stats.hypercalls, 0);
}

/* A data area outside the run page, or a bad size: the VM stops. */
static void test_vcpu_pio_malformed_exit_stops_vm(void **state)
{
	struct fixture *f = *state;

	set_io(f, KVM_EXIT_IO_IN, DEV_PIO_BASE, 4, 1);
	f->page.run.io.data_offset = RUN_SIZE;
	assert_false(vcpu_handle_exit(&f->v));
	assert_int_equal(f->stops, 1);
	assert_int_equal(f->last_stop, VCPU_STOP_GUEST_FAILURE);

	set_io(f, KVM_EXIT_IO_IN, DEV_PIO_BASE, 2, 2000); /* 4000 bytes */
	assert_false(vcpu_handle_exit(&f->v));
	assert_int_equal(f->stops, 2);

	set_io(f, KVM_EXIT_IO_IN, DEV_PIO_BASE, 16, 1);
	assert_false(vcpu_handle_exit(&f->v));
	assert_int_equal(f->stops, 3);
	assert_int_equal(f->pio_dev.nr, 0);
}

/* ---- MMIO ---- */

static void test_vcpu_mmio_write_reaches_handler_with_offset(void **state)
{
	struct fixture *f = *state;
	uint32_t val = 0xcafef00d;

	memcpy(f->page.run.mmio.data, &val, sizeof(val));
	set_mmio(f, DEV_MMIO_BASE + 0x40, 4, true);
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(f->mmio_dev.nr, 1);
	assert_true(f->mmio_dev.write[0]);
	assert_int_equal(f->mmio_dev.off[0], 0x40);
	assert_int_equal(f->mmio_dev.size[0], 4);
	assert_int_equal(f->mmio_dev.val[0], val);
	assert_int_equal(f->v.stats.mmio_exits, 1);
}

static void test_vcpu_mmio_read_and_unclaimed_read(void **state)
{
	struct fixture *f = *state;
	uint64_t got = 0;

	f->mmio_dev.read_val = 0x0102030405060708ULL;
	set_mmio(f, DEV_MMIO_BASE + 8, 8, false);
	assert_true(vcpu_handle_exit(&f->v));
	memcpy(&got, f->page.run.mmio.data, 8);
	assert_int_equal(got, 0x0102030405060708ULL);
	assert_int_equal(f->mmio_dev.off[0], 8);

	set_mmio(f, 0xe0000000ULL, 2, false);
	assert_true(vcpu_handle_exit(&f->v));
	got = 0;
	memcpy(&got, f->page.run.mmio.data, 2);
	assert_int_equal(got, 0xffff);
	assert_int_equal(f->mmio.unclaimed, 1);
	assert_int_equal(f->mmio_dev.nr, 1);
}

/* A length KVM never sends is ignored (counted, not dispatched). */
static void test_vcpu_mmio_bad_length_is_ignored(void **state)
{
	struct fixture *f = *state;

	set_mmio(f, DEV_MMIO_BASE, 0, false);
	assert_true(vcpu_handle_exit(&f->v));
	set_mmio(f, DEV_MMIO_BASE, 9, true);
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(f->mmio_dev.nr, 0);
	assert_int_equal(f->v.stats.mmio_exits, 2);
	assert_int_equal(f->stops, 0);
}

/* ---- MSRs, stops and the rest ---- */

/* Without Hyper-V every MSR exit is a #GP; reads return 0. */
static void test_vcpu_msr_without_hyperv_is_gp(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run = &f->page.run;

	run->exit_reason = KVM_EXIT_X86_RDMSR;
	run->msr.index = 0x40000000;
	run->msr.data = 0x1234;
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(run->msr.error, 1);
	assert_int_equal(run->msr.data, 0);

	run->exit_reason = KVM_EXIT_X86_WRMSR;
	run->msr.error = 0;
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(run->msr.error, 1);
	assert_int_equal(f->v.stats.msr_exits, 2);
	assert_int_equal(f->stops, 0);
}

/* With Hyper-V, synthetic MSRs reach it for this vCPU; others still #GP. */
static void test_vcpu_msr_synthetic_reaches_hyperv(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run = &f->page.run;
	struct fx *hvf = fx_new_all();

	f->host.hv = hvf->hv;
	f->v.index = 1;
	run->exit_reason = KVM_EXIT_X86_RDMSR;
	run->msr.index = HV_X64_MSR_VP_INDEX;
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(run->msr.error, 0);
	assert_int_equal(run->msr.data, 1);

	run->exit_reason = KVM_EXIT_X86_WRMSR;
	run->msr.index = HV_X64_MSR_GUEST_OS_ID;
	run->msr.data = 0x8100000000000000ULL;
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(run->msr.error, 0);
	assert_int_equal(rd(hvf, HV_X64_MSR_GUEST_OS_ID),
			 0x8100000000000000ULL);
	wr(hvf, HV_X64_MSR_GUEST_OS_ID, 0x8100000000000001ULL);
	run->exit_reason = KVM_EXIT_X86_RDMSR;
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(run->msr.data, 0x8100000000000001ULL);
	assert_int_equal(f->v.stats.msr_exits, 3);

	run->exit_reason = KVM_EXIT_X86_RDMSR;
	run->msr.index = 0x10; /* IA32_TSC: KVM's, never ours */
	assert_true(vcpu_handle_exit(&f->v));
	assert_int_equal(run->msr.error, 1);
	assert_int_equal(f->stops, 0);
	f->host.hv = NULL;
	fx_free(hvf);
}

static void test_vcpu_benign_exits_continue(void **state)
{
	struct fixture *f = *state;
	const uint32_t reasons[] = { KVM_EXIT_HLT, KVM_EXIT_INTR,
				     KVM_EXIT_IRQ_WINDOW_OPEN };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(reasons); i++) {
		f->page.run.exit_reason = reasons[i];
		assert_true(vcpu_handle_exit(&f->v));
	}
	assert_int_equal(f->stops, 0);
}

static void check_stop(struct fixture *f, uint32_t reason, enum vcpu_stop want)
{
	unsigned int before = f->stops;

	f->page.run.exit_reason = reason;
	assert_false(vcpu_handle_exit(&f->v));
	assert_int_equal(f->stops, before + 1);
	assert_int_equal(f->last_stop, want);
}

static void test_vcpu_stop_callback_on_ending_exits(void **state)
{
	struct fixture *f = *state;

	f->page.run.system_event.type = KVM_SYSTEM_EVENT_RESET;
	check_stop(f, KVM_EXIT_SYSTEM_EVENT, VCPU_STOP_RESET);
	f->page.run.system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	check_stop(f, KVM_EXIT_SYSTEM_EVENT, VCPU_STOP_POWEROFF);
	check_stop(f, KVM_EXIT_SHUTDOWN, VCPU_STOP_GUEST_FAILURE);
	check_stop(f, KVM_EXIT_FAIL_ENTRY, VCPU_STOP_GUEST_FAILURE);
	check_stop(f, KVM_EXIT_DEBUG, VCPU_STOP_GUEST_FAILURE);
	/* Emulation failure: no registers to assist with (fd -1). */
	f->page.run.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	check_stop(f, KVM_EXIT_INTERNAL_ERROR, VCPU_STOP_GUEST_FAILURE);
}

static void test_vcpu_exit_names(void **state)
{
	(void)state;
	assert_string_equal(vcpu_exit_name(KVM_EXIT_IO), "io");
	assert_string_equal(vcpu_exit_name(KVM_EXIT_X86_WRMSR), "wrmsr");
	assert_string_equal(vcpu_exit_name(KVM_EXIT_HYPERCALL), "hypercall");
	assert_string_equal(vcpu_exit_name(1000), "other");
}

/* ---- run state ---- */

static void test_vcpu_runstate_transitions(void **state)
{
	struct fixture *f = *state;
	struct vcpu_runstate *rs = &f->rs;

	assert_int_equal(vcpu_runstate_get(rs), VCPU_RUNNING);
	assert_false(vcpu_runstate_resume(rs));
	assert_true(vcpu_runstate_pause(rs));
	assert_int_equal(vcpu_runstate_get(rs), VCPU_PAUSED);
	assert_false(vcpu_runstate_pause(rs));
	assert_true(vcpu_runstate_resume(rs));
	assert_int_equal(vcpu_runstate_get(rs), VCPU_RUNNING);
	assert_true(vcpu_runstate_pause(rs));
	vcpu_runstate_stop(rs);
	assert_int_equal(vcpu_runstate_get(rs), VCPU_STOPPED);
	/* STOPPED is final. */
	assert_false(vcpu_runstate_resume(rs));
	assert_false(vcpu_runstate_pause(rs));
	assert_int_equal(vcpu_runstate_get(rs), VCPU_STOPPED);
	assert_int_equal(vcpu_runstate_wait_parked(rs, 1), -ESHUTDOWN);
	/* Parking while stopped returns at once. */
	vcpu_runstate_park(rs);
	assert_int_equal(rs->parked, 0);
}

static void *park_thread(void *opaque)
{
	vcpu_runstate_park(opaque);
	return NULL;
}

/* Two "vCPUs" park on pause, are counted, and leave on resume or stop. */
static void test_vcpu_runstate_park_and_wake(void **state)
{
	struct fixture *f = *state;
	struct vcpu_runstate *rs = &f->rs;
	pthread_t t[2];
	unsigned int i;

	assert_true(vcpu_runstate_pause(rs));
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, park_thread, rs),
				 0);
	assert_int_equal(vcpu_runstate_wait_parked(rs, 2), 0);
	assert_true(vcpu_runstate_resume(rs));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(rs->parked, 0);

	assert_true(vcpu_runstate_pause(rs));
	assert_int_equal(pthread_create(&t[0], NULL, park_thread, rs), 0);
	assert_int_equal(vcpu_runstate_wait_parked(rs, 1), 0);
	vcpu_runstate_stop(rs);
	pthread_join(t[0], NULL);
	assert_int_equal(rs->parked, 0);
	assert_int_equal(vcpu_runstate_get(rs), VCPU_STOPPED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_vcpu_pio_read_reaches_handler_with_offset),
		T(test_vcpu_pio_unclaimed_read_is_all_ones),
		T(test_vcpu_pio_rep_out_writes_each_element),
		T(test_vcpu_pio_hv_ports_go_to_bus_without_hyperv),
		T(test_vcpu_pio_malformed_exit_stops_vm),
		T(test_vcpu_mmio_write_reaches_handler_with_offset),
		T(test_vcpu_mmio_read_and_unclaimed_read),
		T(test_vcpu_mmio_bad_length_is_ignored),
		T(test_vcpu_msr_without_hyperv_is_gp),
		T(test_vcpu_msr_synthetic_reaches_hyperv),
		T(test_vcpu_benign_exits_continue),
		T(test_vcpu_stop_callback_on_ending_exits),
		T(test_vcpu_exit_names),
		T(test_vcpu_runstate_transitions),
		T(test_vcpu_runstate_park_and_wake),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
