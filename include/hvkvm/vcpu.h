/* SPDX-License-Identifier: MIT */
/*
 * vcpu: services of the vCPU thread beyond the run loop declared in vm.h.
 */
#ifndef HVKVM_VCPU_H
#define HVKVM_VCPU_H

struct vcpu;

/*
 * Hyper-V GUEST_IDLE on @v's own thread (outside KVM_RUN): sleep until an
 * interrupt or NMI is pending for it in the in-kernel LAPIC, the VM is
 * asked to stop, pause or reset, or HV_IDLE_MAX_NS passed.
 */
void vcpu_guest_idle(struct vcpu *v);

#endif /* HVKVM_VCPU_H */
