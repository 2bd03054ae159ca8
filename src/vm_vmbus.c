// SPDX-License-Identifier: MIT
/*
 * vm_vmbus: the VMBus server, the integration services (heartbeat,
 * shutdown, time sync, KVP) and the synthetic SCSI controller (storvsp,
 * for the bus=scsi disks) on the I/O thread. Their SynIC side effects go
 * through the Hyper-V module; a channel's HvSignalEvent reaches its
 * eventfd through a KVM ioeventfd on the hypercall page's signal port.
 */
#include "vm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "hvkvm/block.h"
#include "hvkvm/evloop.h"
#include "hvkvm/hyperv.h"
#include "hvkvm/storvsp.h"
#include "hvkvm/vmbus.h"

static int vm_vmbus_post(void *opaque, unsigned int vp, unsigned int sint,
			 uint32_t msg_type, const void *payload, uint32_t len)
{
	struct vm *vm = opaque;

	return hv_synic_post_message(vm->hv, vp, sint, msg_type, payload, len);
}

static int vm_vmbus_signal(void *opaque, unsigned int vp, unsigned int sint,
			   unsigned int flag)
{
	struct vm *vm = opaque;

	return hv_synic_signal_event(vm->hv, vp, sint, flag);
}

static int vm_vmbus_reg_message(void *opaque, uint32_t conn_id,
				vmbus_post_message_fn fn, void *arg)
{
	struct vm *vm = opaque;

	return hv_register_message_handler(vm->hv, conn_id, fn, arg);
}

static int vm_vmbus_reg_event(void *opaque, uint32_t conn_id,
			      vmbus_signal_event_fn fn, void *arg)
{
	struct vm *vm = opaque;

	return hv_register_event_handler(vm->hv, conn_id, fn, arg);
}

/*
 * A channel's HvSignalEvent straight to its eventfd: the hypercall page
 * writes the connection ID to HV_SIGNAL_PORT (4 bytes) and KVM completes
 * a write matching this ioeventfd in the kernel. Deassigning needs the
 * same addr/len/datamatch/fd; KVM drops its reference to the eventfd then.
 */
