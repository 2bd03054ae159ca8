// SPDX-License-Identifier: MIT
/*
 * net_tap: an existing TAP interface as a network backend. Opened with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 10-byte virtio_net_hdr
 * (TUNSETVNETHDRSZ) so that a later netvsp can turn offloads on; for now
 * TUNSETOFFLOAD 0: no GSO, no checksum offload, every frame is complete
 * (the 21140A does no offload). The fd is non-blocking: a full queue is
 * -EAGAIN, reported up as TX back-pressure.
 *
 * Not implemented: creating the interface (it must exist: if_nametoindex),
 * multi-queue, offloads.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hvkvm/util.h"
#include "net_int.h"

#define NET_TAP_MAX_IOV 64 /* pieces per frame, header included */

static int net_tap_send(struct net_backend *nb, const struct iovec *iov,
			int iovcnt)
{
	struct virtio_net_hdr hdr = { 0 };
	struct iovec v[NET_TAP_MAX_IOV];
	ssize_t n;

	if (iovcnt < 1 || iovcnt > NET_TAP_MAX_IOV - 1)
		return -EINVAL;
	v[0].iov_base = &hdr;
	v[0].iov_len = sizeof(hdr);
	memcpy(&v[1], iov, sizeof(*iov) * (size_t)iovcnt);
	n = writev(nb->fd, v, iovcnt + 1);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

static long net_tap_recv(struct net_backend *nb, void *buf, size_t len)
{
	struct virtio_net_hdr hdr;
	struct iovec v[2] = { { &hdr, sizeof(hdr) }, { buf, len } };
	ssize_t n;

	for (;;) {
		n = readv(nb->fd, v, 2);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		if ((size_t)n >= sizeof(hdr) + 14)
			return (long)(n - sizeof(hdr));
		/* A runt without an Ethernet header: skip it. */
	}
}

static void net_tap_free(struct net_backend *nb)
{
	if (nb->fd >= 0)
		close(nb->fd);
}

static const struct net_backend_ops net_tap_ops = {
	.send = net_tap_send,
	.recv = net_tap_recv,
	.free = net_tap_free,
};

static int net_tap_setup(int fd, const char *ifname)
{
	struct ifreq ifr = { 0 };
	int hdr = sizeof(struct virtio_net_hdr);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0)
		return -errno;
	return 0;
}

int net_tap_open(const char *ifname, struct net_backend **out)
{
	struct net_backend *nb;
	char name[40];
	int fd, r;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	if (!if_nametoindex(ifname)) {
		pr_err("net: tap %s: no such interface (create it first, e.g. "
		       "ip tuntap add %s mode tap)",
		       ifname, ifname);
		return -ENODEV;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		pr_err("net: tap %s: /dev/net/tun: %s", ifname, strerror(-r));
		return r;
	}
	r = net_tap_setup(fd, ifname);
	if (r) {
		pr_err("net: tap %s: %s", ifname, strerror(-r));
		goto err_close;
	}
	nb = calloc(1, sizeof(*nb));
	if (!nb) {
		r = -ENOMEM;
		goto err_close;
	}
	snprintf(name, sizeof(name), "tap:%s", ifname);
	r = net_backend_init(nb, &net_tap_ops, name, fd);
	if (r) {
		free(nb);
		goto err_close;
	}
	*out = nb;
	return 0;

err_close:
	close(fd);
	return r;
}