static int vm_vmbus_set_signal_fd(void *opaque, uint32_t conn_id, int efd,
				  bool assign)
{
	struct vm *vm = opaque;
	struct kvm_ioeventfd io = {
		.datamatch = conn_id,
		.addr = HV_SIGNAL_PORT,
		.len = HV_SIGNAL_PORT_LEN,
		.fd = efd,
		.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* Time sync 4.0 samples: the clock behind the guest's TIME_REF_COUNT. */
static uint64_t vm_vmbus_ref_time(void *opaque)
{
	struct vm *vm = opaque;

	return hv_reference_time(vm->hv);
}

static void vm_vmbus_ready(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	(void)events;
	vmbus_server_process(vm->vmbus);
}

static void vm_vmbus_tick(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t n;

	(void)events;
	if (read(vm->vmbus_tick_fd, &n, sizeof(n)) < 0)
		return;
	vmbus_server_tick(vm->vmbus, time_now_ns());
}

/* The storvsp controller's instance GUID (one controller per VM). */
#define VM_SCSI_INSTANCE "f8b3781b-1e82-4818-a1c3-63d806ec15bb"

static unsigned int vm_scsi_disks(const struct vm_config *cfg)
{
	unsigned int i, n = 0;

	for (i = 0; i < cfg->nr_disks; i++)
		n += cfg->disks[i].bus == CONFIG_DISK_SCSI;
	return n;
}

/*
 * One storvsp controller for every bus=scsi disk: target "sdX" is LUN X
 * of path 0 / target 0, the address Hyper-V gives its disks.
 */
static int vm_scsi_create(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	struct storvsp_lun_config luns[CONFIG_MAX_DISKS];
	struct storvsp_params p = {
		.name = "scsi0",
		.instance_id = VM_SCSI_INSTANCE,
		.max_subchannels = vm->nr_vcpus - 1,
		.luns = luns,
	};
	unsigned int i;
	int r = 0;

	for (i = 0; i < cfg->nr_disks && !r; i++) {
		const struct config_disk *d = &cfg->disks[i];
		struct storvsp_lun_config *l = &luns[vm->nr_scsi];

		if (d->bus != CONFIG_DISK_SCSI)
			continue;
		if (strncmp(d->target, "sd", 2) || d->target[2] < 'a' ||
		    d->target[2] > 'z' || d->target[3] ||
		    d->media == CONFIG_MEDIA_CDROM || !d->path || !d->path[0]) {
			snprintf(err, errlen,
				 "disk %s: bus=scsi needs a disk image and a "
				 "target sda..",
				 d->path ? d->path : d->target);
			return -EINVAL;
		}
		r = vm_disk_open(d, &vm->scsi_bd[vm->nr_scsi]);
		if (r) {
			snprintf(err, errlen, "disk %s: %s", d->path,
				 strerror(-r));
			return r;
		}
		memset(l, 0, sizeof(*l));
		l->bd = vm->scsi_bd[vm->nr_scsi++];
		l->lun = (unsigned int)(d->target[2] - 'a');
		l->readonly = d->readonly;
	}
	p.nr_luns = vm->nr_scsi;
	r = storvsp_create(vm->vmbus, &p, &vm->storvsp);
	for (i = 0; i < vm->nr_scsi && !r; i++)
		r = evloop_add_fd(vm->io, storvsp_completion_fd(vm->storvsp, i),
				  EPOLLIN, storvsp_evloop_ready,
				  storvsp_lun_opaque(vm->storvsp, i));
	if (r)
		snprintf(err, errlen, "SCSI controller: %s", strerror(-r));
	return r;
}

/* Before the server goes: the last completions still reach storvsp. */
static void vm_scsi_close(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_scsi; i++) {
		if (vm->io && vm->storvsp)
			evloop_del_fd(vm->io,
				      block_completion_fd(vm->scsi_bd[i]));
		block_close(vm->scsi_bd[i]);
		vm->scsi_bd[i] = NULL;
	}
	vm->nr_scsi = 0;
}

int vm_vmbus_init(struct vm *vm, char *err, size_t errlen)
{
	static const struct itimerspec second = {
		.it_interval = { 1, 0 },
		.it_value = { 1, 0 },
	};
	struct vmbus_server_params p;
	int r;

	vm->vmbus_tick_fd = -1;
	if (!vm->vmbus_enabled && vm_scsi_disks(vm->cfg)) {
		snprintf(err, errlen,
			 "bus=scsi disks need VMBus: run with --hyperv all "
			 "(SynIC) and ACPI on");
		return -EINVAL;
	}
	if (!vm->vmbus_enabled)
		return 0;
	vm->vmbus_ops = (struct vmbus_host_ops){
		.post_message = vm_vmbus_post,
		.signal_event = vm_vmbus_signal,
		.register_message = vm_vmbus_reg_message,
		.register_event = vm_vmbus_reg_event,
		.set_signal_fd = vm->hv ? vm_vmbus_set_signal_fd : NULL,
		.ref_time = vm->hv && hv_reference_time_available(vm->hv) ?
				    vm_vmbus_ref_time :
				    NULL,
		.opaque = vm,
	};
	memset(&p, 0, sizeof(p));
	p.gm = &vm->gm;
	p.nr_vcpus = vm->nr_vcpus;
	p.ops = &vm->vmbus_ops;
	r = vmbus_server_create(&p, &vm->vmbus);
	if (!r)
		r = ic_heartbeat_create(vm->vmbus, &vm->ic_heartbeat);
	if (!r)
		r = ic_shutdown_create(vm->vmbus, &vm->ic_shutdown);
	if (!r)
		r = ic_timesync_create(vm->vmbus, &vm->ic_timesync);
	if (!r)
		r = ic_kvp_create(vm->vmbus, &vm->ic_kvp);
	if (!r)
		r = evloop_add_fd(vm->io, vmbus_server_fd(vm->vmbus), EPOLLIN,
				  vm_vmbus_ready, vm);
	if (!r) {
		vm->vmbus_tick_fd = timerfd_create(CLOCK_MONOTONIC,
						   TFD_CLOEXEC | TFD_NONBLOCK);
		if (vm->vmbus_tick_fd < 0 ||
		    timerfd_settime(vm->vmbus_tick_fd, 0, &second, NULL) < 0)
			r = -errno;
	}
	if (!r)
		r = evloop_add_fd(vm->io, vm->vmbus_tick_fd, EPOLLIN,
				  vm_vmbus_tick, vm);
	if (r) {
		snprintf(err, errlen, "VMBus: %s", strerror(-r));
		return r;
	}
	return vm_scsi_disks(vm->cfg) ? vm_scsi_create(vm, err, errlen) : 0;
}

void vm_vmbus_exit(struct vm *vm)
{
	/* The I/O thread is stopped by now (the io stage unwinds later). */
	if (vm->io && vm->vmbus)
		evloop_del_fd(vm->io, vmbus_server_fd(vm->vmbus));
	if (vm->io && vm->vmbus_tick_fd >= 0)
		evloop_del_fd(vm->io, vm->vmbus_tick_fd);
	vm_scsi_close(vm);
	if (vm->vmbus_tick_fd >= 0)
		close(vm->vmbus_tick_fd);
	vm->vmbus_tick_fd = -1;
	if (vm->vmbus)
		vmbus_server_destroy(vm->vmbus);
	vm->vmbus = NULL;
}
